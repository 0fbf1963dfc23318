"""Celery tasks of reminders_app (thin; the work is in services)."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from reminders_app import services


@shared_task
def reminders_scan_task(helper: bool = False) -> int:
    """Fire due reminders (beat, every REMINDER_SCAN_SECONDS). Safe to run concurrently.

    The beat's run (``helper`` False) that finds a full first batch enqueues
    ``REMINDER_SCAN_CLAIMERS - 1`` helpers, which drain in parallel with it
    (disjoint batches: SKIP LOCKED) and enqueue no one.
    """
    extra = 0 if helper else settings.REMINDER_SCAN_CLAIMERS - 1

    def on_full_batch() -> None:
        for _ in range(extra):
            reminders_scan_task.apply_async(kwargs={"helper": True}, expires=settings.REMINDER_SCAN_SECONDS)

    return services.reminders_fire_due(on_full_batch=on_full_batch if extra else None)
