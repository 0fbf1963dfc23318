"""Test helpers: tasks changed through the task services, so reminder
behaviour is tested against the events the product really records."""

from __future__ import annotations

from typing import Any

from tasks_app import services
from tasks_app.models import Task
from tasks_app.services import TaskWriteResult


def create_task(owner: Any, **fields: Any) -> Task:
    """A task made through the task services, so its events are the real ones."""
    return services.task_create(owner=owner, title=fields.pop("title", "Call mom"), **fields)


def update_task(task: Task, **changes: Any) -> Task:
    changes.pop("completed_at", None)  # follows is_completed in the services
    return _task(services.task_update(user=task.owner, task_id=task.id, values=changes))


def complete_task(task: Task) -> Task:
    return _task(services.task_complete(user=task.owner, task_id=task.id))


def reopen_task(task: Task) -> Task:
    return _task(services.task_reopen(user=task.owner, task_id=task.id))


def delete_task(task: Task) -> None:
    services.task_delete(user=task.owner, task_id=task.id)


def events_of(event_type: str) -> list[dict[str, Any]]:
    from todo_project.events.models import OutboxEvent

    return [e.data for e in OutboxEvent.objects.filter(type=event_type).order_by("user_id", "seq")]


def _task(result: TaskWriteResult) -> Task:
    assert result.task is not None  # only a delete leaves none
    return result.task
