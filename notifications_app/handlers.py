"""reminder.triggered → notifications (one per channel; idempotent)."""

from __future__ import annotations

from notifications_app import services
from todo_project.events import types
from todo_project.events.models import OutboxEvent
from todo_project.events.registry import handles


@handles(
    types.REMINDER_TRIGGERED, name="notifications_app.handlers.create_notifications_on_reminder_triggered"
)
def create_notifications_on_reminder_triggered(event: OutboxEvent) -> None:
    services.notifications_create_for_trigger(data=event.data)
