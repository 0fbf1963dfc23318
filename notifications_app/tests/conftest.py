from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from notifications_app.tests.servers import API_KEY, serve
from reminders_app.models import Reminder

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _no_email_by_default(settings):
    settings.SENDGRID_API_KEY = None
    settings.PUBLIC_BASE_URL = "https://taskbeat.example"


@pytest.fixture
def sendgrid(settings):
    with serve("sendgrid") as server:
        settings.SENDGRID_API_KEY = API_KEY
        settings.SENDGRID_API_HOST = server.url
        settings.SENDGRID_TIMEOUT_SECONDS = 2.0
        yield server


@pytest.fixture
def webhook_receiver(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    settings.WEBHOOK_TIMEOUT_SECONDS = 2.0
    with serve("webhook") as server:
        yield server


@pytest.fixture
def fire_reminder(on_commit) -> Callable[..., Reminder]:
    """Create a task with one reminder due at ``at`` and run the scan then (with handlers)."""
    from reminders_app.services import reminder_create, reminders_fire_due
    from reminders_app.tests.factories import create_task

    def fire(user, *, at: datetime = NOW, title: str = "Pay rent", channels=None, due_at=None) -> Reminder:
        with time_machine.travel(at - timedelta(hours=1), tick=False):
            task = create_task(user, title=title, due_at=due_at or at + timedelta(hours=1))
            reminder = reminder_create(user_id=user.id, task_id=task.id, remind_at=at, channels=channels)
        with time_machine.travel(at, tick=False), on_commit():
            reminders_fire_due()
        reminder.refresh_from_db()
        return reminder

    return fire
