"""Running handlers for outbox events, exactly as often as needed."""

from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from todo_project.events.models import OutboxEvent
from todo_project.events.registry import handlers_for

logger = logging.getLogger(__name__)

# The spec's retry policy (§9.3): attempt 1 at once, then after 1 s, 5 s, 30 s
# and 5 min; after the fifth failure the event is marked failed for an
# operator (admin action "re-dispatch") instead of being retried forever.
RETRY_DELAYS_SECONDS: tuple[int, ...] = (1, 5, 30, 300)
MAX_DISPATCH_ATTEMPTS = len(RETRY_DELAYS_SECONDS) + 1
# An event not dispatched this long after it was recorded is assumed to have
# lost its enqueue (Redis down at commit, worker killed mid-task).
SWEEP_GRACE = timedelta(seconds=20)


@dataclass(frozen=True)
class DispatchOutcome:
    done: bool
    retry_in: int | None = None


def retry_delay(attempts: int) -> int:
    """Seconds to wait after the ``attempts``-th failed attempt."""
    return RETRY_DELAYS_SECONDS[min(attempts, len(RETRY_DELAYS_SECONDS)) - 1]


def dispatch_event(*, event_id: str) -> DispatchOutcome:
    """Run every handler of the event; mark it dispatched when all succeed.

    The row is locked (``SKIP LOCKED``) while handlers run, so a concurrent
    dispatch of the same event (the sweep racing a late enqueue) skips it;
    handlers run inside that transaction, so their writes and the
    ``dispatched_at`` mark commit together, and a failing handler rolls back
    the others' writes (they run again on the retry: handlers are idempotent).
    """
    try:
        with transaction.atomic():
            event = (
                OutboxEvent.objects.select_for_update(skip_locked=True)
                .filter(id=event_id, dispatched_at__isnull=True, dispatch_failed_at__isnull=True)
                .first()
            )
            if event is None:
                return DispatchOutcome(done=True)
            for handler in handlers_for(event.type):
                handler(event)
            event.dispatched_at = timezone.now()
            event.dispatch_attempts += 1
            event.next_dispatch_at = None
            event.save(update_fields=["dispatched_at", "dispatch_attempts", "next_dispatch_at"])
            return DispatchOutcome(done=True)
    except Exception as exc:  # noqa: BLE001 - any handler failure is retried, then recorded
        return _record_failure(event_id, exc)


def _record_failure(event_id: str, exc: Exception) -> DispatchOutcome:
    error = "".join(traceback.format_exception_only(type(exc), exc)).strip()[:2000]
    with transaction.atomic():
        event = (
            OutboxEvent.objects.select_for_update()
            .filter(id=event_id, dispatched_at__isnull=True, dispatch_failed_at__isnull=True)
            .first()
        )
        if event is None:
            return DispatchOutcome(done=True)
        now = timezone.now()
        event.dispatch_attempts += 1
        event.dispatch_error = error
        if event.dispatch_attempts >= MAX_DISPATCH_ATTEMPTS:
            event.dispatch_failed_at = now
            event.next_dispatch_at = None
            logger.error("event %s (%s) failed dispatch for good: %s", event.id, event.type, error)
        else:
            event.next_dispatch_at = now + timedelta(seconds=retry_delay(event.dispatch_attempts))
            logger.warning(
                "event %s (%s) dispatch attempt %d failed: %s",
                event.id,
                event.type,
                event.dispatch_attempts,
                error,
            )
        event.save(
            update_fields=["dispatch_attempts", "dispatch_error", "dispatch_failed_at", "next_dispatch_at"]
        )
        if event.dispatch_failed_at:
            return DispatchOutcome(done=False)
        return DispatchOutcome(done=False, retry_in=retry_delay(event.dispatch_attempts))


def dispatch_sweep(*, batch_size: int = 500) -> int:
    """Dispatch events recorded a while ago but never dispatched. Returns how many were tried.

    Events waiting out a retry delay are left alone until it has passed, so
    the sweep is also the safety net for a retry whose Celery message was lost.
    """
    now = timezone.now()
    ids = list(
        OutboxEvent.objects.filter(
            dispatched_at__isnull=True, dispatch_failed_at__isnull=True, time__lt=now - SWEEP_GRACE
        )
        .filter(Q(next_dispatch_at__isnull=True) | Q(next_dispatch_at__lte=now))
        .order_by("time")
        .values_list("id", flat=True)[:batch_size]
    )
    for event_id in ids:
        dispatch_event(event_id=str(event_id))
    return len(ids)
