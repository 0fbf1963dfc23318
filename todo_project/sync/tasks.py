"""Celery tasks of the sync app."""

from __future__ import annotations

from celery import shared_task

from todo_project.sync import services


@shared_task
def idempotency_keys_purge_task() -> int:
    """Delete expired Idempotency-Key rows (hourly beat; a plain DELETE by age)."""
    return services.idempotency_keys_purge()
