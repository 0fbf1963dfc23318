"""Celery tasks of the event backbone: dispatch, the dispatch sweep, the outbox purge."""

from __future__ import annotations

import logging

from celery import shared_task

from todo_project.events import dispatcher, services

logger = logging.getLogger(__name__)


@shared_task(bind=True, acks_late=True, max_retries=dispatcher.MAX_DISPATCH_ATTEMPTS)
def dispatch_event_task(self, event_id: str) -> None:
    """Run the handlers of one event; retried with the spec's backoff, then marked failed.

    Idempotent: a dispatched or failed event is skipped, so a redelivered
    message (``acks_late``) or a sweep racing this task runs handlers once.
    """
    outcome = dispatcher.dispatch_event(event_id=event_id)
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)


@shared_task
def dispatch_sweep_task() -> int:
    """Dispatch events whose on-commit enqueue never ran (see the beat schedule)."""
    return dispatcher.dispatch_sweep()


@shared_task
def outbox_purge_task() -> int:
    """Delete outbox rows past OUTBOX_RETENTION_HOURS (see ``services.outbox_purge``)."""
    return services.outbox_purge()
