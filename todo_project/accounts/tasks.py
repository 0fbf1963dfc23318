"""Celery tasks for accounts."""

from __future__ import annotations

from celery import shared_task

from todo_project.accounts.services import tokens_purge_expired


@shared_task
def expired_tokens_purge_task() -> int:
    """Drop refresh-token rows past their expiry (beat, daily; harmless twice)."""
    return tokens_purge_expired()
