from __future__ import annotations

from django.apps import AppConfig
from django.conf import settings


class TodoProjectConfig(AppConfig):
    name = "todo_project"
    verbose_name = "Taskbeat platform"

    def ready(self) -> None:
        # Every process (web, ws, worker, beat, bridge, migrate) sets Django up,
        # so this is the one place tracing is switched on.
        from todo_project.tracing import configure_tracing

        configure_tracing(
            endpoint=settings.OTEL_EXPORTER_OTLP_ENDPOINT, service_name=settings.OTEL_SERVICE_NAME
        )
