"""Reads for resync: a user's pushable events after a sequence number.

Unlike the backbone's ``events_since`` (every event type), resync returns only
the types a socket pushes, paged, with each message's per-channel ``prev_seq``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from todo_project.events.models import OutboxEvent, UserEventCounter
from todo_project.prometheus import WS_RESYNCS
from todo_project.sync.messages import CHANNEL_OF_TYPE, PUSH_EVENT_TYPES, SyncMessage, types_of_channel


@dataclass(frozen=True)
class SyncPage:
    """One page of missed events, or ``resync_required`` when some are gone."""

    since: int
    resync_required: bool
    messages: list[SyncMessage]
    next_since: int
    has_more: bool
    last_seq: int


def retention_cutoff():
    return timezone.now() - timedelta(hours=settings.OUTBOX_RETENTION_HOURS)


def sync_message(event: OutboxEvent, *, prev_seq: int | None) -> SyncMessage:
    data = event.data if isinstance(event.data, dict) else {}
    version = data.get("version")
    return SyncMessage(
        type=event.type,
        channel=CHANNEL_OF_TYPE[event.type],
        id=str(event.id),
        seq=event.seq,
        prev_seq=prev_seq,
        time=event.time.isoformat().replace("+00:00", "Z"),
        version=version if isinstance(version, int) else None,
        request_id=(event.context or {}).get("request_id") or None,
        data=data,
    )


_PREVIOUS_SEQS_SQL = """
    SELECT wanted.user_id, wanted.seq, (
        SELECT o.seq FROM events_outboxevent o
        WHERE o.user_id = wanted.user_id AND o.seq < wanted.seq AND o.type = ANY(%s)
        ORDER BY o.seq DESC LIMIT 1
    )
    FROM unnest(%s::bigint[], %s::bigint[]) AS wanted(user_id, seq)
"""


def previous_push_seqs(events: list[OutboxEvent]) -> dict[tuple[int, int], int | None]:
    """``previous_push_seq`` for many events: one query per channel among them,
    keyed by (user id, seq)."""
    by_channel: dict[str, list[OutboxEvent]] = {}
    for event in events:
        by_channel.setdefault(CHANNEL_OF_TYPE[event.type], []).append(event)
    found: dict[tuple[int, int], int | None] = {}
    with connection.cursor() as cursor:
        for channel, members in by_channel.items():
            cursor.execute(
                _PREVIOUS_SEQS_SQL,
                [
                    list(types_of_channel(channel)),
                    [event.user_id for event in members],
                    [event.seq for event in members],
                ],
            )
            found.update(((user_id, seq), prev) for user_id, seq, prev in cursor.fetchall())
    return found


def previous_push_seq(*, user_id: int, seq: int, event_type: str) -> int | None:
    """The seq of the user's last event before ``seq`` on the channel of
    ``event_type`` (the unique (user_id, seq) index makes this a short
    backwards index scan)."""
    return (
        OutboxEvent.objects.filter(
            user_id=user_id, seq__lt=seq, type__in=types_of_channel(CHANNEL_OF_TYPE[event_type])
        )
        .order_by("-seq")
        .values_list("seq", flat=True)
        .first()
    )


def sync_since(*, user_id: int, since: int, limit: int) -> SyncPage:
    """The user's pushable events with seq > ``since``, oldest first, one page.

    ``resync_required`` when any event after ``since`` is no longer retained
    (purged, or older than OUTBOX_RETENTION_HOURS) or ``since`` is ahead of
    the user's counter (the client's state is not from this server). The
    check counts retained rows against the counter in one statement, so a
    commit landing between two reads cannot fake a gap.
    """
    WS_RESYNCS.inc()
    cutoff = retention_cutoff()
    retained = (
        OutboxEvent.objects.filter(user_id=OuterRef("user_id"), seq__gt=since, time__gte=cutoff)
        .order_by()
        .values("user_id")
        .annotate(n=Count("*"))
        .values("n")
    )
    row = (
        UserEventCounter.objects.filter(user_id=user_id)
        .annotate(retained=Coalesce(Subquery(retained), 0))
        .values_list("last_seq", "retained")
        .first()
    )
    last_seq, retained_count = row if row else (0, 0)
    if since > last_seq or retained_count < last_seq - since:
        return SyncPage(since, True, [], since, False, last_seq)

    events = list(
        OutboxEvent.objects.filter(
            user_id=user_id, seq__gt=since, seq__lte=last_seq, type__in=PUSH_EVENT_TYPES
        )
        .order_by("seq")
        .only("id", "seq", "type", "time", "data", "context")[: limit + 1]
    )
    has_more = len(events) > limit
    events = events[:limit]
    messages: list[SyncMessage] = []
    prev_by_channel: dict[str, int | None] = {}
    for event in events:
        channel = CHANNEL_OF_TYPE[event.type]
        if channel not in prev_by_channel:  # at most one query per channel and page
            prev_by_channel[channel] = previous_push_seq(
                user_id=user_id, seq=event.seq, event_type=event.type
            )
        messages.append(sync_message(event, prev_seq=prev_by_channel[channel]))
        prev_by_channel[channel] = event.seq
    # Without more pages the client is caught up to the counter, even when the
    # last events were of types that are not pushed (reminders, logins).
    next_since = events[-1].seq if has_more else last_seq
    return SyncPage(since, False, messages, next_since, has_more, last_seq)
