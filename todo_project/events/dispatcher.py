"""Running handlers for outbox events, exactly as often as needed.

Each handler of an event runs in its own transaction together with a
``HandlerRun`` claim row, so handlers are isolated from each other: one that
fails (a webhook endpoint down) neither rolls back nor repeats the others (the
audit entry, the socket push). The event is marked dispatched once every
handler has a run. Retries are made by the sweep, which picks up events whose
``next_dispatch_at`` has passed: one mechanism for a lost enqueue, a killed
worker and a failed handler alike.

Every dispatch first *leases* its events (rows taken with SKIP LOCKED,
``next_dispatch_at`` moved ahead), whether it is the on-commit task for one
transaction's events, a worker draining whatever else is ready, or the sweep;
so two of them never work on one event at once, and one that dies leaves its
lease to run out. Events are dispatched in batches: each handler sees the
batch's events in recorded order (per user, by sequence), and a handler
registered with ``batch=True`` gets all of them in one transaction. Under a
burst of small transactions the first worker to run drains the backlog in
batches, so per-event overhead does not cap throughput.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from todo_project.events.models import OutboxEvent
from todo_project.events.registry import Handler, handler_name, handlers_for, takes_batch, wants
from todo_project.faultpoints import fault_point
from todo_project.logs import log_context

logger = logging.getLogger(__name__)

# The spec's retry policy (§9.3): attempt 1 at once, then after 1 s, 5 s, 30 s
# and 5 min (EVENTS_RETRY_SECONDS; made by the sweep, so to its 5 s
# granularity); after the fifth failure the event is marked failed for an
# operator (admin "re-dispatch").


def retry_delays() -> tuple[int, ...]:
    return tuple(settings.EVENTS_RETRY_SECONDS)


def max_dispatch_attempts() -> int:
    return len(retry_delays()) + 1


# An event not dispatched EVENTS_SWEEP_GRACE_SECONDS after it was recorded is
# assumed to have lost its enqueue (Redis down at commit, worker killed
# mid-task); a dispatch owns the events it leased for
# EVENTS_DISPATCH_LEASE_SECONDS before another may take them (settings.py).


def sweep_grace() -> timedelta:
    return timedelta(seconds=settings.EVENTS_SWEEP_GRACE_SECONDS)


def dispatch_lease() -> timedelta:
    return timedelta(seconds=settings.EVENTS_DISPATCH_LEASE_SECONDS)


# Events per lease: one batch handler call, one "dispatched" update.
BATCH_SIZE = 500
# A worker draining ready events stops after this many batches so one task
# never runs unbounded; what is left is taken by the next task or the sweep.
DRAIN_MAX_BATCHES = 20

_CLAIM_SQL = """
    INSERT INTO events_handlerrun (event_id, handler, completed_at) VALUES (%s, %s, now())
    ON CONFLICT (event_id, handler) DO NOTHING
    RETURNING id
"""

_CLAIM_MANY_SQL = """
    INSERT INTO events_handlerrun (event_id, handler, completed_at)
    SELECT event_id, %s, now() FROM unnest(%s::uuid[]) AS claimed(event_id)
    ON CONFLICT (event_id, handler) DO NOTHING
    RETURNING event_id
"""


@dataclass(frozen=True)
class DispatchOutcome:
    done: bool
    retry_in: int | None = None


def retry_delay(attempts: int) -> int:
    """Seconds to wait after the ``attempts``-th failed attempt."""
    delays = retry_delays()
    return delays[min(attempts, len(delays)) - 1]


def _run_handler(event: OutboxEvent, handler: Handler) -> None:
    """Run one handler for one event in its own transaction, unless it already ran.

    The claim insert blocks while a concurrent dispatch runs the same handler
    and then finds the row: the handler runs once per event.
    """
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(_CLAIM_SQL, [event.id, handler_name(handler)])
            claimed = cursor.fetchone() is not None
        if claimed:
            # Log lines of the handler carry the id of the request that recorded the event.
            with log_context((event.context or {}).get("request_id")):
                handler([event] if takes_batch(handler) else event)


def _run_batch_handler(events: list[OutboxEvent], handler: Handler) -> None:
    """Run a batch handler once for the events it has not seen, in one transaction."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(_CLAIM_MANY_SQL, [handler_name(handler), [event.id for event in events]])
            claimed = {row[0] for row in cursor.fetchall()}
        todo = [event for event in events if event.id in claimed]
        if todo:
            handler(todo)


def _failure_text(handler: Handler, exc: Exception) -> str:
    error = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return f"{handler_name(handler)}: {error}"


