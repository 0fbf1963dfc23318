"""Task events → reminder (re)scheduling; preference changes → resync. Idempotent:
each run re-applies the current state."""

from __future__ import annotations

from reminders_app import services
from todo_project.events import types
from todo_project.events.models import OutboxEvent
from todo_project.events.registry import handles


@handles(*types.TASK_WRITES, batch=True, name="reminders_app.handlers.sync_reminders_on_task_event")
def sync_reminders_on_task_event(events: list[OutboxEvent]) -> None:
    task_ids = [event.data["task_id"] for event in events if event.data.get("task_id")]
    if task_ids:
        services.reminders_apply_task_states(task_ids=task_ids)


@handles(
    types.PREFERENCES_UPDATED,
    name="reminders.resync_on_preferences_change",
    when=lambda event: bool(event.data.get("reminder_rules_changed")),
)
def resync_reminders_on_preferences_change(event: OutboxEvent) -> None:
    """Automatic reminders follow new reminder rules (default lead, priority
    rules) on the user's open timed tasks. notifications_app owns the
    preferences; this event is how a change reaches the layer below it."""
    services.reminders_resync_user(user_id=event.data["user_id"])
