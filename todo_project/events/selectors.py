"""Reads of the outbox: resync by sequence, and the operator's numbers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import connection
from django.utils import timezone

from todo_project.events.models import OutboxEvent, UserEventCounter


class ResyncHorizonExceeded(Exception):
    """``since_seq`` is older than the retained outbox: the client must reload its state.

    ``oldest_seq`` is the oldest sequence still retained for the user (None when
    nothing is), ``last_seq`` the newest one committed.
    """

    def __init__(self, *, user_id: int, since_seq: int, oldest_seq: int | None, last_seq: int) -> None:
        super().__init__(
            f"events after seq {since_seq} of user {user_id} are no longer retained "
            f"(oldest retained: {oldest_seq}, last: {last_seq})"
        )
        self.user_id = user_id
        self.since_seq = since_seq
        self.oldest_seq = oldest_seq
        self.last_seq = last_seq


def user_last_seq(*, user_id: int) -> int:
    """The newest committed sequence number of the user's events (0 = none yet)."""
    counter = UserEventCounter.objects.filter(user_id=user_id).values_list("last_seq", flat=True).first()
    return counter or 0


def events_since(*, user_id: int, since_seq: int, limit: int = 500) -> list[OutboxEvent]:
    """The user's events with ``seq > since_seq``, in order, at most ``limit`` of them.

    Raises ``ResyncHorizonExceeded`` when the event right after ``since_seq``
    was purged (older than OUTBOX_RETENTION_HOURS): the caller then reloads
    full state instead of replaying. Page through a long backlog by calling
    again with the last returned ``seq``. Every returned event is committed,
    and no committed event of the user is missing between two returned ones.
    """
    last_seq = user_last_seq(user_id=user_id)
    if since_seq >= last_seq:
        return []
    events = list(OutboxEvent.objects.filter(user_id=user_id, seq__gt=since_seq).order_by("seq")[:limit])
    if not events or events[0].seq != since_seq + 1:
        oldest = (
            OutboxEvent.objects.filter(user_id=user_id).order_by("seq").values_list("seq", flat=True).first()
        )
        raise ResyncHorizonExceeded(
            user_id=user_id, since_seq=since_seq, oldest_seq=oldest, last_seq=last_seq
        )
    return events


@dataclass(frozen=True)
class OutboxStats:
    unpublished: int
    oldest_unpublished_at: datetime | None
    undispatched: int
    oldest_undispatched_at: datetime | None
    dispatch_failed: int
    dead_lettered: int

    def age_seconds(self, moment: datetime | None) -> float:
        return max(0.0, (timezone.now() - moment).total_seconds()) if moment else 0.0


def outbox_stats() -> OutboxStats:
    """Backlog numbers for /metrics, in one query over the partial indexes."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT
              (SELECT count(*) FROM events_outboxevent WHERE published_at IS NULL),
              (SELECT min(time) FROM events_outboxevent WHERE published_at IS NULL),
              (SELECT count(*) FROM events_outboxevent
                 WHERE dispatched_at IS NULL AND dispatch_failed_at IS NULL),
              (SELECT min(time) FROM events_outboxevent
                 WHERE dispatched_at IS NULL AND dispatch_failed_at IS NULL),
              (SELECT count(*) FROM events_outboxevent WHERE dispatch_failed_at IS NOT NULL),
              (SELECT count(*) FROM events_outboxevent WHERE dead_lettered_at IS NOT NULL)
            """
        )
        row = cursor.fetchone()
    return OutboxStats(*row)


def kafka_enabled() -> bool:
    return bool(settings.KAFKA_BOOTSTRAP_SERVERS)
