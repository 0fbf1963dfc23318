"""Writes for Web Push: browser subscriptions, and the notifications of a fired reminder.

Lock order (CONTRIBUTING.md): the user's event counter first, then the
subscription row, like every writer here. A notification refers to its
subscription by id only (``push_subscription_ref``), so removing a
subscription touches no notification row and cannot wait on a delivery.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from notifications_app import messages, transports
from notifications_app.events import push_subscription_created_event, push_subscription_deleted_event
from notifications_app.models import (
    Channel,
    Notification,
    NotificationKind,
    NotificationPreference,
    PushSubscription,
)
from notifications_app.push.selectors import push_configured
from todo_project.errors import ConflictError, DomainError, NotFoundError
from todo_project.events.services import record_events, users_events_lock
from todo_project.keys import b64url_decode

MAX_ENDPOINT_LENGTH = 2000
MAX_USER_AGENT_LENGTH = 300
# Task priority -> RFC 8030 §5.3 Urgency: how eagerly a phone on battery wakes for it.
URGENCY_OF_PRIORITY = {"high": "high", "medium": "normal", "low": "low"}


def _key(value: str, *, field: str, length: int) -> bytes:
    try:
        raw = b64url_decode(value)
    except ValueError:
        raise DomainError(
            f"{field} must be unpadded base64url, as the browser gives it.", field=field
        ) from None
    if len(raw) != length:
        raise DomainError(f"{field} must decode to {length} bytes, got {len(raw)}.", field=field)
    return raw


def _check_keys(*, p256dh: str, auth: str) -> None:
    """p256dh: a P-256 public point (65 bytes, uncompressed); auth: 16 bytes (RFC 8291 §3)."""
    point = _key(p256dh, field="keys.p256dh", length=65)
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError:
        raise DomainError("keys.p256dh is not a point on the P-256 curve.", field="keys.p256dh") from None
    _key(auth, field="keys.auth", length=16)


def _check_endpoint(endpoint: str) -> None:
    if len(endpoint) > MAX_ENDPOINT_LENGTH:
        raise DomainError(f"endpoint is longer than {MAX_ENDPOINT_LENGTH} characters.", field="endpoint")
    if not endpoint.lower().startswith("https://"):
        raise DomainError("endpoint must be an https URL.", field="endpoint")
    # The webhooks' SSRF guard: a push endpoint is a URL the user chose, and
    # the worker POSTs to it. Checked again before every send.
    transports.resolve_webhook_url(endpoint, field="endpoint", what="Push endpoint")


def _delete(sub: PushSubscription, *, reason: str) -> None:
    """Delete ``sub`` and record it (caller's transaction, with the owner's counter locked)."""
    event = push_subscription_deleted_event(
        subscription_id=sub.id,
        user_id=sub.user_id,
        push_service=transports.push_origin(sub.endpoint),
        reason=reason,
        deleted_at=timezone.now(),
    )
    sub.delete()
    record_events([event])


def _record_created(sub: PushSubscription, *, updated: bool) -> None:
    record_events(
        [
            push_subscription_created_event(
                sub, push_service=transports.push_origin(sub.endpoint), updated=updated
            )
        ]
    )


def push_subscription_register(
    *, user_id: int, endpoint: str, p256dh: str, auth: str, user_agent: str = ""
) -> tuple[PushSubscription, bool]:
    """Store a browser's subscription; returns it and whether it is new.

    The same endpoint again replaces its keys (a browser re-subscribing after
    its keys rotated) and is not new. An endpoint another account holds moves
    to this one (``push_subscription.deleted`` with reason ``moved`` for the
    other): the browser now belongs to whoever subscribed in it last. Records
    ``push_subscription.created`` (``updated: true`` for new keys; nothing at
    all for an identical repeat, which a page may send on every load).
    """
    endpoint = endpoint.strip()
    p256dh, auth = p256dh.strip().rstrip("="), auth.strip().rstrip("=")
    user_agent = user_agent.strip()[:MAX_USER_AGENT_LENGTH]
    _check_endpoint(endpoint)
    _check_keys(p256dh=p256dh, auth=auth)
    with transaction.atomic():
        holder = PushSubscription.objects.filter(endpoint=endpoint).values_list("user_id", flat=True).first()
        users_events_lock(user_ids=[user_id] if holder is None else [user_id, holder])
        sub = PushSubscription.objects.select_for_update().filter(endpoint=endpoint).first()
        if sub is not None and sub.user_id != user_id:
            if sub.user_id != holder:
                raise ConflictError("This subscription changed meanwhile; send it again.", field="endpoint")
            _delete(sub, reason="moved")
            sub = None
        if sub is None:
            # The reminder scan reads "has a browser" with the preferences row
            # (selectors._with_push_state): a subscriber always has one.
            NotificationPreference.objects.get_or_create(user_id=user_id)
            limit = settings.WEB_PUSH_MAX_SUBSCRIPTIONS
            if PushSubscription.objects.filter(user_id=user_id).count() >= limit:
                raise DomainError(
                    f"You have {limit} subscribed browsers, the most allowed; delete one first.",
                    field="endpoint",
                    code="too_many_push_subscriptions",
                )
            try:
                with transaction.atomic():
                    sub = PushSubscription.objects.create(
                        user_id=user_id, endpoint=endpoint, p256dh=p256dh, auth=auth, user_agent=user_agent
                    )
            except IntegrityError:  # another account registered the same endpoint at this moment
                raise ConflictError(
                    "This subscription changed meanwhile; send it again.", field="endpoint"
                ) from None
            _record_created(sub, updated=False)
            return sub, True
        if (sub.p256dh, sub.auth, sub.user_agent) != (p256dh, auth, user_agent or sub.user_agent):
            sub.p256dh, sub.auth, sub.user_agent = p256dh, auth, user_agent or sub.user_agent
            sub.save(update_fields=["p256dh", "auth", "user_agent", "updated_at"])
            _record_created(sub, updated=True)
        return sub, False


def push_subscription_delete(
    *, user_id: int, subscription_id: uuid.UUID | None = None, endpoint: str | None = None
) -> None:
    """Remove one of the user's subscriptions, by id or by endpoint; 404 if it is not theirs."""
    with transaction.atomic():
        users_events_lock(user_ids=[user_id])
        qs = PushSubscription.objects.select_for_update().filter(user_id=user_id)
        qs = qs.filter(id=subscription_id) if subscription_id is not None else qs.filter(endpoint=endpoint)
        sub = qs.first()
        if sub is None:
            raise NotFoundError("Push subscription not found.")
        _delete(sub, reason="unsubscribed")


