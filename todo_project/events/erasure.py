"""What account deletion does to the deleted user's outbox rows (docs/events.md "Deleted accounts").

- Rows that have done their job (dispatched and, with Kafka, published) are
  deleted now, with their handler runs: they were kept only for WebSocket
  resync and redispatch, which a deleted account needs no more.
- Rows not yet published stay, so the bridge still relays the user's
  history in order, ending with ``user.deleted`` (the tombstone consumers
  erase on); the retention purge deletes them once published.
- Rows not yet dispatched are marked dispatched without running their
  handlers: those would act on rows that are gone, and the audit writer
  would write back the entries the deletion erased.
"""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.utils import timezone

from todo_project.events.models import HandlerRun, OutboxEvent


def outbox_forget_user(*, user_id: int) -> int:
    """Apply the rules above to ``user_id``'s rows (caller's transaction). Returns rows deleted."""
    if not connection.in_atomic_block:
        raise RuntimeError("outbox_forget_user must be called inside transaction.atomic()")
    rows = OutboxEvent.objects.filter(user_id=user_id)
    rows.filter(dispatched_at__isnull=True).update(dispatched_at=timezone.now(), next_dispatch_at=None)
    done = rows.filter(dispatched_at__isnull=False)
    if settings.KAFKA_BOOTSTRAP_SERVERS:
        done = done.filter(published_at__isnull=False)
    HandlerRun.objects.filter(event_id__in=done.values("id")).delete()
    deleted, _ = done.delete()
    return deleted
