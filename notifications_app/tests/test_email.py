"""Email through the sendgrid library against a local server speaking SendGrid's v3 contract."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
import time_machine

from notifications_app import selectors
from notifications_app.models import Notification, NotificationStatus
from notifications_app.services import notifications_sweep
from notifications_app.tasks import notification_deliver_task
from notifications_app.tests.conftest import NOW
from notifications_app.tests.servers import Reply
from reminders_app.tests.factories import events_of

pytestmark = pytest.mark.django_db


def _email(reminder) -> Notification:
    return Notification.objects.get(reminder=reminder, channel="email")


def test_it_sends_the_reminder_email_with_title_local_due_time_and_link(alice, sendgrid, fire_reminder):
    reminder = fire_reminder(alice, title="Pay rent")

    email = _email(reminder)
    assert email.status == NotificationStatus.SENT
    assert email.attempts == 1
    [request] = sendgrid.requests
    body = request.json()
    assert body["personalizations"][0]["to"][0]["email"] == "alice@example.com"
    assert body["subject"] == "Reminder: Pay rent"
    text = next(c["value"] for c in body["content"] if c["type"] == "text/plain")
    assert "Mon 02 Mar 2026, 12:00 CET" in text
    assert f"https://taskbeat.example/tasks/{reminder.task_ref}" in text
    assert [e["notification_id"] for e in events_of("notification.sent")] == [str(email.id)]


def test_it_sends_to_the_address_in_the_preferences_once_verified(
    alice, alice_client, sendgrid, fire_reminder
):
    from todo_project.accounts.services import email_verify
    from todo_project.accounts.tokens import email_verification_token_make

    alice_client.patch("/api/notifications/preferences", {"email_address": "a@work.example"}, format="json")
    email_verify(token=email_verification_token_make(user_id=alice.pk, email="a@work.example"))
    fire_reminder(alice)
    reminders = [r.json() for r in sendgrid.requests if r.json()["subject"] == "Reminder: Pay rent"]
    assert [r["personalizations"][0]["to"][0]["email"] for r in reminders] == ["a@work.example"]


@pytest.mark.parametrize("status", [429, 500, 503])
def test_it_retries_a_transient_failure_with_backoff(alice, sendgrid, fire_reminder, status):
    sendgrid.statuses = [status]
    reminder = fire_reminder(alice)

    email = _email(reminder)
    assert (email.status, email.attempts) == ("pending", 1)
    assert email.next_attempt_at == NOW + timedelta(seconds=1)
    assert f"HTTP {status}" in email.last_error

    # A retry before its time is a no-op; after it, delivered.
    with time_machine.travel(NOW + timedelta(milliseconds=500), tick=False):
        notification_deliver_task(str(email.id))
    assert len(sendgrid.requests) == 1
    with time_machine.travel(NOW + timedelta(seconds=2), tick=False):
        notification_deliver_task(str(email.id))
    email.refresh_from_db()
    assert (email.status, email.attempts, len(sendgrid.requests)) == ("sent", 2, 2)


@pytest.mark.parametrize("status", [429, 503])
def test_a_retry_waits_for_sendgrids_retry_after_when_it_is_longer(alice, sendgrid, fire_reminder, status):
    sendgrid.statuses = [Reply(status, {"Retry-After": "90"})]
    email = _email(fire_reminder(alice))
    assert (email.status, email.attempts) == ("pending", 1)
    assert email.next_attempt_at == NOW + timedelta(seconds=90)


def test_it_gives_up_after_the_retry_schedule_and_records_the_failure(alice, sendgrid, fire_reminder):
    sendgrid.default_status = 503
    reminder = fire_reminder(alice)
    email = _email(reminder)
    waits = []
    at = NOW
    for _ in range(4):
        email.refresh_from_db()
        waits.append((email.next_attempt_at - at).total_seconds())
        at = email.next_attempt_at
        with time_machine.travel(at, tick=False):
            notification_deliver_task(str(email.id))
    email.refresh_from_db()
    assert waits == [1, 5, 30, 300]
    assert (email.status, email.attempts, len(sendgrid.requests)) == ("failed", 5, 5)
    [failed] = events_of("notification.failed")
    assert failed["permanent"] is False
    assert failed["attempts"] == 5


@pytest.mark.parametrize("status", [400, 401, 413])
def test_it_does_not_retry_a_permanent_failure(alice, sendgrid, fire_reminder, status):
    sendgrid.statuses = [status]
    reminder = fire_reminder(alice)
    email = _email(reminder)
    assert (email.status, email.attempts) == ("failed", 1)
    with time_machine.travel(NOW + timedelta(minutes=10), tick=False):
        assert notifications_sweep() == 0
    assert len(sendgrid.requests) == 1
    assert events_of("notification.failed")[0]["permanent"] is True


def test_a_hung_api_times_out_and_counts_as_transient(alice, sendgrid, settings, fire_reminder):
    settings.SENDGRID_TIMEOUT_SECONDS = 0.3
    sendgrid.delay_seconds = 1.0
    reminder = fire_reminder(alice)
    email = _email(reminder)
    assert (email.status, email.attempts) == ("pending", 1)
    assert "timed out" in email.last_error.lower()


def test_without_an_api_key_email_is_off_with_one_log_line(alice, fire_reminder, caplog, monkeypatch):
    monkeypatch.setattr(selectors, "_email_disabled_logged", False)
    with caplog.at_level(logging.WARNING, logger="notifications_app.selectors"):
        fire_reminder(alice)
        fire_reminder(alice, at=NOW + timedelta(minutes=5))
    assert not Notification.objects.filter(channel="email").exists()
    assert [e["channels"] for e in events_of("reminder.triggered")] == [["in_app"], ["in_app"]]
    lines = [r.getMessage() for r in caplog.records if "SENDGRID_API_KEY" in r.getMessage()]
    assert lines == ["SENDGRID_API_KEY is not set: the email notification channel is disabled"]
