"""Account deletion's hook: what the apps above the platform erase of a deleted user.

Almost everything a user owns goes with their user row (foreign keys with
CASCADE: tasks, projects, series, reminders, notifications, push
subscriptions, chat history, tokens). A few tables key rows by a plain user
id on purpose, so they outlive a user in the normal course (the audit trail);
their app registers an eraser here from its ``AppConfig.ready()``, because
this layer may not import them. ``account_delete`` runs every eraser inside
its transaction, before the user row goes.
"""

from __future__ import annotations

from collections.abc import Callable

# user id -> how many rows it erased
Eraser = Callable[[int], int]

_erasers: dict[str, Eraser] = {}


def register(name: str, eraser: Eraser) -> None:
    """Install an eraser under a stable name (the key of its count in ``user.deleted``)."""
    _erasers[name] = eraser


def erasers() -> dict[str, Eraser]:
    return dict(_erasers)
