"""Reads of notifications and preferences."""

from __future__ import annotations

import logging
import zoneinfo
from collections.abc import Iterable
from datetime import datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Exists, OuterRef, QuerySet

from notifications_app.models import (
    ALL_CHANNELS,
    Channel,
    Notification,
    NotificationPreference,
    PushSubscription,
)
from notifications_app.push.selectors import push_configured
from todo_project.accounts.selectors import user_zone_for_id

logger = logging.getLogger(__name__)

_email_disabled_logged = False


def email_configured() -> bool:
    """Whether SendGrid is configured; logs once per process when it is not."""
    global _email_disabled_logged
    if settings.SENDGRID_API_KEY:
        return True
    if not _email_disabled_logged:
        _email_disabled_logged = True
        logger.warning("SENDGRID_API_KEY is not set: the email notification channel is disabled")
    return False


user_timezone = user_zone_for_id


def _with_push_state(qs: QuerySet[NotificationPreference]) -> QuerySet[NotificationPreference]:
    # In the same query: whether the user has a subscribed browser. Registering
    # one creates the preferences row, so a user without a row has none.
    subscribed = Exists(PushSubscription.objects.filter(user_id=OuterRef("user_id")))
    # no-redef: the model declares the attribute this fills (NotificationPreference.push_subscribed).
    return qs.annotate(push_subscribed=subscribed)  # type: ignore[no-redef]


def preferences_get(*, user_id: int) -> NotificationPreference:
    """The user's preferences; an unsaved row with the defaults if never set."""
    prefs = _with_push_state(NotificationPreference.objects.filter(user_id=user_id)).first()
    return prefs if prefs is not None else NotificationPreference(user_id=user_id)


def preferences_for_users(*, user_ids: Iterable[int]) -> dict[int, NotificationPreference]:
    ids = set(user_ids)
    found = {p.user_id: p for p in _with_push_state(NotificationPreference.objects.filter(user_id__in=ids))}
    for uid in ids - found.keys():
        default = found[uid] = NotificationPreference(user_id=uid)
        # No row, no subscription (see _with_push_state): no query per user in a scan.
        default.push_subscribed = False
    return found


def push_active(prefs: NotificationPreference) -> bool:
    """Whether push can reach this user: the server has a VAPID key and they have a browser subscribed."""
    if not push_configured():
        return False
    subscribed = getattr(prefs, "push_subscribed", None)
    if subscribed is None:  # a row read without _with_push_state (e.g. locked for an update)
        subscribed = PushSubscription.objects.filter(user_id=prefs.user_id).exists()
    return bool(subscribed)


def webhook_active(prefs: NotificationPreference) -> bool:
    return bool(
        prefs.webhook_enabled
        and prefs.webhook_url
        and prefs.webhook_secret
        and prefs.webhook_disabled_at is None
    )


def webhook_previous_secrets(prefs: NotificationPreference, *, now: datetime) -> tuple[str, ...]:
    """The secrets a rotation replaced that still sign deliveries (inside the rotation window)."""
    until = prefs.webhook_previous_secret_until
    if prefs.webhook_previous_secret and until is not None and now < until:
        return (prefs.webhook_previous_secret,)
    return ()


def channel_states(prefs: NotificationPreference) -> dict[str, dict[str, Any]]:
    """What the preferences page shows: per channel, the switch, whether the server can
    deliver on it, and so whether reminders really go out there (and why not)."""
    email_ok = email_configured()
    hook_ok = webhook_active(prefs)
    push_ok = push_active(prefs)
    push_reason = None
    if not push_configured():
        push_reason = "This server has no VAPID key (VAPID_PRIVATE_KEY): Web Push cannot be sent."
    elif not push_ok:
        push_reason = "No browser is subscribed to push notifications."
    hook_reason = None
    if not hook_ok:
        if prefs.webhook_disabled_at is not None:
            hook_reason = (
                f"Disabled after failures: {prefs.webhook_disabled_reason or 'see webhook_disabled_at'}."
            )
        else:
            hook_reason = "No webhook URL and secret configured."
    states = {
        Channel.IN_APP.value: (prefs.in_app_enabled, True, None),
        Channel.EMAIL.value: (
            prefs.email_enabled,
            email_ok,
            None
            if email_ok
            else "This server has no SendGrid API key (SENDGRID_API_KEY): email cannot be sent.",
        ),
        Channel.WEBHOOK.value: (prefs.webhook_enabled, hook_ok, hook_reason),
        Channel.PUSH.value: (prefs.push_enabled, push_ok, push_reason),
    }
    return {
        name: {
            "enabled": bool(enabled),
            "available": bool(available),
            "delivering": bool(enabled and available),
            "unavailable_reason": reason,
        }
        for name, (enabled, available, reason) in states.items()
    }


def enabled_channels(prefs: NotificationPreference, override: list[str] | None = None) -> list[str]:
    """Channels a reminder goes out on: the override (if any) ∩ what can deliver.

    A per-reminder override can narrow or widen the user's switches, but
    never turn on a channel that cannot deliver (no SendGrid key, no
    active webhook endpoint, no VAPID key or no subscribed browser).
    """
    available = {
        Channel.IN_APP.value: True,
        Channel.EMAIL.value: email_configured(),
        Channel.WEBHOOK.value: webhook_active(prefs),
        Channel.PUSH.value: push_active(prefs),
    }
    if override is not None:
        wanted = set(override)
    else:
        wanted = {
            c
            for c, on in (
                (Channel.IN_APP.value, prefs.in_app_enabled),
                (Channel.EMAIL.value, prefs.email_enabled),
                (Channel.WEBHOOK.value, prefs.webhook_enabled),
                (Channel.PUSH.value, prefs.push_enabled),
            )
            if on
        }
    return [c for c in ALL_CHANNELS if c in wanted and available[c]]


def quiet_hours_end(*, prefs: NotificationPreference, tz: zoneinfo.ZoneInfo, at: datetime) -> datetime | None:
    """If ``at`` falls in the user's quiet hours, when they end (aware UTC); else None."""
    start, end = prefs.quiet_hours_start, prefs.quiet_hours_end
    if start is None or end is None or start == end:
        return None
    local = at.astimezone(tz)
    now_t = local.time()
    if start < end:
        inside = start <= now_t < end
        end_day = local.date()
    else:  # spans midnight, e.g. 22:00–07:00
        inside = now_t >= start or now_t < end
        end_day = local.date() + timedelta(days=1) if now_t >= start else local.date()
    if not inside:
        return None
    return _local_to_utc(end_day, end, tz)


def _local_to_utc(day: object, t: time, tz: zoneinfo.ZoneInfo) -> datetime:
    naive = datetime.combine(day, t)  # type: ignore[arg-type]
    return naive.replace(tzinfo=tz).astimezone(zoneinfo.ZoneInfo("UTC"))


def notifications_inbox(*, user_id: int, unread: bool | None = None) -> QuerySet[Notification]:
    qs = Notification.objects.filter(user_id=user_id, channel=Channel.IN_APP)
    if unread is True:
        qs = qs.filter(read_at__isnull=True)
    elif unread is False:
        qs = qs.filter(read_at__isnull=False)
    return qs.order_by("-created_at", "-id")


def notifications_unread_count(*, user_id: int) -> int:
    return Notification.objects.filter(user_id=user_id, channel=Channel.IN_APP, read_at__isnull=True).count()
