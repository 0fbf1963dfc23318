"""Event handlers of the assistant: the only way other apps' events reach it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from assistant_app.services import reminder_message_post
from todo_project.events import types
from todo_project.events.registry import handles

if TYPE_CHECKING:
    from todo_project.events.models import OutboxEvent


@handles(types.REMINDER_TRIGGERED, name="assistant_app.handlers.speak_up_when_a_reminder_fires")
def speak_up_when_a_reminder_fires(event: OutboxEvent) -> None:
    """Add "Reminder: …, due …" to the user's conversation (pushed live).
    Idempotent by event id: the message row is unique per source event."""
    if isinstance(event.data, dict) and event.data.get("user_id"):
        reminder_message_post(event_id=event.id, data=event.data)
