from django.apps import AppConfig


class Config(AppConfig):
    name = "audit_app"
    verbose_name = "Audit log"
    default_auto_field = "django.db.models.BigAutoField"
