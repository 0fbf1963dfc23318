from django.apps import AppConfig


class Config(AppConfig):
    name = "notifications_app"
    verbose_name = "Notifications"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Reminders may not import this app (it is the layer above); it reads
        # preferences, channels and the in-scan inbox insert through this hook.
        from notifications_app.hooks import register_reminder_delivery

        register_reminder_delivery()

        # GET /api/export's notification_preferences and subscriptions sections.
        from notifications_app.export import PREFERENCES_SECTION, SUBSCRIPTIONS_SECTION
        from tasks_app.portability import sections

        sections.register(PREFERENCES_SECTION)
        sections.register(SUBSCRIPTIONS_SECTION)
