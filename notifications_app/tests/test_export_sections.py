"""GET /api/export's sections from the layers above the task layer (docs/portability.md):
reminders, notification preferences, subscriptions without secrets, the audit log."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from audit_app.services import audit_entries_record
from reminders_app.services import reminder_create
from tasks_app import services as task_services
from todo_project.testing import events

pytestmark = pytest.mark.django_db

SECTIONS = {
    "format",
    "exported_at",
    "user",
    "projects",
    "sections",
    "tasks",
    "series",
    "saved_filters",
    "profile",
    "reminders",
    "notification_preferences",
    "subscriptions",
    "audit_log",
}


def test_the_export_has_every_section_and_no_secret(alice, alice_client, bob, push_service, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    secret = alice_client.patch(
        "/api/notifications/preferences",
        {"webhook_url": "http://127.0.0.1:9/hook", "default_reminder_minutes": 30},
        format="json",
    ).json()["webhook_secret"]
    browser = push_service.browser()
    subscription = browser.subscription_json()
    assert (
        alice_client.post(
            "/api/notifications/push-subscriptions",
            {**subscription, "user_agent": "Firefox 140"},
            format="json",
        ).status_code
        == 201
    )
    task = task_services.task_create(owner=alice, title="Call mum", due_at=timezone.now() + timedelta(days=1))
    bobs = task_services.task_create(owner=bob, title="Bob's", due_at=timezone.now() + timedelta(days=1))
    for owner_task, client_user in ((task, alice), (bobs, bob)):
        reminder_create(user_id=client_user.pk, task_id=owner_task.pk, offset_minutes=5)
    audit_entries_record(events=events())  # what the audit handler writes once they are dispatched

    response = alice_client.get("/api/export")

    body = response.json()
    assert set(body) == SECTIONS
    assert body["profile"] == {"timezone": "Europe/Berlin", "date_order": "MDY"}
    assert [r["task_id"] for r in body["reminders"]] == [str(task.pk)]  # none of bob's
    assert body["notification_preferences"]["default_reminder_minutes"] == 30
    assert "webhook_url" not in body["notification_preferences"]
    assert body["subscriptions"]["webhook"] == {
        "url": "http://127.0.0.1:9/hook",
        "enabled": True,
        "secret_set": True,
        "disabled_at": None,
        "disabled_reason": "",
    }
    (push,) = body["subscriptions"]["push"]
    assert set(push) == {"id", "service", "user_agent", "created_at"}
    assert push["user_agent"] == "Firefox 140"
    text = json.dumps(body)
    for credential in (
        secret,
        subscription["endpoint"],
        subscription["keys"]["p256dh"],
        subscription["keys"]["auth"],
    ):
        assert credential not in text
    actions = {entry["action"] for entry in body["audit_log"]}
    assert {"task.created", "reminder.scheduled", "push_subscription.created"} <= actions
    assert all(entry["actor"]["id"] == alice.pk for entry in body["audit_log"])