def push_subscription_gone(*, subscription_id: uuid.UUID) -> bool:
    """The push service answered 404/410 for it: the browser unsubscribed or expired. Remove it.

    Its own transaction, after the delivery's outcome is recorded. Harmless
    when it is already gone (two deliveries to it failing at once).
    """
    with transaction.atomic():
        owner = PushSubscription.objects.filter(id=subscription_id).values_list("user_id", flat=True).first()
        if owner is None:
            return False
        users_events_lock(user_ids=[owner])
        sub = PushSubscription.objects.select_for_update().filter(id=subscription_id).first()
        if sub is None:
            return False
        _delete(sub, reason="gone")
        return True


# --- notifications ------------------------------------------------------------


def push_notifications_for_trigger(
    *,
    data: dict[str, Any],
    occurrence: datetime,
    title: str,
    body: str,
    url: str,
    now: datetime,
    existing_refs: set[uuid.UUID],
) -> list[Notification]:
    """Unsaved push notifications of one reminder.triggered: one per subscribed browser.

    ``existing_refs`` are the browsers that already have theirs (a handler
    run twice); they are skipped. The caller saves, enqueues and applies
    quiet hours as for every other channel.
    """
    user_id = int(data["user_id"])
    message = messages.reminder_push(title=title, body=body, url=url, tag=f"reminder-{data['reminder_id']}")
    urgency = URGENCY_OF_PRIORITY.get(str(data.get("task_priority") or ""), "normal")
    rows = []
    for sub_id, endpoint in PushSubscription.objects.filter(user_id=user_id).values_list("id", "endpoint"):
        if sub_id in existing_refs:
            continue
        rows.append(
            Notification(
                user_id=user_id,
                reminder_id=data["reminder_id"],
                task_ref=data["task_id"],
                kind=NotificationKind.REMINDER,
                channel=Channel.PUSH,
                occurrence_at=occurrence,
                title=title,
                body=body,
                # The service's origin only: the endpoint itself is a capability.
                recipient=transports.push_origin(endpoint),
                push_subscription_ref=sub_id,
                payload={"message": message, "urgency": urgency},
                next_attempt_at=now,
            )
        )
    return rows


def push_send(n: Notification, prefs: NotificationPreference) -> transports.SendResult:
    """Send one push notification to its browser as it is now (current keys and switch)."""
    if not push_configured():
        return transports.SendResult(ok=False, error="push channel disabled (no VAPID key)")
    if not prefs.push_enabled:
        return transports.SendResult(ok=False, error="refused: push notifications were turned off")
    sub = (
        PushSubscription.objects.filter(id=n.push_subscription_ref, user_id=n.user_id).first()
        if n.push_subscription_ref
        else None
    )
    if sub is None:
        return transports.SendResult(ok=False, error="refused: the browser's push subscription was removed")
    reminder = str(n.reminder_id or n.id)
    return transports.send_push(
        endpoint=sub.endpoint,
        p256dh=sub.p256dh,
        auth=sub.auth,
        payload=n.payload["message"],
        ttl=settings.WEB_PUSH_TTL_SECONDS,
        urgency=n.payload.get("urgency", "normal"),
        # A newer message for the same reminder (a snooze firing again)
        # replaces one still queued for an offline browser (RFC 8030 §5.4).
        topic=uuid.UUID(reminder).hex,
    )
