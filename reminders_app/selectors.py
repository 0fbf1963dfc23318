"""Reads of reminders, and reminder-time suggestions (FR-DD-008)."""

from __future__ import annotations

import uuid
import zoneinfo
from datetime import date, datetime, time, timedelta
from typing import TypedDict

from django.db.models import QuerySet
from django.utils import timezone

from reminders_app.models import Reminder, ReminderStatus
from tasks_app.models import Task
from todo_project.errors import DomainError, NotFoundError
from todo_project.timefmt import iso_utc


def reminders_for_user(
    *, user_id: int, status: str | None = None, task_id: str | None = None
) -> QuerySet[Reminder]:
    qs = Reminder.objects.filter(owner_id=user_id)
    # Sent empty ("task_id=") is a 400 like any other value that is no UUID.
    if status is not None and not status.strip():
        raise DomainError("status must not be empty; leave it out instead.", field="status")
    if status:
        wanted = [s.strip() for s in status.split(",") if s.strip()]
        bad = [s for s in wanted if s not in ReminderStatus.values]
        if bad:
            raise DomainError(
                f"Unknown status {bad[0]!r}; expected some of {', '.join(ReminderStatus.values)}.",
                field="status",
            )
        qs = qs.filter(status__in=wanted)
    if task_id is not None:
        try:
            qs = qs.filter(task_ref=uuid.UUID(task_id))
        except ValueError:
            raise DomainError("task_id must be a UUID.", field="task_id") from None
    return qs.order_by("fire_at", "id")


def reminders_for_task(*, user_id: int, task_id: uuid.UUID | str) -> QuerySet[Reminder]:
    if not Task.objects.filter(id=task_id, owner_id=user_id).exists():
        raise NotFoundError("Task not found.")
    return Reminder.objects.filter(owner_id=user_id, task_ref=task_id).order_by("fire_at", "id")


def reminder_get(*, user_id: int, reminder_id: uuid.UUID | str) -> Reminder:
    reminder = Reminder.objects.filter(id=reminder_id, owner_id=user_id).first()
    if reminder is None:
        raise NotFoundError("Reminder not found.")
    return reminder


class Suggestion(TypedDict):
    label: str
    remind_at: str
    local_time: str
    offset_minutes: int | None


_utc_iso = iso_utc


def reminder_suggestions(
    *, tz: zoneinfo.ZoneInfo, due_at: datetime | None = None, due_date: date | None = None
) -> list[Suggestion]:
    """Sensible reminder times for a due time or a date-only due date, in the user's zone.

    Only future times are offered, earliest last (closest to the due time first).
    """
    now = timezone.now()
    options: list[tuple[str, datetime, int | None]] = []
    if due_at is not None:
        local_due = due_at.astimezone(tz)
        for label, minutes in (
            ("At the due time", 0),
            ("15 minutes before", 15),
            ("1 hour before", 60),
            ("1 day before", 24 * 60),
        ):
            options.append((label, due_at - timedelta(minutes=minutes), minutes))
        morning = datetime.combine(local_due.date(), time(9, 0), tzinfo=tz)
        if morning < due_at - timedelta(hours=1):
            options.append(("Morning of the due day (09:00)", morning, None))
        evening_before = datetime.combine(local_due.date() - timedelta(days=1), time(18, 0), tzinfo=tz)
        options.append(("Evening before (18:00)", evening_before, None))
    elif due_date is not None:
        for label, day, clock in (
            ("Morning of the due day (09:00)", due_date, time(9, 0)),
            ("Evening before (18:00)", due_date - timedelta(days=1), time(18, 0)),
            ("Morning the day before (09:00)", due_date - timedelta(days=1), time(9, 0)),
        ):
            options.append((label, datetime.combine(day, clock, tzinfo=tz), None))
    else:
        raise DomainError("Give due_at (a date-time) or due_date (a date).", field="due_at")
    seen: set[datetime] = set()
    out: list[Suggestion] = []
    for label, at, offset in sorted(options, key=lambda o: o[1], reverse=True):
        if at <= now or at in seen:
            continue
        seen.add(at)
        out.append(
            {
                "label": label,
                "remind_at": _utc_iso(at),
                "local_time": at.astimezone(tz).isoformat(),
                "offset_minutes": offset,
            }
        )
    return out
