"""Outbox helpers for the task tests."""

from __future__ import annotations

from todo_project.events.models import OutboxEvent


def events(event_type: str | None = None) -> list[OutboxEvent]:
    qs = OutboxEvent.objects.order_by("user_id", "seq")
    if event_type:
        qs = qs.filter(type=event_type)
    return list(qs)


def clear_events() -> None:
    OutboxEvent.objects.all().delete()
