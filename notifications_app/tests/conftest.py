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

    def fire(
        user, *, at: datetime = NOW, title: str = "Pay rent", channels=None, due_at=None, **task_fields
    ) -> Reminder:
        with time_machine.travel(at - timedelta(hours=1), tick=False):
            task = create_task(user, title=title, due_at=due_at or at + timedelta(hours=1), **task_fields)
            reminder = reminder_create(user_id=user.id, task_id=task.id, remind_at=at, channels=channels)
        with time_machine.travel(at, tick=False), on_commit():
            reminders_fire_due()
        reminder.refresh_from_db()
        return reminder

    return fire


@pytest.fixture
def push_service(settings, monkeypatch):
    """A local push service over TLS, and this server configured with a fresh VAPID key for it."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from notifications_app.tests.push_service import serve_push
    from todo_project.keys import vapid_public_key

    key = ec.generate_private_key(ec.SECP256R1())

    settings.WEB_PUSH_ENABLED = True
    settings.VAPID_PRIVATE_KEY = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    settings.VAPID_PUBLIC_KEY = vapid_public_key(key)
    settings.VAPID_SUBJECT = "mailto:ops@taskbeat.example"
    settings.WEB_PUSH_TIMEOUT_SECONDS = 2.0
    # The service listens on 127.0.0.1; the SSRF guard would refuse it otherwise.
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    with serve_push() as service:
        service.expected_vapid_key = settings.VAPID_PUBLIC_KEY
        # The worker verifies the service's certificate against this CA only.
        monkeypatch.setenv("SSL_CERT_FILE", service.ca_file)
        yield service
