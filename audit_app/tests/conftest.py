from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from tasks_app.models import Task
from todo_project.events.context import request_context
from todo_project.events.models import OutboxEvent
from todo_project.events.services import record_event

BROWSER = {"client_ip": "203.0.113.9", "user_agent": "Mozilla/5.0 (X11; Linux)", "request_id": "req-1"}


def iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def task_snapshot(task_id: str, **fields: Any) -> dict[str, Any]:
    """The task API's JSON for one task, as the task.* contract carries it."""
    now = iso(timezone.now())
    return {
        "id": task_id,
        "title": "Pay rent",
        "description": "",
        "is_completed": False,
        "completed_at": None,
        "due_date": None,
        "due_at": None,
        "remind_at": None,
        "is_recurring": False,
        "recurrence_rule": "",
        "priority": "medium",
        "tags": ["home"],
        "position": 0,
        "version": 1,
        "created_at": now,
        "updated_at": now,
        **fields,
    }


def task_event_data(event_type: str, user_id: int, task_id: str, **extra: Any) -> dict[str, Any]:
    now = iso(timezone.now())
    snapshot = task_snapshot(task_id)
    if event_type == "task.created":
        fields: tuple[str, ...] = (
            "title",
            "description",
            "priority",
            "tags",
            "due_date",
            "due_at",
            "remind_at",
        )
        fields += ("is_recurring", "recurrence_rule", "created_at", "version")
        return {"task_id": task_id, "user_id": user_id, **{f: snapshot[f] for f in fields}, "task": snapshot}
    if event_type == "task.updated":
        changes = extra.get("changes", {"title": {"old": "Pay rent", "new": "Pay the rent"}})
        snapshot.update({field: change["new"] for field, change in changes.items()}, version=2)
        return {
            "task_id": task_id,
            "user_id": user_id,
            "changes": changes,
            "updated_at": now,
            "version": 2,
            "task": snapshot,
        }
    if event_type == "task.completed":
        snapshot.update(is_completed=True, completed_at=now, version=2)
        return {
            "task_id": task_id,
            "user_id": user_id,
            "completed_at": now,
            "is_recurring": False,
            "recurrence_rule": "",
            "version": 2,
            "task": snapshot,
        }
    if event_type == "task.deleted":
        return {"task_id": task_id, "user_id": user_id, "version": 3}
    if event_type == "task.reordered":
        return {"user_id": user_id, "task_ids": [task_id, str(uuid.uuid4())]}
    raise AssertionError(event_type)


Emit = Callable[..., OutboxEvent]


@pytest.fixture
def emit(django_capture_on_commit_callbacks) -> Emit:
    """Record one event the way a service does and let its on-commit dispatch run."""

    def _emit(
        event_type: str,
        user_id: int | None,
        data: dict[str, Any],
        *,
        subject: str = "",
        context: dict[str, str] | None = None,
    ) -> OutboxEvent:
        with django_capture_on_commit_callbacks(execute=True), request_context(context or {}):
            with transaction.atomic():
                event = record_event(type=event_type, user_id=user_id, data=data, subject=subject)
        return event

    return _emit


@pytest.fixture
def emit_task(emit) -> Callable[..., OutboxEvent]:
    def _emit_task(event_type: str, user, task_id: str | None = None, **extra: Any) -> OutboxEvent:
        # A real row, so other apps' handlers of task events find the task
        # they are told about (a failing handler would roll back the audit write).
        task_id = task_id or str(Task.objects.create(owner=user, title="Pay rent").id)
        subject = "" if event_type == "task.reordered" else f"tasks/{task_id}"
        data = task_event_data(event_type, user.pk, task_id, **extra)
        return emit(event_type, user.pk, data, subject=subject, context=extra.get("context", BROWSER))

    return _emit_task
