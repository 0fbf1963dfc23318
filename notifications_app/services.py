"""Writes of notifications and preferences; delivery with retries.

Delivery runs outside any transaction (it waits on the network): a worker
claims a pending row with a conditional UPDATE that sets a lease
(``claimed_until``), sends, then records the outcome in a short transaction.
A worker killed mid-send leaves a lease that expires; the sweep then
re-enqueues the row, so a delivery is at-least-once and webhook receivers
de-duplicate on the stable ``webhook-id``. Email, webhook and push rows share
this path (lease, retries, quiet hours); only the sender differs.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from notifications_app import messages
from notifications_app import transports as senders
from notifications_app.events import (
    notification_created_event,
    notification_failed_event,
    notification_sent_event,
    preferences_updated_event,
)
from notifications_app.models import (
    Channel,
    Notification,
    NotificationKind,
    NotificationPreference,
    NotificationStatus,
)
from notifications_app.push import services as push
from notifications_app.selectors import (
    email_configured,
    preferences_get,
    quiet_hours_end,
    user_timezone,
    webhook_active,
    webhook_previous_secrets,
)
from reminders_app.delivery import FiredBatch
from reminders_app.models import Reminder
from todo_project.accounts import services as account_services
from todo_project.accounts import tokens
from todo_project.accounts.models import Profile
from todo_project.accounts.selectors import email_is_verified
from todo_project.bulk import fetch_bound
from todo_project.errors import DomainError, NotFoundError
from todo_project.events import types
from todo_project.events.services import (
    RecordedEvent,
    events_recorded,
    iso_utc_sql,
    outbox_insert_sql,
    outbox_params,
    record_events,
    user_events_lock,
)
from todo_project.faultpoints import fault_point
from todo_project.timefmt import zone_or_utc

logger = logging.getLogger(__name__)

# Waits before the 2nd, 3rd, 4th and 5th attempt of a transient failure:
# settings.NOTIFICATION_RETRY_SECONDS (1 s, 5 s, 30 s, 5 min).
# A receiver's Retry-After is honoured when longer than the backoff, up to this.
RETRY_AFTER_MAX_SECONDS = 3600
# The sweep leaves freshly due rows to the task already enqueued for them.
SWEEP_GRACE = timedelta(seconds=5)
SWEEP_BATCH = 500


def _enqueue_delivery(notification_id: uuid.UUID) -> None:
    # After commit, and never failing the caller: the sweep re-enqueues
    # anything whose enqueue was lost (Redis down).
    from notifications_app.tasks import notification_deliver_task  # the tasks module imports this one

    def enqueue() -> None:
        try:
            notification_deliver_task.delay(str(notification_id))
        except Exception:  # noqa: BLE001
            logger.warning("could not enqueue delivery of %s; the sweep will", notification_id, exc_info=True)

    transaction.on_commit(enqueue)


# --- preferences -------------------------------------------------------------


def _prefs_for_update(user_id: int) -> NotificationPreference:
    NotificationPreference.objects.get_or_create(user_id=user_id)
    return NotificationPreference.objects.select_for_update().get(user_id=user_id)


def _field_values(prefs: NotificationPreference) -> dict[str, Any]:
    return {
        field.attname: getattr(prefs, field.attname)
        for field in prefs._meta.concrete_fields
        if not field.primary_key and field.attname != "updated_at"
    }


def preferences_update(*, user_id: int, **fields: Any) -> tuple[NotificationPreference, str | None]:
    """Change preferences; returns them and the new webhook secret if one was just made.

    Registering a webhook URL checks it against the SSRF rules, re-enables a
    disabled endpoint and creates the signing secret if there is none. The
    secret is returned only here and by ``webhook_rotate_secret``.
    """
    new_secret = None
    given = sorted(fields)
    with transaction.atomic():
        # The user's event lock first: the event below takes it anyway, and a
        # failing webhook delivery takes it before this row (_webhook_disable).
        user_events_lock(user_id=user_id)
        prefs = _prefs_for_update(user_id)
        before = (prefs.default_reminder_minutes, prefs.priority_boost_enabled)
        stored = _field_values(prefs)
        if "email_address" in fields:
            _reminder_address_change(prefs, (fields.pop("email_address") or "").strip())
        if "webhook_url" in fields:
            url = (fields.pop("webhook_url") or "").strip()
            if url:
                senders.resolve_webhook_url(url)
                if url != prefs.webhook_url or prefs.webhook_disabled_at:
                    prefs.webhook_disabled_at = None
                    prefs.webhook_disabled_reason = ""
                fields.setdefault("webhook_enabled", True)
                if not prefs.webhook_secret:
                    prefs.webhook_secret = new_secret = senders.new_webhook_secret()
            else:
                fields.setdefault("webhook_enabled", False)
            prefs.webhook_url = url
        for name, value in fields.items():
            setattr(prefs, name, value)
        if prefs.webhook_enabled and not prefs.webhook_url:
            raise DomainError("Set webhook_url to enable the webhook channel.", field="webhook_enabled")
        if (prefs.quiet_hours_start is None) != (prefs.quiet_hours_end is None):
            raise DomainError(
                "Give both quiet_hours_start and quiet_hours_end, or neither.", field="quiet_hours_end"
            )
        # Only the columns that changed (several helpers above set fields).
        changed = [name for name, value in _field_values(prefs).items() if stored[name] != value]
        prefs.save(update_fields=[*changed, "updated_at"])
        # Reminders (the layer below) react to this event: when the reminder
        # rules changed, a reminders handler re-applies them to the user's open
        # timed tasks. The secret is never part of it.
        rules_changed = before != (prefs.default_reminder_minutes, prefs.priority_boost_enabled)
        record_events(
            [preferences_updated_event(user_id=user_id, fields=given, reminder_rules_changed=rules_changed)]
        )
    return prefs, new_secret


def _account_email(user_id: int) -> str:
    return get_user_model().objects.filter(id=user_id).values_list("email", flat=True).first() or ""


def _reminder_address_change(prefs: NotificationPreference, address: str) -> None:
    """Set the reminder address (caller's transaction and lock).

    A new address is unverified until its link is opened, and a verification
    mail is asked for; the address given up loses its verification (unless it
    is the account e-mail, which keeps its own).
    """
    old = prefs.email_address
    prefs.email_address = address
    if address.lower() == old.lower():
        return
    account_email = _account_email(prefs.user_id)
    if old and old.lower() != account_email.lower():
        account_services.email_verification_forget(user_id=prefs.user_id, email=old)
    target = address or account_email
    if target and not email_is_verified(user_id=prefs.user_id, email=target):
        account_services.email_verification_request(
            user_id=prefs.user_id, email=target, purpose="reminders" if address else "account"
        )


def reminder_address_verification_resend(*, user_id: int) -> str:
    """Mail the reminder address's verification link again; returns the address."""
    prefs = preferences_get(user_id=user_id)
    address = prefs.email_address or _account_email(user_id)
    if not address:
        raise DomainError("There is no address to verify.", field="email_address")
    if email_is_verified(user_id=user_id, email=address):
        raise DomainError("This address is verified already.", field="email_address", code="already_verified")
    account_services.email_verification_request(
        user_id=user_id, email=address, purpose="reminders" if prefs.email_address else "account"
    )
    return address


def webhook_rotate_secret(*, user_id: int) -> str:
    with transaction.atomic():
        prefs = _prefs_for_update(user_id)
        if not prefs.webhook_url:
            raise DomainError("No webhook URL is registered.", field="webhook_url")
        # The old secret keeps signing (a second signature) for the rotation
        # window, so the receiver can change over without rejecting anything.
        window = settings.WEBHOOK_SECRET_ROTATION_SECONDS
        prefs.webhook_previous_secret = prefs.webhook_secret if window else ""
        prefs.webhook_previous_secret_until = timezone.now() + timedelta(seconds=window) if window else None
        prefs.webhook_secret = secret = senders.new_webhook_secret()
        prefs.save(
            update_fields=[
                "webhook_secret",
                "webhook_previous_secret",
                "webhook_previous_secret_until",
                "updated_at",
            ]
        )
    return secret


# --- in-app inbox -----------------------------------------------------------


def notification_mark_read(*, user_id: int, notification_id: uuid.UUID | str) -> Notification:
    now = timezone.now()
    qs = Notification.objects.filter(id=notification_id, user_id=user_id, channel=Channel.IN_APP)
    qs.filter(read_at__isnull=True).update(read_at=now, updated_at=now)
    n = qs.first()
    if n is None:
        raise NotFoundError("Notification not found.")
    return n


def notifications_mark_all_read(*, user_id: int) -> int:
    now = timezone.now()
    return Notification.objects.filter(user_id=user_id, channel=Channel.IN_APP, read_at__isnull=True).update(
        read_at=now, updated_at=now
    )


# --- creation from reminder.triggered ----------------------------------------


def _in_app(
    *,
    user_id: int,
    kind: str,
    message: messages.InAppMessage,
    occurrence_at: datetime,
    now: datetime,
    **columns: Any,
) -> Notification:
    """An inbox entry, unsaved: in-app notifications are delivered by being stored."""
    return Notification(
        user_id=user_id,
        kind=kind,
        channel=Channel.IN_APP,
        occurrence_at=occurrence_at,
        title=message["title"],
        body=message["body"],
        status=NotificationStatus.SENT,
        sent_at=now,
        next_attempt_at=now,
        **columns,
    )


_STORE_FIRED_SQL = f"""
WITH wanted AS (
    SELECT * FROM unnest(
        %(reminder_ids)s::uuid[], %(user_ids)s::int[], %(task_ids)s::uuid[],
        %(occurrences)s::timestamptz[], %(titles)s::text[], %(bodies)s::text[]
    ) WITH ORDINALITY AS w(reminder_id, user_id, task_ref, occurrence_at, title, body, ord)
),
stored AS (
    INSERT INTO notifications_app_notification (
        id, user_id, reminder_id, task_ref, kind, channel, occurrence_at, title, body, recipient,
        payload, status, attempts, last_error, next_attempt_at, sent_at, created_at, updated_at
    )
    SELECT gen_random_uuid(), w.user_id, w.reminder_id, w.task_ref, %(kind)s::text, %(channel)s::text,
        w.occurrence_at, w.title, w.body, '', '{{}}'::jsonb, %(status)s::text, 0, '',
        %(now)s::timestamptz, %(now)s::timestamptz, %(now)s::timestamptz, %(now)s::timestamptz
    FROM wanted w
    -- One probe of the (reminder, occurrence, channel) unique index per row
    -- (OFFSET 0 keeps it a probe, never an anti-join over the whole inbox).
    WHERE NOT EXISTS (
        SELECT 1 FROM notifications_app_notification n
        WHERE n.reminder_id = w.reminder_id AND n.occurrence_at = w.occurrence_at
            AND n.channel = %(channel)s::text
        OFFSET 0
    )
    RETURNING id, user_id, reminder_id, task_ref, kind, channel, occurrence_at, title, body, created_at
),
events AS (
    SELECT gen_random_uuid() AS event_id, s.user_id::bigint AS user_id, w.ord,
        'notifications/' || s.id AS subject,
        jsonb_build_object(
            'notification_id', s.id::text,
            'user_id', s.user_id,
            'kind', s.kind,
            'channel', s.channel,
            'title', s.title,
            'body', s.body,
            'reminder_id', s.reminder_id::text,
            'task_id', s.task_ref::text,
            'occurrence_at', {iso_utc_sql("s.occurrence_at")},
            'created_at', {iso_utc_sql("s.created_at")},
            'read_at', NULL
        ) AS data
    FROM stored s JOIN wanted w ON w.reminder_id = s.reminder_id
),
{outbox_insert_sql("events")}
SELECT event_id FROM events ORDER BY ord
"""  # noqa: S608 - constant SQL fragments, no input


def in_app_notifications_for_fired(*, fired: FiredBatch) -> int:
    """Store the in-app notifications of reminders fired in the caller's transaction, in bulk.

    Called by the due-reminder scan inside its claim transaction, so a
    reminder is never triggered without its inbox entry and a burst of due
    reminders costs one statement per batch rather than one dispatch each:
    it inserts the rows and their ``notification.created`` events (data as
    ``notification_created_event`` builds it) from arrays, after the
    counters the scan already holds. Python only words the messages. The
    reminder.triggered handler skips in-app rows that already exist (and still
    creates them for events fired without this step); so does this. Returns
    how many were stored.
    """
    wanted = [i for i, channels in enumerate(fired.channels) if Channel.IN_APP in channels]
    if not wanted:
        return 0
    now = timezone.now()
    zones = {
        user_id: zone_or_utc(name)
        for user_id, name in Profile.objects.filter(
            user_id__in={fired.user_ids[i] for i in wanted}
        ).values_list("user_id", "timezone")
    }
    utc = zone_or_utc(None)
    titles, bodies = [], []
    for i in wanted:
        due = messages.due_text_of(fired.due_ats[i], fired.due_dates[i], zones.get(fired.user_ids[i], utc))
        message = messages.reminder_in_app(title=fired.task_titles[i], due=due)
        titles.append(message["title"])
        bodies.append(message["body"])
    rows = fetch_bound(
        _STORE_FIRED_SQL,
        {
            "reminder_ids": [fired.reminder_ids[i] for i in wanted],
            "user_ids": [fired.user_ids[i] for i in wanted],
            "task_ids": [fired.task_ids[i] for i in wanted],
            "occurrences": [fired.occurrences[i] for i in wanted],
            "titles": titles,
            "bodies": bodies,
            "kind": NotificationKind.REMINDER.value,
            "channel": Channel.IN_APP.value,
            "status": NotificationStatus.SENT.value,
            "now": now,
            **outbox_params(types.NOTIFICATION_CREATED),
        },
    )
    event_ids = [row[0] for row in rows]
    events_recorded(event_ids, [RecordedEvent(types.NOTIFICATION_CREATED, {})] * len(event_ids))
    return len(event_ids)


def notifications_create_for_trigger(*, data: dict[str, Any]) -> list[Notification]:
    """Create one notification per channel named in a reminder.triggered event.

    Idempotent: a (reminder, occurrence, channel) that already has a
    notification is skipped (and a unique constraint backs this up). Must run
    inside the dispatching transaction. In-app rows are delivered by being
    stored; email, webhook and push rows are enqueued after commit, or wait
    for the sweep when the user's quiet hours are on. Push makes one row per
    subscribed browser (idempotent per browser).
    """
    now = timezone.now()
    user_id = int(data["user_id"])
    reminder_id = data["reminder_id"]
    occurrence = parse_datetime(data["scheduled_for"])
    assert occurrence is not None
    if not Reminder.objects.filter(id=reminder_id).exists():
        return []
    made = list(
        Notification.objects.filter(reminder_id=reminder_id, occurrence_at=occurrence).values_list(
            "channel", "push_subscription_ref"
        )
    )
    existing = {channel for channel, _ in made}
    prefs = preferences_get(user_id=user_id)
    tz = user_timezone(user_id=user_id)
    title = data["task_title"]
    task_id = data["task_id"]
    due = messages.due_text(data, tz)
    url = messages.task_url(task_id)
    in_app = messages.reminder_in_app(title=title, due=due)
    quiet_end = quiet_hours_end(prefs=prefs, tz=tz, at=now)
    created: list[Notification] = []
    for channel in data.get("channels", []):
        if channel == Channel.PUSH:
            for n in push.push_notifications_for_trigger(
                data=data,
                occurrence=occurrence,
                title=in_app["title"],
                body=in_app["body"],
                url=url,
                now=now,
                existing_refs={ref for c, ref in made if c == Channel.PUSH and ref is not None},
            ):
                created.append(_store_pending(n, quiet_end))
            continue
        if channel in existing:
            continue
        n = Notification(
            user_id=user_id,
            reminder_id=reminder_id,
            task_ref=task_id,
            kind=NotificationKind.REMINDER,
            channel=channel,
            occurrence_at=occurrence,
            title=in_app["title"],
            body=in_app["body"],
            next_attempt_at=now,
        )
        if channel == Channel.IN_APP:
            n.status = NotificationStatus.SENT
            n.sent_at = now
        elif channel == Channel.EMAIL:
            email = prefs.email_address or _account_email(user_id)
            if not email:
                logger.info("user %s has no email address; email reminder skipped", user_id)
                continue
            if not email_is_verified(user_id=user_id, email=email):
                # Nothing but the verification link goes to an unproven address.
                logger.info("user %s: reminder address not verified; email reminder skipped", user_id)
                continue
            n.recipient = email
            n.payload = dict(messages.reminder_email(title=title, due=due, url=url))
        elif channel == Channel.WEBHOOK:
            n.recipient = prefs.webhook_url
            n.payload = messages.reminder_webhook(data=data, url=url)
        else:
            continue
        if channel == Channel.IN_APP:
            n.save(force_insert=True)
            created.append(n)
            record_events([notification_created_event(n)])
        else:
            created.append(_store_pending(n, quiet_end))
    return created


def _store_pending(n: Notification, quiet_end: datetime | None) -> Notification:
    """Save a notification that a worker delivers: now, or when the quiet hours end (the sweep)."""
    if quiet_end is not None:
        n.next_attempt_at = quiet_end
    n.save(force_insert=True)
    if quiet_end is None:
        _enqueue_delivery(n.id)
    return n


# --- delivery -----------------------------------------------------------------


def _claim(notification_id: uuid.UUID | str, now: datetime) -> bool:
    lease = now + timedelta(seconds=settings.NOTIFICATION_LEASE_SECONDS)
    return bool(
        Notification.objects.filter(
            Q(claimed_until__isnull=True) | Q(claimed_until__lt=now),
            id=notification_id,
            status=NotificationStatus.PENDING,
            next_attempt_at__lte=now,
            channel__in=[Channel.EMAIL, Channel.WEBHOOK, Channel.PUSH],
        ).update(claimed_until=lease, attempts=F("attempts") + 1, updated_at=now)
    )


def notification_deliver(*, notification_id: uuid.UUID | str) -> int | None:
    """Try one delivery. Returns seconds until the next attempt if one is due, else None.

    Does nothing unless the row is pending, due and not leased to another
    worker, so duplicate enqueues (sweep + retry, redelivered tasks) are harmless.
    """
    now = timezone.now()
    if not _claim(notification_id, now):
        return None
    fault_point("notifications.after_claim")
    n = Notification.objects.get(id=notification_id)
    prefs = preferences_get(user_id=n.user_id)
    if n.channel == Channel.EMAIL:
        message = _email_message(n)
        if not email_configured():
            result = senders.SendResult(ok=False, error="email channel disabled (no SENDGRID_API_KEY)")
        elif isinstance(message, str):
            result = senders.SendResult(ok=False, error=message)
        else:
            result = senders.send_email(to=n.recipient, delivery_id=f"msg_{n.id.hex}", **message)
    elif n.channel == Channel.PUSH:
        result = push.push_send(n, prefs)
    elif webhook_active(prefs):
        # The current URL and secret: a rotation applies to pending retries
        # (with the previous secret's signature too during the rotation window).
        result = senders.send_webhook(
            url=prefs.webhook_url,
            secret=prefs.webhook_secret,
            previous_secrets=webhook_previous_secrets(prefs, now=timezone.now()),
            msg_id=f"msg_{n.id.hex}",
            payload=n.payload,
        )
    else:
        result = senders.SendResult(ok=False, error="webhook endpoint disabled or removed")
    if result.ok:
        fault_point("notifications.after_provider_call")
    countdown = _record_outcome(n.id, result)
    if n.channel == Channel.PUSH and result.gone and n.push_subscription_ref is not None:
        # Its own transaction, after the outcome: the browser unsubscribed or
        # its subscription expired (404/410). A crash in between only means the
        # next push to it answers 410 again and removes it then.
        push.push_subscription_gone(subscription_id=n.push_subscription_ref)
    return countdown


def _email_message(n: Notification) -> messages.EmailMessage | str:
    """What to send for an email notification, made now; or why it must not be sent.

    Reminders go only to a still-verified address (it may have changed since
    the notification was made). Account mails get their link here, so the
    token exists only in the mail (todo_project/accounts/tokens.py).
    """
    if n.kind == NotificationKind.PASSWORD_RESET:
        user = get_user_model().objects.filter(id=n.user_id, is_active=True).first()
        if user is None or user.email.lower() != n.recipient.lower():
            return "refused: the account is gone or its address changed"
        link = tokens.link("/reset-password", tokens.password_reset_token_make(user=user))
        minutes = settings.PASSWORD_RESET_TIMEOUT // 60
        return messages.password_reset_email(
            subject=n.title, username=user.username, link=link, minutes=minutes
        )
    if n.kind == NotificationKind.EMAIL_VERIFICATION:
        link = tokens.link(
            "/verify-email", tokens.email_verification_token_make(user_id=n.user_id, email=n.recipient)
        )
        days = max(1, settings.EMAIL_VERIFICATION_TTL_SECONDS // 86400)
        return messages.email_verification_email(subject=n.title, address=n.recipient, link=link, days=days)
    if not email_is_verified(user_id=n.user_id, email=n.recipient):
        return "refused: the address is not verified"
    return {"subject": n.payload["subject"], "text": n.payload["text"], "html": n.payload["html"]}


def account_mail_create(*, event_id: str, event_type: str, data: dict[str, Any]) -> Notification | None:
    """The e-mail a ``user.password_reset_requested`` / ``user.email_verification_requested`` asks for.

    Runs in the dispatching transaction; idempotent by event id. Sent at once
    (quiet hours are for reminders) on the usual delivery path with retries.
    Without SendGrid it is skipped with a log line, like the email channel.
    """
    if not email_configured():
        logger.info("no SENDGRID_API_KEY: %s mail for user %s not sent", event_type, data.get("user_id"))
        return None
    if event_type == "user.password_reset_requested":
        kind, title = NotificationKind.PASSWORD_RESET, messages.PASSWORD_RESET_SUBJECT
    else:
        kind, title = NotificationKind.EMAIL_VERIFICATION, messages.EMAIL_VERIFICATION_SUBJECT
    if Notification.objects.filter(kind=kind, payload__event_id=event_id).exists():
        return None
    now = timezone.now()
    n = Notification.objects.create(
        user_id=int(data["user_id"]),
        kind=kind,
        channel=Channel.EMAIL,
        occurrence_at=now,
        title=title,
        recipient=data["email"],
        payload={"event_id": event_id, "purpose": data.get("purpose", "")},
        next_attempt_at=now,
    )
    _enqueue_delivery(n.id)
    return n


def _record_outcome(notification_id: uuid.UUID, result: senders.SendResult) -> int | None:
    now = timezone.now()
    with transaction.atomic():
        n = Notification.objects.select_for_update().get(id=notification_id)
        if n.status != NotificationStatus.PENDING:
            return None
        n.claimed_until = None
        n.updated_at = now
        if result.ok:
            n.status, n.sent_at, n.last_error = NotificationStatus.SENT, now, ""
            n.save(update_fields=["status", "sent_at", "last_error", "claimed_until", "updated_at"])
            record_events([notification_sent_event(n, sent_at=now)])
            return None
        n.last_error = result.error[:2000]
        backoff = settings.NOTIFICATION_RETRY_SECONDS
        if result.transient and n.attempts <= len(backoff):
            wait: float = backoff[n.attempts - 1]
            if result.retry_after is not None:  # the receiver said when (429, 503)
                wait = max(wait, min(result.retry_after, RETRY_AFTER_MAX_SECONDS))
            retry_at = now + timedelta(seconds=wait)
            # A retry that would land in the user's quiet hours waits for their end too.
            quiet_end = quiet_hours_end(
                prefs=preferences_get(user_id=n.user_id), tz=user_timezone(user_id=n.user_id), at=retry_at
            )
            n.next_attempt_at = quiet_end or retry_at
            n.save(update_fields=["last_error", "next_attempt_at", "claimed_until", "updated_at"])
            return max(1, int((n.next_attempt_at - now).total_seconds()))
        n.status, n.failed_at = NotificationStatus.FAILED, now
        n.save(update_fields=["status", "failed_at", "last_error", "claimed_until", "updated_at"])
        record_events([notification_failed_event(n, permanent=not result.transient, failed_at=now)])
        if n.channel == Channel.WEBHOOK and (result.gone or result.transient):
            reason = "the endpoint answered 410 Gone" if result.gone else "it kept failing after retries"
            _webhook_disable(user_id=n.user_id, reason=reason, now=now)
        return None


def _webhook_disable(*, user_id: int, reason: str, now: datetime) -> None:
    """Turn the user's webhook off and tell them in-app. Caller holds a transaction."""
    prefs = NotificationPreference.objects.select_for_update().filter(user_id=user_id).first()
    if prefs is None or prefs.webhook_disabled_at is not None:
        return
    prefs.webhook_disabled_at = now
    prefs.webhook_disabled_reason = reason
    prefs.save(update_fields=["webhook_disabled_at", "webhook_disabled_reason", "updated_at"])
    message = messages.webhook_disabled_in_app(url=prefs.webhook_url, reason=reason)
    notice = _in_app(
        user_id=user_id, kind=NotificationKind.WEBHOOK_DISABLED, message=message, occurrence_at=now, now=now
    )
    notice.save(force_insert=True)
    record_events([notification_created_event(notice)])


def notifications_sweep(*, batch_size: int = SWEEP_BATCH) -> int:
    """Enqueue email/webhook/push deliveries that are due and unleased. Returns how many."""
    from notifications_app.tasks import notification_deliver_task  # the tasks module imports this one

    now = timezone.now()
    ids = list(
        Notification.objects.filter(
            Q(claimed_until__isnull=True) | Q(claimed_until__lt=now),
            status=NotificationStatus.PENDING,
            next_attempt_at__lte=now - SWEEP_GRACE,
        )
        .order_by("next_attempt_at")
        .values_list("id", flat=True)[:batch_size]
    )
    for notification_id in ids:
        notification_deliver_task.delay(str(notification_id))
    return len(ids)
