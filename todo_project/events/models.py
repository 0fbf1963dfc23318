"""The outbox: every domain event, written in the transaction that caused it."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import models

from todo_project.timefmt import iso_utc


class UserEventCounter(models.Model):
    """Per-user event sequence.

    Incremented with ``INSERT … ON CONFLICT DO UPDATE`` inside the writing
    transaction, so the row stays locked until commit: each user's events are
    numbered contiguously in commit order, and a gap downstream means a loss.
    (A PostgreSQL SEQUENCE would hand out numbers that commit out of order.)
    ``user_id`` 0 numbers events that have no user (e.g. a failed login for an
    unknown email).
    """

    user_id = models.BigIntegerField(primary_key=True)
    last_seq = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"user {self.user_id}: {self.last_seq}"


class OutboxEvent(models.Model):
    """One CloudEvents 1.0 event. Its UUID is the CloudEvent ``id``."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # The partition key: the user the event belongs to (0 = none).
    user_id = models.BigIntegerField(db_index=False)
    seq = models.BigIntegerField()
    type = models.CharField(max_length=100)
    source = models.CharField(max_length=200)
    subject = models.CharField(max_length=200, blank=True)
    time = models.DateTimeField()
    data = models.JSONField()
    # Request context (client IP, user agent, request id) for API-originated events.
    context = models.JSONField(default=dict, blank=True)

    # Dispatch to in-process handlers (audit, recurrence, push, notifications).
    dispatched_at = models.DateTimeField(null=True, blank=True)
    dispatch_attempts = models.PositiveIntegerField(default=0)
    dispatch_failed_at = models.DateTimeField(null=True, blank=True)
    dispatch_error = models.TextField(blank=True)
    # When a failed dispatch may be tried again: the sweep honours it, so the
    # sweep never shortcuts the backoff between attempts.
    next_dispatch_at = models.DateTimeField(null=True, blank=True)

    # Relay to Kafka by the bridge.
    published_at = models.DateTimeField(null=True, blank=True)
    publish_attempts = models.PositiveIntegerField(default=0)
    publish_error = models.TextField(blank=True)
    dead_lettered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user_id", "seq"], name="outbox_user_seq_unique"),
        ]
        indexes = [
            # The bridge's work list: unpublished rows per user in order.
            models.Index(
                fields=["user_id", "seq"],
                name="outbox_unpublished_idx",
                condition=models.Q(published_at__isnull=True),
            ),
            # The dispatch sweep's work list.
            models.Index(
                fields=["time"],
                name="outbox_undispatched_idx",
                condition=models.Q(dispatched_at__isnull=True, dispatch_failed_at__isnull=True),
            ),
            # Retention purge by event time (resync reads use the (user_id, seq) unique index).
            models.Index(fields=["time"], name="outbox_time_idx"),
            # The operator's lists (admin filter, metrics): small by design.
            models.Index(
                fields=["time"],
                name="outbox_dispatch_failed_idx",
                condition=models.Q(dispatch_failed_at__isnull=False),
            ),
            models.Index(
                fields=["time"],
                name="outbox_dead_lettered_idx",
                condition=models.Q(dead_lettered_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} user={self.user_id} seq={self.seq}"

    def envelope(self) -> dict[str, Any]:
        """The CloudEvents 1.0 structured representation (JSON format).

        ``partitionkey`` and ``sequence`` are the CloudEvents partitioning and
        sequence extensions (both strings by their specs); ``subject`` is left
        out when empty because CloudEvents forbids an empty subject.
        """
        envelope: dict[str, Any] = {
            "specversion": "1.0",
            "id": str(self.id),
            "source": self.source,
            "type": self.type,
            "time": iso_utc(self.time),
            "datacontenttype": "application/json",
            "partitionkey": str(self.user_id),
            "sequence": str(self.seq),
            "data": self.data,
        }
        if self.subject:
            envelope["subject"] = self.subject
        return envelope


class ConsumedEvent(models.Model):
    """What a Kafka consumer (``manage.py consume_events``) has already handled.

    CloudEvents are unique by ``source`` + ``id``; delivery is at-least-once,
    so a consumer records each event here in the transaction of its effect
    and skips any it finds already recorded.
    """

    consumer = models.CharField(max_length=100)
    source = models.CharField(max_length=200)
    event_id = models.CharField(max_length=200)
    type = models.CharField(max_length=100)
    topic = models.CharField(max_length=200)
    consumed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["consumer", "source", "event_id"], name="consumed_event_unique"),
        ]


class HandlerRun(models.Model):
    """One handler's successful run for one event.

    Each handler runs in its own transaction that first inserts this row
    (``ON CONFLICT DO NOTHING``): a failing handler rolls back only its own
    work, a retry runs only the handlers that have not succeeded yet, and a
    concurrent dispatch of the same event waits on the row and then skips.
    Deleted with the outbox row by the retention purge (no FK, so the purge
    is one plain DELETE per table).
    """

    event_id = models.UUIDField()
    handler = models.CharField(max_length=200)
    completed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event_id", "handler"], name="handler_run_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.handler} for {self.event_id}"
