"""Running handlers for outbox events, exactly as often as needed."""

from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from todo_project.events.models import OutboxEvent
from todo_project.events.registry import handlers_for

logger = logging.getLogger(__name__)

MAX_DISPATCH_ATTEMPTS = 6
# Backoff between attempts: 2, 4, 8, 16, 32 s … capped at 5 minutes.
BACKOFF_BASE_SECONDS = 2
BACKOFF_CAP_SECONDS = 300
# An event not dispatched this long after commit is assumed lost by the broker.
SWEEP_GRACE = timedelta(seconds=20)


@dataclass(frozen=True)
class DispatchOutcome:
    done: bool
    retry_in: int | None = None


def _backoff(attempt: int) -> int:
    return min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS**attempt)


def dispatch_event(*, event_id: str) -> DispatchOutcome:
    """Run every handler of the event; mark it dispatched when all succeed.

    The row is locked (``SKIP LOCKED``) while handlers run, so a concurrent
    dispatch of the same event (the sweep racing a late enqueue) skips it;
    handlers run inside that transaction, so their writes and the
    ``dispatched_at`` mark commit together.
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
            event.save(update_fields=["dispatched_at", "dispatch_attempts"])
            return DispatchOutcome(done=True)
    except Exception as exc:  # noqa: BLE001 - any handler failure is retried
        return _record_failure(event_id, exc)


def _record_failure(event_id: str, exc: Exception) -> DispatchOutcome:
    error = "".join(traceback.format_exception_only(type(exc), exc)).strip()[:2000]
    with transaction.atomic():
        event = OutboxEvent.objects.select_for_update().filter(id=event_id).first()
        if event is None:
            return DispatchOutcome(done=True)
        event.dispatch_attempts += 1
        event.dispatch_error = error
        fields = ["dispatch_attempts", "dispatch_error"]
        if event.dispatch_attempts >= MAX_DISPATCH_ATTEMPTS:
            event.dispatch_failed_at = timezone.now()
            fields.append("dispatch_failed_at")
            logger.error("event %s (%s) failed dispatch for good: %s", event.id, event.type, error)
        event.save(update_fields=fields)
        if event.dispatch_failed_at:
            return DispatchOutcome(done=False)
        logger.warning(
            "event %s (%s) dispatch attempt %d failed: %s",
            event.id,
            event.type,
            event.dispatch_attempts,
            error,
        )
        return DispatchOutcome(done=False, retry_in=_backoff(event.dispatch_attempts))


def dispatch_sweep(*, batch_size: int = 500) -> int:
    """Dispatch events committed a while ago but never dispatched. Returns how many."""
    cutoff = timezone.now() - SWEEP_GRACE
    ids = list(
        OutboxEvent.objects.filter(
            dispatched_at__isnull=True, dispatch_failed_at__isnull=True, time__lt=cutoff
        )
        .order_by("user_id", "seq")
        .values_list("id", flat=True)[:batch_size]
    )
    for event_id in ids:
        dispatch_event(event_id=str(event_id))
    return len(ids)
