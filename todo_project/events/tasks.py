"""Celery tasks of the event backbone: dispatch, the dispatch sweep, the outbox purge."""

from __future__ import annotations

import logging

from celery import shared_task

from todo_project.events import dispatcher, services

logger = logging.getLogger(__name__)


@shared_task(acks_late=True)
def dispatch_events_task(event_ids: list[str]) -> None:
    """Run the handlers of the events one transaction committed, in order, then
    drain whatever else is ready (see ``dispatcher.dispatch_ready``).

    Idempotent (``acks_late``): handlers that already ran for an event are
    skipped, so a redelivered message runs nothing twice. A failed handler is
    recorded on the event and retried by the sweep after its backoff.
    """
    dispatcher.dispatch_events(event_ids=event_ids)
    dispatcher.dispatch_ready()


@shared_task
def dispatch_sweep_task() -> int:
    """Dispatch events whose on-commit enqueue never ran (see the beat schedule)."""
    return dispatcher.dispatch_sweep()


@shared_task
def outbox_purge_task() -> int:
    """Delete outbox rows past OUTBOX_RETENTION_HOURS (see ``services.outbox_purge``)."""
    return services.outbox_purge()
