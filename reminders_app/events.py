"""The events reminders record: one builder per type, with its ``data`` shape.

Each ``TypedDict`` mirrors ``todo_project/events/schemas/<type>.json``.
"""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict

from reminders_app.models import Reminder
from tasks_app.models import Task
from todo_project.events import types
from todo_project.events.services import NewEvent
from todo_project.timefmt import iso_utc, iso_utc_or_none


def _subject(reminder: Reminder) -> str:
    return f"reminders/{reminder.id}"


class ReminderData(TypedDict):
    """What every reminder event carries; reminder.dismissed carries only this."""

    reminder_id: str
    task_id: str
    user_id: int


def _base(reminder: Reminder) -> ReminderData:
    return {
        "reminder_id": str(reminder.id),
        "task_id": str(reminder.task_ref),
        "user_id": reminder.owner_id,
    }


class ReminderScheduledData(ReminderData):
    scheduled_for: str
    task_title: str
    kind: str
    offset_minutes: int | None
    channels: list[str] | None  # None: the user's channel preferences apply


def reminder_scheduled_event(reminder: Reminder, task: Task) -> NewEvent:
    data: ReminderScheduledData = {
        **_base(reminder),
        "scheduled_for": iso_utc(reminder.fire_at),
        "task_title": task.title,
        "kind": reminder.kind,
        "offset_minutes": reminder.offset_minutes,
        "channels": reminder.channels,
    }
    return NewEvent(
        type=types.REMINDER_SCHEDULED, user_id=reminder.owner_id, subject=_subject(reminder), data=data
    )


class ReminderCancelledData(ReminderData):
    reason: str
    scheduled_for: str


def reminder_cancelled_event(reminder: Reminder) -> NewEvent:
    data: ReminderCancelledData = {
        **_base(reminder),
        "reason": reminder.cancel_reason,
        "scheduled_for": iso_utc(reminder.fire_at),
    }
    return NewEvent(
        type=types.REMINDER_CANCELLED, user_id=reminder.owner_id, subject=_subject(reminder), data=data
    )


class ReminderSnoozedData(ReminderData):
    previous_fire_at: str
    scheduled_for: str
    task_title: str


def reminder_snoozed_event(reminder: Reminder, task: Task, *, previous_fire_at: datetime) -> NewEvent:
    data: ReminderSnoozedData = {
        **_base(reminder),
        "previous_fire_at": iso_utc(previous_fire_at),
        "scheduled_for": iso_utc(reminder.fire_at),
        "task_title": task.title,
    }
    return NewEvent(
        type=types.REMINDER_SNOOZED, user_id=reminder.owner_id, subject=_subject(reminder), data=data
    )


def reminder_dismissed_event(reminder: Reminder) -> NewEvent:
    return NewEvent(
        type=types.REMINDER_DISMISSED,
        user_id=reminder.owner_id,
        subject=_subject(reminder),
        data=_base(reminder),
    )


class ReminderTriggeredData(ReminderData):
    kind: str
    task_title: str
    task_priority: str
    due_at: str | None
    due_date: str | None
    channels: list[str]  # resolved: the channels this firing notifies on
    scheduled_for: str
    fired_at: str
    lag_seconds: float


def reminder_triggered_event(
    reminder: Reminder, task: Task, *, channels: list[str], now: datetime
) -> NewEvent:
    data: ReminderTriggeredData = {
        **_base(reminder),
        "kind": reminder.kind,
        "task_title": task.title,
        "task_priority": task.priority,
        "due_at": iso_utc_or_none(task.due_at),
        "due_date": task.due_date.isoformat() if task.due_date else None,
        "channels": channels,
        "scheduled_for": iso_utc(reminder.fire_at),
        "fired_at": iso_utc(now),
        "lag_seconds": round((now - reminder.fire_at).total_seconds(), 3),
    }
    return NewEvent(
        type=types.REMINDER_TRIGGERED, user_id=reminder.owner_id, subject=_subject(reminder), data=data
    )
