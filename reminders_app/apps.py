from django.apps import AppConfig


class Config(AppConfig):
    name = "reminders_app"
    verbose_name = "Reminders"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # GET /api/export's reminders section, and its import (the task layer may not import this app).
        from reminders_app.export import SECTION
        from tasks_app.portability import sections

        sections.register(SECTION)
