"""Celery tasks that dispatch outbox events to their handlers."""

from __future__ import annotations

import logging

from celery import shared_task

from todo_project.events import dispatcher

logger = logging.getLogger(__name__)


@shared_task(bind=True, acks_late=True, max_retries=dispatcher.MAX_DISPATCH_ATTEMPTS)
def dispatch_event_task(self, event_id: str) -> None:
    """Run the handlers of one event; retried with backoff, then marked failed."""
    outcome = dispatcher.dispatch_event(event_id=event_id)
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)


@shared_task
def dispatch_sweep_task() -> int:
    """Dispatch events whose on-commit enqueue never ran (see the beat schedule)."""
    return dispatcher.dispatch_sweep()
