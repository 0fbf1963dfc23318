"""Celery tasks of reminders_app (thin; the work is in services)."""

from __future__ import annotations

from celery import shared_task

from reminders_app import services


@shared_task
def reminders_scan_task() -> int:
    """Fire due reminders (beat, every REMINDER_SCAN_SECONDS). Safe to run concurrently."""
    return services.reminders_fire_due()


@shared_task
def reminders_resync_user_task(user_id: int) -> int:
    """Re-apply the user's reminder rules to their open tasks with a future due time."""
    return services.reminders_resync_user(user_id=user_id)
