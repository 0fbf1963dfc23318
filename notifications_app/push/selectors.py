"""Reads for Web Push: whether this server can send, its public key, the user's browsers."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.db.models import QuerySet

from notifications_app.models import PushSubscription


def push_configured() -> bool:
    """Whether this server has a VAPID key pair and subject, i.e. can send Web Push at all."""
    return bool(settings.WEB_PUSH_ENABLED and settings.VAPID_PRIVATE_KEY and settings.VAPID_SUBJECT)


def push_key() -> dict[str, object]:
    """What a browser needs for ``pushManager.subscribe({applicationServerKey})``."""
    available = push_configured()
    return {"public_key": settings.VAPID_PUBLIC_KEY if available else "", "available": available}


def push_subscriptions(*, user_id: int) -> QuerySet[PushSubscription]:
    return PushSubscription.objects.filter(user_id=user_id).order_by("-created_at", "-id")


def push_subscribed_users(*, user_ids: Iterable[int]) -> set[int]:
    """Of ``user_ids``, those with at least one subscribed browser (one query)."""
    return set(
        PushSubscription.objects.filter(user_id__in=list(user_ids))
        .values_list("user_id", flat=True)
        .distinct()
    )
