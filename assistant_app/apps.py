from django.apps import AppConfig


class Config(AppConfig):
    name = "assistant_app"
    verbose_name = "Assistant"
    default_auto_field = "django.db.models.BigAutoField"
