"""Celery tasks of reminders_app (thin; the work is in services)."""

from __future__ import annotations

from celery import shared_task

from reminders_app import services


@shared_task
def reminders_scan_task() -> int:
    """Fire due reminders (beat, every REMINDER_SCAN_SECONDS). Safe to run concurrently."""
    return services.reminders_fire_due()
