"""Celery tasks of the recurrence area: thin wrappers over recurrence_services."""

from __future__ import annotations

from celery import shared_task

from tasks_app.recurrence import services as recurrence_services


@shared_task
def series_repair_task() -> int:
    """Hourly sweep (CELERY_BEAT_SCHEDULE "recurrence-repair"): active series with no
    open occurrence get their next one; look-ahead series are filled. Harmless twice."""
    return recurrence_services.series_repair()
