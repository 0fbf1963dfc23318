"""Task events → reminder (re)scheduling. Idempotent: each run re-applies the task's state."""

from __future__ import annotations

from reminders_app import services
from todo_project.events.models import OutboxEvent
from todo_project.events.registry import handles


@handles("task.created", "task.updated", "task.completed", "task.deleted", batch=True)
def sync_reminders_on_task_event(events: list[OutboxEvent]) -> None:
    task_ids = [event.data["task_id"] for event in events if event.data.get("task_id")]
    if task_ids:
        services.reminders_sync_tasks(task_ids=task_ids)
