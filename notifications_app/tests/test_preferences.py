"""Notification preferences, secrets shown once, quiet hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from notifications_app.models import Notification
from notifications_app.services import notifications_sweep

pytestmark = pytest.mark.django_db


def test_it_answers_the_defaults(alice_client, settings):
    settings.SENDGRID_API_KEY = "SG.test"
    response = alice_client.get("/api/notifications/preferences")
    assert response.status_code == 200
    body = response.json()
    channels = body.pop("channels")
    assert channels["email"] == {
        "enabled": True,
        "available": True,
        "delivering": True,
        "unavailable_reason": None,
    }
    assert body == {
        "in_app_enabled": True,
        "email_enabled": True,
        "email_address": "alice@example.com",
        "email_address_verified": True,
        "webhook_enabled": False,
        "webhook_url": "",
        "webhook_secret_set": False,
        "webhook_disabled_at": None,
        "webhook_disabled_reason": "",
        "push_enabled": True,
        "quiet_hours_start": None,
        "quiet_hours_end": None,
        "default_reminder_minutes": None,
        "priority_boost_enabled": True,
    }


def test_it_says_email_cannot_deliver_without_a_sendgrid_key(alice_client, settings):
    settings.SENDGRID_API_KEY = ""

    channels = alice_client.get("/api/notifications/preferences").json()["channels"]

    assert channels["email"]["enabled"] is True  # the user's switch is kept
    assert channels["email"]["available"] is False
    assert channels["email"]["delivering"] is False
    assert "SendGrid" in channels["email"]["unavailable_reason"]
    assert channels["in_app"]["delivering"] is True
    assert channels["webhook"] == {
        "enabled": False,
        "available": False,
        "delivering": False,
        "unavailable_reason": "No webhook URL and secret configured.",
    }


def test_it_updates_preferences(alice_client):
    response = alice_client.patch(
        "/api/notifications/preferences",
        {
            "email_enabled": False,
            "quiet_hours_start": "22:00",
            "quiet_hours_end": "07:00",
            "default_reminder_minutes": 30,
            "priority_boost_enabled": False,
        },
        format="json",
    )
    assert response.status_code == 200
    body = alice_client.get("/api/notifications/preferences").json()
    assert body["email_enabled"] is False
    assert (body["quiet_hours_start"], body["quiet_hours_end"]) == ("22:00:00", "07:00:00")
    assert body["default_reminder_minutes"] == 30
    assert body["priority_boost_enabled"] is False


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"quiet_hours_start": "22:00"}, "quiet_hours_end"),
        ({"email_address": "not-an-email"}, "email_address"),
        ({"default_reminder_minutes": 0}, "default_reminder_minutes"),
        ({"webhook_enabled": True}, "webhook_enabled"),
        ({"quiet_hours_end": "25:00"}, "quiet_hours_end"),
    ],
)
def test_it_refuses_bad_preferences_naming_the_field(alice_client, payload, field):
    response = alice_client.patch("/api/notifications/preferences", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_the_webhook_secret_is_shown_once_and_can_be_rotated(alice_client, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    first = alice_client.patch(
        "/api/notifications/preferences", {"webhook_url": "http://127.0.0.1:9/hook"}, format="json"
    ).json()
    again = alice_client.patch(
        "/api/notifications/preferences", {"webhook_url": "http://127.0.0.1:9/other"}, format="json"
    ).json()
    shown = alice_client.get("/api/notifications/preferences").json()
    rotated = alice_client.post("/api/notifications/preferences/webhook/rotate-secret").json()

    assert first["webhook_secret"].startswith("whsec_")
    assert first["webhook_enabled"] is True
    assert "webhook_secret" not in again
    assert "webhook_secret" not in shown
    assert shown["webhook_secret_set"] is True
    assert rotated["webhook_secret"].startswith("whsec_")
    assert rotated["webhook_secret"] != first["webhook_secret"]


def test_rotating_without_a_webhook_is_refused(alice_client):
    response = alice_client.post("/api/notifications/preferences/webhook/rotate-secret")
    assert response.status_code == 400
    assert "webhook_url" in response.json()["error"]["fields"]


def test_quiet_hours_hold_email_until_they_end_but_not_in_app(alice, alice_client, sendgrid, fire_reminder):
    # Alice is in Berlin (UTC+1): quiet 22:00–07:00 local is 21:00–06:00 UTC.
    alice_client.patch(
        "/api/notifications/preferences",
        {"quiet_hours_start": "22:00", "quiet_hours_end": "07:00"},
        format="json",
    )
    at = datetime(2026, 3, 2, 22, 30, tzinfo=UTC)  # 23:30 in Berlin
    reminder = fire_reminder(alice, at=at)

    in_app = Notification.objects.get(reminder=reminder, channel="in_app")
    email = Notification.objects.get(reminder=reminder, channel="email")
    assert in_app.status == "sent"
    assert email.status == "pending"
    assert email.next_attempt_at == datetime(2026, 3, 3, 6, 0, tzinfo=UTC)
    assert sendgrid.requests == []

    with time_machine.travel(datetime(2026, 3, 3, 5, 59, tzinfo=UTC), tick=False):
        assert notifications_sweep() == 0
    with time_machine.travel(datetime(2026, 3, 3, 6, 0, 10, tzinfo=UTC), tick=False):
        assert notifications_sweep() == 1
    email.refresh_from_db()
    assert email.status == "sent"
    assert len(sendgrid.requests) == 1


def test_outside_quiet_hours_email_goes_at_once(alice, alice_client, sendgrid, fire_reminder):
    alice_client.patch(
        "/api/notifications/preferences",
        {"quiet_hours_start": "22:00", "quiet_hours_end": "07:00"},
        format="json",
    )
    reminder = fire_reminder(alice, at=datetime(2026, 3, 2, 12, 0, tzinfo=UTC) + timedelta(minutes=1))
    assert Notification.objects.get(reminder=reminder, channel="email").status == "sent"


def test_a_retry_that_would_land_in_quiet_hours_waits_for_their_end(
    alice, alice_client, sendgrid, fire_reminder
):
    # given quiet hours from 22:00 Berlin (21:00 UTC), and an email that fails
    # transiently seconds before they start
    alice_client.patch(
        "/api/notifications/preferences",
        {"quiet_hours_start": "22:00", "quiet_hours_end": "07:00"},
        format="json",
    )
    sendgrid.statuses = [503]
    at = datetime(2026, 3, 2, 20, 59, 59, 500000, tzinfo=UTC)

    # when the reminder fires and the first attempt fails
    reminder = fire_reminder(alice, at=at)

    # then the 1 s retry is held until quiet hours end (07:00 Berlin = 06:00 UTC)
    email = Notification.objects.get(reminder=reminder, channel="email")
    assert (email.status, email.attempts) == ("pending", 1)
    assert email.next_attempt_at == datetime(2026, 3, 3, 6, 0, tzinfo=UTC)
