"""The delivery hook: what reminders need from the app that delivers them.

``reminders_app`` sits below ``notifications_app`` in the layers that
import-linter enforces (see ``[tool.importlinter]`` in pyproject.toml), so it
may not import it. Three things still cross that line, each *inside* a
reminders transaction, so they cannot wait for an event handler:

- reading the owners' reminder preferences (default lead time, priority rules)
  while a batch of tasks is synced;
- choosing the channels a firing reminder goes out on (they are part of the
  ``reminder.triggered`` data, fixed when it fires);
- storing the in-app inbox entries in the scan's claim transaction.

The last one is an inverted hook rather than a ``reminder.triggered`` handler
on purpose: the scan promises that a reminder is never triggered without its
inbox entry (same transaction) and that a burst costs one INSERT per batch,
not one dispatch per event. The handler still exists and skips rows the hook
already stored, for events fired without this step.

``notifications_app`` registers its implementation in ``AppConfig.ready()``.
Without it (the app not installed) reminders fall back to the defaults below:
no default reminder, priority rules on, in-app only, nothing stored.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from reminders_app.models import Channel


class ReminderPreferences(Protocol):
    """The two preference fields reminders read (notifications_app's row has them)."""

    @property
    def default_reminder_minutes(self) -> int | None: ...
    @property
    def priority_boost_enabled(self) -> bool: ...


@dataclass(frozen=True)
class DefaultPreferences:
    default_reminder_minutes: int | None = None
    priority_boost_enabled: bool = True


@dataclass(frozen=True)
class FiredBatch:
    """Reminders the scan fired in the caller's transaction, as columns.

    Entry ``i`` of every list is one reminder, in the order of their
    ``reminder.triggered`` events; the values are those of the event's data
    (``scheduled_for`` is ``occurrences[i]``), read in the same statement.
    """

    reminder_ids: list[uuid.UUID]
    user_ids: list[int]
    task_ids: list[uuid.UUID]
    occurrences: list[datetime]
    task_titles: list[str]
    due_ats: list[datetime | None]
    due_dates: list[date | None]
    # the resolved channels of each firing (lists may be shared between entries)
    channels: list[list[str]]

    def __len__(self) -> int:
        return len(self.reminder_ids)


@dataclass(frozen=True)
class Delivery:
    # user ids -> each user's preferences (defaults for users who never set any)
    preferences_for_users: Callable[[Iterable[int]], Mapping[int, ReminderPreferences]]
    # (the owner's preferences, the reminder's override or None) -> channels, in order
    channels_for: Callable[[Any, list[str] | None], list[str]]
    # reminders fired in the caller's transaction -> in-app rows stored
    store_fired: Callable[[FiredBatch], int]


def _default_preferences(user_ids: Iterable[int]) -> Mapping[int, ReminderPreferences]:
    return {user_id: DefaultPreferences() for user_id in user_ids}


def _default_channels(prefs: Any, override: list[str] | None) -> list[str]:
    return [Channel.IN_APP.value]


def _store_nothing(fired: FiredBatch) -> int:
    return 0


_delivery = Delivery(
    preferences_for_users=_default_preferences,
    channels_for=_default_channels,
    store_fired=_store_nothing,
)


def register(delivery: Delivery) -> None:
    """Install the delivery layer's implementation (called once, from an AppConfig.ready())."""
    global _delivery
    _delivery = delivery


def delivery() -> Delivery:
    return _delivery
