from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "todo_project.events"
    verbose_name = "Events (outbox)"
    label = "events"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Handlers register themselves when their modules are imported.
        from todo_project.events import registry

        registry.autodiscover()
