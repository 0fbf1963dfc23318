"""The outbox: every domain event, written in the transaction that caused it."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


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
            # Retention purge of published rows.
            models.Index(fields=["published_at"], name="outbox_published_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.type} user={self.user_id} seq={self.seq}"

    def envelope(self) -> dict:
        """The CloudEvents 1.0 structured representation (JSON format)."""
        return {
            "specversion": "1.0",
            "id": str(self.id),
            "source": self.source,
            "type": self.type,
            "time": self.time.isoformat().replace("+00:00", "Z"),
            "subject": self.subject,
            "datacontenttype": "application/json",
            "partitionkey": str(self.user_id),
            "sequence": self.seq,
            "data": self.data,
        }


__all__ = ["OutboxEvent", "UserEventCounter", "settings"]
