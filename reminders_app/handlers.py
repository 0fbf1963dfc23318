"""Task events → reminder (re)scheduling. Idempotent: each run re-applies the task's state."""

from __future__ import annotations

from reminders_app import services
from todo_project.events.models import OutboxEvent
from todo_project.events.registry import handles


@handles("task.created", "task.updated", "task.completed", "task.deleted")
def sync_reminders_on_task_event(event: OutboxEvent) -> None:
    task_id = event.data.get("task_id")
    if task_id:
        services.reminders_sync_task(task_id=task_id)
