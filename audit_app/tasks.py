"""Celery tasks for the audit log."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from audit_app.services import audit_purge


@shared_task
def audit_purge_task() -> int:
    """Delete entries older than AUDIT_RETENTION_DAYS (beat; harmless twice)."""
    return audit_purge(older_than=timezone.now() - timedelta(days=settings.AUDIT_RETENTION_DAYS))
