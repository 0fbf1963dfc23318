from django.apps import AppConfig


class Config(AppConfig):
    name = "assistant_app"
    default_auto_field = "django.db.models.BigAutoField"