def _dispatch_leased(events: list[OutboxEvent]) -> dict[str, DispatchOutcome]:
    """Run every handler of these leased events; mark those whose handlers all ran."""
    by_handler: dict[Handler, list[OutboxEvent]] = {}
    for event in events:
        for handler in handlers_for(event.type):
            if wants(handler, event):
                by_handler.setdefault(handler, []).append(event)
    failures: dict[str, list[str]] = {}
    for handler, handled in by_handler.items():
        if takes_batch(handler) and len(handled) > 1:
            try:
                _run_batch_handler(handled, handler)
                continue
            except Exception:  # noqa: BLE001 - retried one event at a time below
                logger.warning(
                    "batch handler %s failed for %d events; running them one by one",
                    handler_name(handler),
                    len(handled),
                    exc_info=True,
                )
        for event in handled:
            try:
                _run_handler(event, handler)
            except Exception as exc:  # noqa: BLE001 - any handler failure is retried, then recorded
                failures.setdefault(str(event.id), []).append(_failure_text(handler, exc))
                logger.warning(
                    "handler %s failed for event %s (%s)",
                    handler_name(handler),
                    event.id,
                    event.type,
                    exc_info=True,
                )
    fault_point("events.after_handlers")
    done = [event.id for event in events if str(event.id) not in failures]
    OutboxEvent.objects.filter(id__in=done, dispatched_at__isnull=True).update(
        dispatched_at=timezone.now(), next_dispatch_at=None, dispatch_attempts=F("dispatch_attempts") + 1
    )
    outcomes = {str(event_id): DispatchOutcome(done=True) for event_id in done}
    for event_id, errors in failures.items():
        outcomes[event_id] = _record_failure(event_id, "\n".join(errors)[:4000])
    return outcomes


def _lease(condition: Q, *, limit: int = BATCH_SIZE) -> list[OutboxEvent]:
    """Take up to ``limit`` undispatched events matching ``condition`` for this dispatch.

    Rows another dispatch holds are skipped (SKIP LOCKED) and so are rows it
    leased earlier (their ``next_dispatch_at`` is ahead), so the caller owns
    what it gets until the lease runs out. One statement: the claim is the
    UPDATE's subquery.
    """
    candidates = (
        OutboxEvent.objects.select_for_update(skip_locked=True)
        .filter(dispatched_at__isnull=True, dispatch_failed_at__isnull=True)
        .filter(condition)
        .order_by("time", "user_id", "seq")
        .values("id")[:limit]
    )
    table = connection.ops.quote_name(OutboxEvent._meta.db_table)
    with transaction.atomic():
        select_sql, params = candidates.query.sql_with_params()
        events = list(
            OutboxEvent.objects.raw(
                # Table name from the model, subquery compiled by Django with its params kept apart.
                f"UPDATE {table} SET next_dispatch_at = %s WHERE id IN ({select_sql}) RETURNING *",  # noqa: S608
                [timezone.now() + dispatch_lease(), *params],
            )
        )
    if events:
        fault_point("events.after_lease")
    # Oldest first was for choosing the batch; within it, each user's events
    # go by sequence (the recording hosts' clocks may disagree).
    return sorted(events, key=lambda event: (event.user_id, event.seq))


def _due(now: datetime) -> Q:
    """Not leased and not waiting out a retry delay."""
    return Q(next_dispatch_at__isnull=True) | Q(next_dispatch_at__lte=now)


def dispatch_event(*, event_id: str) -> DispatchOutcome:
    """Run every handler of the event that has not run yet; mark it dispatched when all have."""
    outcomes = _dispatch_leased(_lease(Q(id=event_id) & _due(timezone.now())))
    return outcomes.get(str(event_id), DispatchOutcome(done=True))


def dispatch_events(*, event_ids: Iterable[str]) -> None:
    """Dispatch the events of one committed transaction, in the order recorded."""
    ids = list(event_ids)
    for start in range(0, len(ids), BATCH_SIZE):
        chunk = ids[start : start + BATCH_SIZE]
        _dispatch_leased(_lease(Q(id__in=chunk) & _due(timezone.now())))


def dispatch_ready(*, max_batches: int = DRAIN_MAX_BATCHES) -> int:
    """Drain events that are ready now (committed, not leased, not waiting out a
    retry), in batches; returns how many were taken.

    Called by the dispatch task after its own events: under a burst of small
    transactions their own tasks then find their events done and return.
    """
    taken = 0
    for _ in range(max_batches):
        events = _lease(Q(next_dispatch_at__isnull=True))
        if not events:
            break
        taken += len(events)
        _dispatch_leased(events)
        if len(events) < BATCH_SIZE:
            break
    return taken


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
        if event.dispatch_attempts >= max_dispatch_attempts():
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


def dispatch_sweep(*, batch_size: int = BATCH_SIZE) -> int:
    """Dispatch events recorded a while ago but never dispatched. Returns how many were tried.

    Events waiting out a retry delay are left alone until it has passed, so
    the sweep makes every retry as well as picking up lost enqueues and
    expired leases. Overlapping sweeps split the work (see ``_lease``)
    instead of walking the same events in lockstep and counting one failure
    twice.
    """
    now = timezone.now()
    events = _lease(
        Q(next_dispatch_at__isnull=True, time__lt=now - sweep_grace()) | Q(next_dispatch_at__lte=now),
        limit=batch_size,
    )
    _dispatch_leased(events)
    return len(events)
