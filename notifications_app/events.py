"""The events notifications record: one builder per type, with its ``data`` shape.

Each ``TypedDict`` mirrors ``todo_project/events/schemas/<type>.json``.
"""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict

from notifications_app.models import Notification, PushSubscription
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


def _push_subject(user_id: int, subscription_id: object) -> str:
    return f"users/{user_id}/push-subscriptions/{subscription_id}"


class PushSubscriptionCreatedData(TypedDict):
    subscription_id: str
    user_id: int
    push_service: str  # the endpoint's origin: the endpoint itself is a capability URL
    user_agent: str
    updated: bool  # the same endpoint again, with new keys
    created_at: str


def push_subscription_created_event(sub: PushSubscription, *, push_service: str, updated: bool) -> NewEvent:
    data: PushSubscriptionCreatedData = {
        "subscription_id": str(sub.id),
        "user_id": sub.user_id,
        "push_service": push_service,
        "user_agent": sub.user_agent,
        "updated": updated,
        "created_at": iso_utc(sub.created_at),
    }
    return NewEvent(
        type=types.PUSH_SUBSCRIPTION_CREATED,
        user_id=sub.user_id,
        subject=_push_subject(sub.user_id, sub.id),
        data=data,
    )


class PushSubscriptionDeletedData(TypedDict):
    subscription_id: str
    user_id: int
    push_service: str
    reason: str  # unsubscribed | gone | moved
    deleted_at: str


def push_subscription_deleted_event(
    *, subscription_id: object, user_id: int, push_service: str, reason: str, deleted_at: datetime
) -> NewEvent:
    data: PushSubscriptionDeletedData = {
        "subscription_id": str(subscription_id),
        "user_id": user_id,
        "push_service": push_service,
        "reason": reason,
        "deleted_at": iso_utc(deleted_at),
    }
    return NewEvent(
        type=types.PUSH_SUBSCRIPTION_DELETED,
        user_id=user_id,
        subject=_push_subject(user_id, subscription_id),
        data=data,
    )
