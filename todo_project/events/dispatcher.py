"""Running handlers for outbox events, exactly as often as needed.

Each handler of an event runs in its own transaction together with a
``HandlerRun`` claim row, so handlers are isolated from each other: one that
fails (a webhook endpoint down) neither rolls back nor repeats the others (the
audit entry, the socket push). The event is marked dispatched once every
handler has a run. Retries are made by the sweep, which picks up events whose
``next_dispatch_at`` has passed: one mechanism for a lost enqueue, a killed
worker and a failed handler alike.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from todo_project.events.models import OutboxEvent
from todo_project.events.registry import Handler, handler_name, handlers_for

logger = logging.getLogger(__name__)

# The spec's retry policy (§9.3): attempt 1 at once, then after 1 s, 5 s, 30 s
# and 5 min (made by the sweep, so to its 5 s granularity); after the fifth
# failure the event is marked failed for an operator (admin "re-dispatch").
RETRY_DELAYS_SECONDS: tuple[int, ...] = (1, 5, 30, 300)
MAX_DISPATCH_ATTEMPTS = len(RETRY_DELAYS_SECONDS) + 1
# An event not dispatched this long after it was recorded is assumed to have
# lost its enqueue (Redis down at commit, worker killed mid-task).
SWEEP_GRACE = timedelta(seconds=20)
# How long a sweep owns the events it took before another may take them.
SWEEP_LEASE = timedelta(seconds=120)

_CLAIM_SQL = """
    INSERT INTO events_handlerrun (event_id, handler, completed_at) VALUES (%s, %s, now())
    ON CONFLICT (event_id, handler) DO NOTHING
    RETURNING id
"""


@dataclass(frozen=True)
class DispatchOutcome:
    done: bool
    retry_in: int | None = None


def retry_delay(attempts: int) -> int:
    """Seconds to wait after the ``attempts``-th failed attempt."""
    return RETRY_DELAYS_SECONDS[min(attempts, len(RETRY_DELAYS_SECONDS)) - 1]


def _run_handler(event: OutboxEvent, handler: Handler) -> None:
    """Run one handler in its own transaction, unless it already ran.

    The claim insert blocks while a concurrent dispatch runs the same handler
    and then finds the row: the handler runs once per event.
    """
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(_CLAIM_SQL, [event.id, handler_name(handler)])
            claimed = cursor.fetchone() is not None
        if claimed:
            handler(event)


def dispatch_event(*, event_id: str) -> DispatchOutcome:
    """Run every handler of the event that has not run yet; mark it dispatched when all have."""
    event = OutboxEvent.objects.filter(
        id=event_id, dispatched_at__isnull=True, dispatch_failed_at__isnull=True
    ).first()
    if event is None:
        return DispatchOutcome(done=True)
    failures: list[str] = []
    for handler in handlers_for(event.type):
        try:
            _run_handler(event, handler)
        except Exception as exc:  # noqa: BLE001 - any handler failure is retried, then recorded
            error = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            failures.append(f"{handler_name(handler)}: {error}")
            logger.warning(
                "handler %s failed for event %s (%s)",
                handler_name(handler),
                event.id,
                event.type,
                exc_info=True,
            )
    if failures:
        return _record_failure(event_id, "\n".join(failures)[:4000])
    OutboxEvent.objects.filter(id=event.id, dispatched_at__isnull=True).update(
        dispatched_at=timezone.now(), next_dispatch_at=None, dispatch_attempts=F("dispatch_attempts") + 1
    )
    return DispatchOutcome(done=True)


def dispatch_events(*, event_ids: Iterable[str]) -> None:
    """Dispatch the events of one committed transaction, in the order recorded."""
    for event_id in event_ids:
        dispatch_event(event_id=event_id)


def _record_failure(event_id: str, error: str) -> DispatchOutcome:
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
        event.save(
            update_fields=["dispatch_attempts", "dispatch_error", "dispatch_failed_at", "next_dispatch_at"]
        )
        if event.dispatch_failed_at:
            return DispatchOutcome(done=False)
        return DispatchOutcome(done=False, retry_in=retry_delay(event.dispatch_attempts))


def dispatch_sweep(*, batch_size: int = 500) -> int:
    """Dispatch events recorded a while ago but never dispatched. Returns how many were tried.

    Events waiting out a retry delay are left alone until it has passed, so
    the sweep makes every retry as well as picking up lost enqueues. Each run
    first leases its batch (``next_dispatch_at`` moved ahead, rows taken with
    SKIP LOCKED), so overlapping sweeps split the work instead of walking the
    same events in lockstep and counting one failure twice; a sweep that dies
    leaves its lease to expire and the events are picked up again.
    """
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            OutboxEvent.objects.select_for_update(skip_locked=True)
            .filter(dispatched_at__isnull=True, dispatch_failed_at__isnull=True)
            .filter(
                Q(next_dispatch_at__isnull=True, time__lt=now - SWEEP_GRACE) | Q(next_dispatch_at__lte=now)
            )
            .order_by("time")
            .values_list("id", flat=True)[:batch_size]
        )
        OutboxEvent.objects.filter(id__in=ids).update(next_dispatch_at=now + SWEEP_LEASE)
    for event_id in ids:
        dispatch_event(event_id=str(event_id))
    return len(ids)
