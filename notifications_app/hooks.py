"""notifications_app's side of ``reminders_app.delivery`` (an inverted hook; see there why)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from notifications_app.selectors import enabled_channels, preferences_for_users
from notifications_app.services import in_app_notifications_for_fired
from reminders_app import delivery
from reminders_app.delivery import FiredBatch, ReminderPreferences


def _preferences(user_ids: Iterable[int]) -> Mapping[int, ReminderPreferences]:
    return preferences_for_users(user_ids=user_ids)


def _channels(prefs: Any, override: list[str] | None) -> list[str]:
    return enabled_channels(prefs, override)


def _store(fired: FiredBatch) -> int:
    return in_app_notifications_for_fired(fired=fired)


def register_reminder_delivery() -> None:
    delivery.register(
        delivery.Delivery(preferences_for_users=_preferences, channels_for=_channels, store_fired=_store)
    )
