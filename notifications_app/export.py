"""The export's ``notification_preferences`` and ``subscriptions`` sections (see ``sections.py``).

``notification_preferences``: the switches, quiet hours and reminder rules,
and the reminder address if one is set apart from the account's (``""``:
the account's). Imported into a fresh account through
``preferences_update`` (so ``preferences.updated`` is recorded and the
reminder rules are applied to the imported tasks); a merge keeps the
account's own. A reminder address comes back unverified and a verification
mail is asked for, as when it is set by hand.

``subscriptions``: the webhook endpoint and the browsers subscribed to Web
Push, as metadata only — never the webhook's signing secret, never a push
subscription's keys or endpoint URL (each is a credential). Not imported: a
browser subscribes again, and a webhook needs a secret its receiver knows.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from django.contrib.auth.models import User

from notifications_app import services
from notifications_app.models import NotificationPreference, PushSubscription
from notifications_app.serializers import PreferencesInput
from tasks_app.portability.sections import ExportSection, ImportContext, Problem
from todo_project.timefmt import iso_utc_or_none

PREFERENCES_KEY = "notification_preferences"
SUBSCRIPTIONS_KEY = "subscriptions"
PREFERENCE_FIELDS = (
    "in_app_enabled",
    "email_enabled",
    "email_address",
    "push_enabled",
    "quiet_hours_start",
    "quiet_hours_end",
    "default_reminder_minutes",
    "priority_boost_enabled",
)


def _prefs(user: User) -> NotificationPreference:
    # The defaults of an account that never changed them (no row yet).
    return NotificationPreference.objects.filter(user_id=user.pk).first() or NotificationPreference(user=user)


def preferences_export(user: User, now: datetime) -> dict[str, Any]:
    prefs = _prefs(user)
    out: dict[str, Any] = {name: getattr(prefs, name) for name in PREFERENCE_FIELDS}
    for name in ("quiet_hours_start", "quiet_hours_end"):
        out[name] = out[name].isoformat(timespec="minutes") if out[name] is not None else None
    return out


def preferences_check(value: Any, ids: Mapping[str, set[str]]) -> list[Problem]:
    if not isinstance(value, dict):
        return [(PREFERENCES_KEY, "must be an object")]
    serializer = PreferencesInput(data={name: value[name] for name in PREFERENCE_FIELDS if name in value})
    if serializer.is_valid():
        return []
    return [
        (f"{PREFERENCES_KEY}.{name}", " ".join(str(message) for message in messages))
        for name, messages in serializer.errors.items()
    ]


def preferences_write(context: ImportContext, value: dict[str, Any]) -> int:
    if context.merge:
        context.step()
        return 0
    serializer = PreferencesInput(data={name: value[name] for name in PREFERENCE_FIELDS if name in value})
    serializer.is_valid(raise_exception=True)  # checked before anything was written
    fields = dict(serializer.validated_data)
    if not fields.get("email_address"):
        fields.pop("email_address", None)  # "": the account's address, which a fresh account has
    made = context.attempt(
        PREFERENCES_KEY, lambda: services.preferences_update(user_id=context.user.pk, **fields)
    )
    return 0 if made is None else 1


def subscriptions_export(user: User, now: datetime) -> dict[str, Any]:
    prefs = _prefs(user)
    return {
        "webhook": {
            "url": prefs.webhook_url,
            "enabled": prefs.webhook_enabled,
            "secret_set": bool(prefs.webhook_secret),
            "disabled_at": iso_utc_or_none(prefs.webhook_disabled_at),
            "disabled_reason": prefs.webhook_disabled_reason,
        },
        "push": [
            {
                "id": str(sub.pk),
                "service": urlsplit(sub.endpoint).hostname or "",
                "user_agent": sub.user_agent,
                "created_at": iso_utc_or_none(sub.created_at),
            }
            for sub in PushSubscription.objects.filter(user_id=user.pk).order_by("created_at", "id")
        ],
    }


PREFERENCES_SECTION = ExportSection(
    key=PREFERENCES_KEY, export=preferences_export, check=preferences_check, write=preferences_write
)
SUBSCRIPTIONS_SECTION = ExportSection(key=SUBSCRIPTIONS_KEY, export=subscriptions_export)
