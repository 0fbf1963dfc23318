"""In-app notifications: created from reminder.triggered, listed, read."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from notifications_app.models import Notification
from notifications_app.services import notifications_create_for_trigger
from notifications_app.tests.conftest import NOW
from reminders_app.tests.factories import events_of

pytestmark = pytest.mark.django_db


def test_a_triggered_reminder_creates_one_in_app_notification_and_its_event(
    alice, alice_client, fire_reminder
):
    reminder = fire_reminder(alice, title="Pay rent")

    listed = alice_client.get("/api/notifications").json()
    [item] = listed["results"]
    assert item["title"] == "Reminder: Pay rent"
    assert item["reminder_id"] == str(reminder.id)
    assert item["channel"] == "in_app"
    assert item["status"] == "sent"
    assert item["is_read"] is False
    # Berlin is UTC+1: due 11:00 UTC shows as 12:00 CET.
    assert "12:00 CET" in item["body"]
    [created] = events_of("notification.created")
    assert created["notification_id"] == item["id"]
    assert created["title"] == item["title"]
    # The push payload survives a JSON round trip unchanged.
    assert json.loads(json.dumps(created)) == created


def test_the_reminder_triggered_handler_is_idempotent(alice, fire_reminder):
    fire_reminder(alice)
    [event] = events_of("reminder.triggered")
    notifications_create_for_trigger(data=event)
    notifications_create_for_trigger(data=event)
    assert Notification.objects.count() == 1
    assert len(events_of("notification.created")) == 1


def test_a_snoozed_reminder_that_fires_again_notifies_again(alice, alice_client, fire_reminder, on_commit):
    import time_machine

    from reminders_app.services import reminder_snooze, reminders_fire_due

    reminder = fire_reminder(alice)
    with time_machine.travel(NOW + timedelta(minutes=1), tick=False):
        reminder_snooze(user_id=alice.id, reminder_id=reminder.id, minutes=10)
    with time_machine.travel(NOW + timedelta(minutes=11), tick=False), on_commit():
        assert reminders_fire_due() == 1
    assert Notification.objects.filter(reminder=reminder).count() == 2


def test_it_filters_counts_and_marks_notifications_read(alice, alice_client, bob_client, fire_reminder):
    fire_reminder(alice, title="One")
    fire_reminder(alice, title="Two", at=NOW + timedelta(minutes=5))
    fire_reminder(alice, title="Three", at=NOW + timedelta(minutes=10))
    newest = alice_client.get("/api/notifications?limit=1").json()
    assert newest["count"] == 3
    assert newest["next"] is not None
    first_id = newest["results"][0]["id"]

    assert alice_client.get("/api/notifications/unread-count").json() == {"unread": 3}
    read = alice_client.post(f"/api/notifications/{first_id}/read")
    assert read.status_code == 200
    assert read.json()["is_read"] is True
    assert alice_client.get("/api/notifications/unread-count").json() == {"unread": 2}
    unread = alice_client.get("/api/notifications?unread=true").json()
    assert {n["title"] for n in unread["results"]} == {"Reminder: One", "Reminder: Two"}
    assert alice_client.get("/api/notifications?unread=false").json()["count"] == 1
    assert alice_client.get("/api/notifications?unread=maybe").status_code == 400

    assert bob_client.post(f"/api/notifications/{first_id}/read").status_code == 404
    assert bob_client.get("/api/notifications").json()["count"] == 0

    assert alice_client.post("/api/notifications/read-all").json() == {"marked_read": 2}
    assert alice_client.get("/api/notifications/unread-count").json() == {"unread": 0}


def test_the_inbox_list_takes_a_fixed_number_of_queries(
    alice, alice_client, fire_reminder, django_assert_max_num_queries
):
    for minutes in range(4):
        fire_reminder(alice, at=NOW + timedelta(minutes=minutes))
    # auth (user + token checks) + count + page, whatever the page size
    with django_assert_max_num_queries(4):
        response = alice_client.get("/api/notifications")
    assert response.json()["count"] == 4


def test_a_per_reminder_channel_override_and_disabled_in_app_are_honoured(
    alice, alice_client, fire_reminder, sendgrid
):
    only_email = fire_reminder(alice, channels=["email"])
    assert list(Notification.objects.filter(reminder=only_email).values_list("channel", flat=True)) == [
        "email"
    ]

    alice_client.patch(
        "/api/notifications/preferences", {"in_app_enabled": False, "email_enabled": False}, format="json"
    )
    silent = fire_reminder(alice, at=NOW + timedelta(minutes=5))
    assert not Notification.objects.filter(reminder=silent).exists()
    assert [e["channels"] for e in events_of("reminder.triggered")] == [["email"], []]
