from django.apps import AppConfig


class Config(AppConfig):
    name = "reminders_app"
    verbose_name = "Reminders"
    default_auto_field = "django.db.models.BigAutoField"
