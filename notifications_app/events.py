"""The events notifications record: one builder per type, with its ``data`` shape.

Each ``TypedDict`` mirrors ``todo_project/events/schemas/<type>.json``.
"""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict

from notifications_app.models import Notification
from todo_project.events import types
from todo_project.events.services import NewEvent
from todo_project.timefmt import iso_utc


def _subject(n: Notification) -> str:
    return f"notifications/{n.id}"


class NotificationCreatedData(TypedDict):
    notification_id: str
    user_id: int
    kind: str
    channel: str
    title: str
    body: str
    reminder_id: str | None
    task_id: str | None
    occurrence_at: str
    created_at: str
    read_at: None  # a new entry is unread


def notification_created_event(n: Notification) -> NewEvent:
    data: NotificationCreatedData = {
        "notification_id": str(n.id),
        "user_id": n.user_id,
        "kind": n.kind,
        "channel": n.channel,
        "title": n.title,
        "body": n.body,
        "reminder_id": str(n.reminder_id) if n.reminder_id else None,
        "task_id": str(n.task_ref) if n.task_ref else None,
        "occurrence_at": iso_utc(n.occurrence_at),
        "created_at": iso_utc(n.created_at),
        "read_at": None,
    }
    return NewEvent(type=types.NOTIFICATION_CREATED, user_id=n.user_id, subject=_subject(n), data=data)


class OutcomeData(TypedDict):
    notification_id: str
    user_id: int
    channel: str
    reminder_id: str | None
    task_id: str | None
    attempts: int


def _outcome(n: Notification) -> OutcomeData:
    return {
        "notification_id": str(n.id),
        "user_id": n.user_id,
        "channel": n.channel,
        "reminder_id": str(n.reminder_id) if n.reminder_id else None,
        "task_id": str(n.task_ref) if n.task_ref else None,
        "attempts": n.attempts,
    }


class NotificationSentData(OutcomeData):
    sent_at: str


def notification_sent_event(n: Notification, *, sent_at: datetime) -> NewEvent:
    data: NotificationSentData = {**_outcome(n), "sent_at": iso_utc(sent_at)}
    return NewEvent(type=types.NOTIFICATION_SENT, user_id=n.user_id, subject=_subject(n), data=data)


class NotificationFailedData(OutcomeData):
    error: str
    permanent: bool  # false: the retries ran out
    failed_at: str


def notification_failed_event(n: Notification, *, permanent: bool, failed_at: datetime) -> NewEvent:
    data: NotificationFailedData = {
        **_outcome(n),
        "error": n.last_error,
        "permanent": permanent,
        "failed_at": iso_utc(failed_at),
    }
    return NewEvent(type=types.NOTIFICATION_FAILED, user_id=n.user_id, subject=_subject(n), data=data)


class PreferencesUpdatedData(TypedDict):
    user_id: int
    fields: list[str]  # the fields the request named, sorted
    reminder_rules_changed: bool


def preferences_updated_event(*, user_id: int, fields: list[str], reminder_rules_changed: bool) -> NewEvent:
    data: PreferencesUpdatedData = {
        "user_id": user_id,
        "fields": fields,
        "reminder_rules_changed": reminder_rules_changed,
    }
    return NewEvent(
        type=types.PREFERENCES_UPDATED, user_id=user_id, subject=f"users/{user_id}/preferences", data=data
    )
