"""Test helpers: tasks changed through the task services, so reminder
behaviour is tested against the events the product really records."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tasks_app import services
from tasks_app.models import Task
from tasks_app.services import TaskWriteResult
from todo_project.testing import events_of

# The moment the reminder tests run at (the frozen_now fixture).
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)

__all__ = ["NOW", "complete_task", "create_task", "delete_task", "events_of", "reopen_task", "update_task"]


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


def _task(result: TaskWriteResult) -> Task:
    assert result.task is not None  # only a delete leaves none
    return result.task
