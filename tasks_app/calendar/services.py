"""The calendar feed's token: made, rotated, turned off. Each function is one transaction."""

from __future__ import annotations

import hashlib
import secrets

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from tasks_app.models import CalendarFeed
from todo_project.errors import NotFoundError
from todo_project.events.services import record_event

TOKEN_BYTES = 32


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def calendar_feed_rotate(*, user: User) -> tuple[CalendarFeed, str]:
    """Make the user's feed token, or replace it (the old URL stops working).

    Returns the feed and the new token, which is not stored and cannot be read
    again. Records ``calendar.feed.rotated`` (without the token).
    """
    token = secrets.token_urlsafe(TOKEN_BYTES)
    now = timezone.now()
    with transaction.atomic():
        feed, created = CalendarFeed.objects.select_for_update().get_or_create(
            owner_id=user.pk, defaults={"token_hash": token_hash(token), "rotated_at": now}
        )
        if not created:
            feed.token_hash = token_hash(token)
            feed.rotated_at = now
            feed.save(update_fields=["token_hash", "rotated_at"])
        record_event(
            type="calendar.feed.rotated",
            user_id=user.pk,
            subject=f"users/{user.pk}/calendar-feed",
            data={"user_id": user.pk, "created": created, "rotated_at": now},
        )
    return feed, token


def calendar_feed_disable(*, user: User) -> None:
    """Turn the feed off (its URL answers 404); records ``calendar.feed.disabled``."""
    with transaction.atomic():
        deleted, _ = CalendarFeed.objects.filter(owner_id=user.pk).delete()
        if not deleted:
            raise NotFoundError("You have no calendar feed.")
        record_event(
            type="calendar.feed.disabled",
            user_id=user.pk,
            subject=f"users/{user.pk}/calendar-feed",
            data={"user_id": user.pk},
        )
