"""Test helpers: tasks written with the ORM plus the task events the task API records.

The task API lives in tasks_app; these helpers emit the same contract events
(data shapes per the shared event contract, validated against their schemas
after each test) so reminder behaviour is tested on its own.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from tasks_app.models import Task
from todo_project.events.services import record_event

SNAPSHOT_FIELDS = [
    "title",
    "description",
    "is_completed",
    "completed_at",
    "due_date",
    "due_at",
    "remind_at",
    "is_recurring",
    "recurrence_rule",
    "priority",
    "tags",
    "position",
    "version",
    "created_at",
    "updated_at",
]


def _iso(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def snapshot(task: Task) -> dict[str, Any]:
    data = {"id": str(task.id)}
    for name in SNAPSHOT_FIELDS:
        data[name] = _iso(getattr(task, name))
    data["recurrence_rule"] = task.recurrence_rule or None
    return data


def create_task(owner: Any, **fields: Any) -> Task:
    with transaction.atomic():
        task = Task.objects.create(owner=owner, title=fields.pop("title", "Call mom"), **fields)
        snap = snapshot(task)
        record_event(
            type="task.created",
            user_id=owner.id,
            subject=f"tasks/{task.id}",
            data={
                "task_id": str(task.id),
                "user_id": owner.id,
                **{
                    k: snap[k]
                    for k in (
                        "title",
                        "description",
                        "priority",
                        "tags",
                        "due_date",
                        "due_at",
                        "remind_at",
                        "is_recurring",
                        "recurrence_rule",
                        "created_at",
                        "version",
                    )
                },
                "task": snap,
            },
        )
    return task


def update_task(task: Task, **changes: Any) -> Task:
    with transaction.atomic():
        task = Task.objects.select_for_update().get(id=task.id)
        before = snapshot(task)
        for name, value in changes.items():
            setattr(task, name, value)
        task.version += 1
        task.save()
        after = snapshot(task)
        diff = {k: {"old": before[k], "new": after[k]} for k in changes if before[k] != after[k]}
        record_event(
            type="task.updated",
            user_id=task.owner_id,
            subject=f"tasks/{task.id}",
            data={
                "task_id": str(task.id),
                "user_id": task.owner_id,
                "changes": diff,
                "updated_at": after["updated_at"],
                "version": task.version,
                "task": after,
            },
        )
    return task


def complete_task(task: Task) -> Task:
    with transaction.atomic():
        task = Task.objects.select_for_update().get(id=task.id)
        task.is_completed, task.completed_at = True, timezone.now()
        task.version += 1
        task.save()
        snap = snapshot(task)
        record_event(
            type="task.completed",
            user_id=task.owner_id,
            subject=f"tasks/{task.id}",
            data={
                "task_id": str(task.id),
                "user_id": task.owner_id,
                "completed_at": snap["completed_at"],
                "is_recurring": task.is_recurring,
                "recurrence_rule": snap["recurrence_rule"],
                "version": task.version,
                "task": snap,
            },
        )
    return task


def reopen_task(task: Task) -> Task:
    return update_task(task, is_completed=False, completed_at=None)


def delete_task(task: Task) -> None:
    with transaction.atomic():
        task = Task.objects.select_for_update().get(id=task.id)
        task_id, owner_id, version = task.id, task.owner_id, task.version
        task.delete()
        record_event(
            type="task.deleted",
            user_id=owner_id,
            subject=f"tasks/{task_id}",
            data={"task_id": str(task_id), "user_id": owner_id, "version": version + 1},
        )


def events_of(event_type: str) -> list[dict[str, Any]]:
    from todo_project.events.models import OutboxEvent

    return [e.data for e in OutboxEvent.objects.filter(type=event_type).order_by("user_id", "seq")]
