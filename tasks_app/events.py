"""The events a task write records: one builder per type, with its ``data`` shape.

Each ``TypedDict`` mirrors ``todo_project/events/schemas/<type>.json`` (the
schema is the contract; the outbox fixture validates every recorded row
against it). ``task`` is the full representation (``task_to_dict``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypedDict

from tasks_app.models import ImportJob, Task
from tasks_app.selectors import task_to_dict
from tasks_app.validation import Placement
from todo_project.events import types
from todo_project.events.services import NewEvent


def _subject(task: Task) -> str:
    return f"tasks/{task.pk}"


class TaskCreatedData(TypedDict):
    task_id: str
    user_id: int
    title: str
    description: str
    priority: str
    tags: list[str]
    due_date: str | None
    due_at: str | None
    remind_at: str | None
    is_recurring: bool
    recurrence_rule: str
    created_at: str
    version: int
    task: dict[str, Any]


def task_created_event(task: Task) -> NewEvent:
    """The ``task.created`` event of a task just inserted (also for bulk inserts)."""
    snapshot = task_to_dict(task)
    data: TaskCreatedData = {
        "task_id": snapshot["id"],
        "user_id": task.owner_id,
        "title": snapshot["title"],
        "description": snapshot["description"],
        "priority": snapshot["priority"],
        "tags": snapshot["tags"],
        "due_date": snapshot["due_date"],
        "due_at": snapshot["due_at"],
        "remind_at": snapshot["remind_at"],
        "is_recurring": snapshot["is_recurring"],
        "recurrence_rule": snapshot["recurrence_rule"],
        "created_at": snapshot["created_at"],
        "version": snapshot["version"],
        "task": snapshot,
    }
    return NewEvent(type=types.TASK_CREATED, user_id=task.owner_id, data=data, subject=_subject(task))


class TaskUpdatedData(TypedDict):
    task_id: str
    user_id: int
    changes: dict[str, Any]  # field name -> {"old": …, "new": …}
    updated_at: str
    version: int
    task: dict[str, Any]


def task_updated_event(task: Task, changes: dict[str, Any], snapshot: dict[str, Any]) -> NewEvent:
    data: TaskUpdatedData = {
        "task_id": snapshot["id"],
        "user_id": task.owner_id,
        "changes": changes,
        "updated_at": snapshot["updated_at"],
        "version": snapshot["version"],
        "task": snapshot,
    }
    return NewEvent(type=types.TASK_UPDATED, user_id=task.owner_id, subject=_subject(task), data=data)


class TaskCompletedData(TypedDict):
    task_id: str
    user_id: int
    completed_at: str
    is_recurring: bool
    recurrence_rule: str | None
    version: int
    task: dict[str, Any]


def task_completed_event(task: Task, snapshot: dict[str, Any]) -> NewEvent:
    data: TaskCompletedData = {
        "task_id": snapshot["id"],
        "user_id": task.owner_id,
        "completed_at": snapshot["completed_at"],
        "is_recurring": snapshot["is_recurring"],
        "recurrence_rule": snapshot["recurrence_rule"],
        "version": snapshot["version"],
        "task": snapshot,
    }
    return NewEvent(type=types.TASK_COMPLETED, user_id=task.owner_id, subject=_subject(task), data=data)


class TaskDeletedData(TypedDict):
    task_id: str
    user_id: int
    version: int  # the deleted task's last version + 1


def task_deleted_event(task: Task) -> NewEvent:
    data: TaskDeletedData = {"task_id": str(task.pk), "user_id": task.owner_id, "version": task.version + 1}
    return NewEvent(type=types.TASK_DELETED, user_id=task.owner_id, subject=_subject(task), data=data)


class PlacementData(TypedDict):
    project_id: str | None
    section_id: str | None
    parent_id: str | None


def _placement_data(placement: Placement) -> PlacementData:
    return {
        "project_id": str(placement.project_id) if placement.project_id is not None else None,
        "section_id": str(placement.section_id) if placement.section_id is not None else None,
        "parent_id": str(placement.parent_id) if placement.parent_id is not None else None,
    }


# "from" is a keyword, hence the functional form.
TaskMovedData = TypedDict(
    "TaskMovedData",
    {
        "task_id": str,
        "user_id": int,
        "from": PlacementData,
        "to": PlacementData,
        "version": int,
        "task": dict[str, Any],
    },
)


def task_moved_event(task: Task, moved_from: Placement) -> NewEvent:
    snapshot = task_to_dict(task)
    data: TaskMovedData = {
        "task_id": snapshot["id"],
        "user_id": task.owner_id,
        "from": _placement_data(moved_from),
        "to": _placement_data(Placement(task.project_id, task.section_id, task.parent_id)),
        "version": task.version,
        "task": snapshot,
    }
    return NewEvent(type=types.TASK_MOVED, user_id=task.owner_id, subject=_subject(task), data=data)


class TaskReorderedData(TypedDict):
    user_id: int
    task_ids: list[str]  # the listed tasks, in their new order


def task_reordered_event(*, user_id: int, task_ids: Sequence[str]) -> NewEvent:
    data: TaskReorderedData = {"user_id": user_id, "task_ids": list(task_ids)}
    return NewEvent(type=types.TASK_REORDERED, user_id=user_id, subject="tasks", data=data)


# Import jobs (tasks_app/portability/jobs.py): a large import's life.


def _import_subject(job: ImportJob) -> str:
    return f"imports/{job.pk}"


class ImportQueuedData(TypedDict):
    user_id: int
    job_id: str
    kind: str
    size_bytes: int


def import_queued_event(job: ImportJob) -> NewEvent:
    data: ImportQueuedData = {
        "user_id": job.owner_id,
        "job_id": str(job.pk),
        "kind": job.kind,
        "size_bytes": job.size_bytes,
    }
    return NewEvent(type=types.IMPORT_QUEUED, user_id=job.owner_id, subject=_import_subject(job), data=data)


class ImportStartedData(TypedDict):
    user_id: int
    job_id: str
    kind: str
    attempt: int


def import_started_event(job: ImportJob) -> NewEvent:
    data: ImportStartedData = {
        "user_id": job.owner_id,
        "job_id": str(job.pk),
        "kind": job.kind,
        "attempt": job.attempt,
    }
    return NewEvent(type=types.IMPORT_STARTED, user_id=job.owner_id, subject=_import_subject(job), data=data)


class ImportSucceededData(TypedDict):
    user_id: int
    job_id: str
    kind: str
    attempt: int
    result: dict[str, Any]


def import_succeeded_event(job: ImportJob, result: dict[str, Any]) -> NewEvent:
    data: ImportSucceededData = {
        "user_id": job.owner_id,
        "job_id": str(job.pk),
        "kind": job.kind,
        "attempt": job.attempt,
        "result": {key: value for key, value in result.items() if key != "task_ids"},  # counts, not ids
    }
    return NewEvent(
        type=types.IMPORT_SUCCEEDED, user_id=job.owner_id, subject=_import_subject(job), data=data
    )


class ImportFailedData(TypedDict):
    user_id: int
    job_id: str
    kind: str
    attempt: int
    error_code: str
    problems: int


def import_failed_event(job: ImportJob, *, error_code: str, problems: int) -> NewEvent:
    data: ImportFailedData = {
        "user_id": job.owner_id,
        "job_id": str(job.pk),
        "kind": job.kind,
        "attempt": job.attempt,
        "error_code": error_code,
        "problems": problems,
    }
    return NewEvent(type=types.IMPORT_FAILED, user_id=job.owner_id, subject=_import_subject(job), data=data)
