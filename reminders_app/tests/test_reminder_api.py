from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from reminders_app.models import Reminder, ReminderStatus
from reminders_app.tests.factories import NOW, create_task, events_of

# Time frozen at NOW before alice_client mints its token, so the token is valid "now".
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]


def test_it_creates_an_absolute_reminder(alice, alice_client):
    task = create_task(alice)
    response = alice_client.post(
        f"/api/tasks/{task.id}/reminders", {"remind_at": "2026-03-02T12:00:00Z"}, format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["task_id"] == str(task.id)
    assert body["fire_at"] == "2026-03-02T12:00:00Z"
    assert body["status"] == "pending"
    assert body["offset_minutes"] is None
    assert [e["reminder_id"] for e in events_of("reminder.scheduled")] == [body["id"]]


def test_it_creates_a_relative_reminder_from_the_due_time(alice, alice_client):
    task = create_task(alice, due_at=NOW + timedelta(hours=5))
    response = alice_client.post(f"/api/tasks/{task.id}/reminders", {"offset_minutes": 15}, format="json")
    assert response.status_code == 201
    assert response.json()["fire_at"] == "2026-03-02T14:45:00Z"
    assert response.json()["offset_minutes"] == 15


def test_it_refuses_a_reminder_time_in_the_past(alice, alice_client):
    task = create_task(alice, due_at=NOW + timedelta(minutes=10))
    past = alice_client.post(
        f"/api/tasks/{task.id}/reminders", {"remind_at": "2026-03-01T09:00:00Z"}, format="json"
    )
    relative_past = alice_client.post(
        f"/api/tasks/{task.id}/reminders", {"offset_minutes": 60}, format="json"
    )
    assert past.status_code == 400
    assert past.json()["error"]["fields"] == {"remind_at": ["Reminder time must be in the future"]}
    assert relative_past.status_code == 400
    assert relative_past.json()["error"]["fields"] == {
        "offset_minutes": ["Reminder time must be in the future"]
    }
    assert not Reminder.objects.exists()


def test_it_refuses_a_relative_reminder_on_a_task_without_due_time(alice, alice_client):
    task = create_task(alice)
    response = alice_client.post(f"/api/tasks/{task.id}/reminders", {"offset_minutes": 15}, format="json")
    assert response.status_code == 400
    assert "offset_minutes" in response.json()["error"]["fields"]


def test_it_refuses_a_body_with_both_or_neither_time(alice, alice_client):
    task = create_task(alice, due_at=NOW + timedelta(hours=5))
    both = alice_client.post(
        f"/api/tasks/{task.id}/reminders",
        {"offset_minutes": 15, "remind_at": "2026-03-02T12:00:00Z"},
        format="json",
    )
    neither = alice_client.post(f"/api/tasks/{task.id}/reminders", {}, format="json")
    assert both.status_code == neither.status_code == 400
    assert "remind_at" in both.json()["error"]["message"]


def test_it_refuses_an_unknown_channel(alice, alice_client):
    task = create_task(alice)
    response = alice_client.post(
        f"/api/tasks/{task.id}/reminders",
        {"remind_at": "2026-03-02T12:00:00Z", "channels": ["sms"]},
        format="json",
    )
    assert response.status_code == 400
    assert "channels.0" in response.json()["error"]["fields"]


def test_it_refuses_a_sixth_pending_reminder(alice, alice_client):
    task = create_task(alice)
    for hour in range(11, 16):
        ok = alice_client.post(
            f"/api/tasks/{task.id}/reminders", {"remind_at": f"2026-03-02T{hour}:00:00Z"}, format="json"
        )
        assert ok.status_code == 201
    sixth = alice_client.post(
        f"/api/tasks/{task.id}/reminders", {"remind_at": "2026-03-02T17:00:00Z"}, format="json"
    )
    assert sixth.status_code == 400
    assert sixth.json()["error"]["code"] == "reminder_limit"
    assert "at most 5" in sixth.json()["error"]["message"]
    assert Reminder.objects.filter(task_ref=task.id).count() == 5


def test_it_hides_other_users_tasks_and_reminders(alice, alice_client, bob_client):
    task = create_task(alice)
    created = alice_client.post(
        f"/api/tasks/{task.id}/reminders", {"remind_at": "2026-03-02T12:00:00Z"}, format="json"
    ).json()
    assert (
        bob_client.post(
            f"/api/tasks/{task.id}/reminders", {"remind_at": "2026-03-02T12:00:00Z"}, format="json"
        ).status_code
        == 404
    )
    assert bob_client.get(f"/api/reminders/{created['id']}").status_code == 404
    assert (
        bob_client.post(f"/api/reminders/{created['id']}/snooze", {"minutes": 5}, format="json").status_code
        == 404
    )
    assert bob_client.get("/api/reminders").json()["count"] == 0


def test_it_lists_reminders_by_status(alice, alice_client):
    task = create_task(alice)
    a = alice_client.post(
        f"/api/tasks/{task.id}/reminders", {"remind_at": "2026-03-02T12:00:00Z"}, format="json"
    )
    alice_client.post(f"/api/tasks/{task.id}/reminders", {"remind_at": "2026-03-02T13:00:00Z"}, format="json")
    alice_client.post(f"/api/reminders/{a.json()['id']}/dismiss")

    pending = alice_client.get("/api/reminders?status=pending").json()
    dismissed = alice_client.get("/api/reminders?status=dismissed").json()
    per_task = alice_client.get(f"/api/tasks/{task.id}/reminders").json()
    bad = alice_client.get("/api/reminders?status=asleep")

    assert [r["fire_at"] for r in pending["results"]] == ["2026-03-02T13:00:00Z"]
    assert [r["id"] for r in dismissed["results"]] == [a.json()["id"]]
    assert per_task["count"] == 2
    assert bad.status_code == 400
    assert "status" in bad.json()["error"]["fields"]


def test_it_patches_a_reminder_time_and_channels(alice, alice_client):
    task = create_task(alice)
    rid = alice_client.post(
        f"/api/tasks/{task.id}/reminders", {"remind_at": "2026-03-02T12:00:00Z"}, format="json"
    ).json()["id"]
    response = alice_client.patch(
        f"/api/reminders/{rid}", {"remind_at": "2026-03-03T08:00:00Z", "channels": ["email"]}, format="json"
    )
    past = alice_client.patch(f"/api/reminders/{rid}", {"remind_at": "2026-03-01T08:00:00Z"}, format="json")
    assert response.status_code == 200
    assert response.json()["fire_at"] == "2026-03-03T08:00:00Z"
    assert response.json()["channels"] == ["email"]
    assert past.status_code == 400
    assert past.json()["error"]["message"] == "Reminder time must be in the future"


def test_it_snoozes_a_reminder_without_touching_the_task(alice, alice_client):
    due = NOW + timedelta(hours=3)
    task = create_task(alice, due_at=due)
    rid = alice_client.post(f"/api/tasks/{task.id}/reminders", {"offset_minutes": 60}, format="json").json()[
        "id"
    ]
    Reminder.objects.filter(id=rid).update(status=ReminderStatus.TRIGGERED)

    by_minutes = alice_client.post(f"/api/reminders/{rid}/snooze", {"minutes": 10}, format="json")
    until = alice_client.post(
        f"/api/reminders/{rid}/snooze", {"until": "2026-03-02T11:30:00Z"}, format="json"
    )
    past = alice_client.post(f"/api/reminders/{rid}/snooze", {"until": "2026-03-02T09:30:00Z"}, format="json")

    assert by_minutes.status_code == 200
    assert by_minutes.json()["fire_at"] == "2026-03-02T10:10:00Z"
    assert by_minutes.json()["status"] == "pending"
    assert until.json()["fire_at"] == "2026-03-02T11:30:00Z"
    assert until.json()["scheduled_for"] == "2026-03-02T12:00:00Z"
    assert past.status_code == 400
    assert past.json()["error"]["fields"] == {"until": ["Reminder time must be in the future"]}
    task.refresh_from_db()
    assert task.due_at == due
    assert [e["scheduled_for"] for e in events_of("reminder.snoozed")] == [
        "2026-03-02T10:10:00Z",
        "2026-03-02T11:30:00Z",
    ]


def test_it_dismisses_a_reminder_so_it_never_fires(alice, alice_client):
    from reminders_app.services import reminders_fire_due

    task = create_task(alice)
    rid = alice_client.post(
        f"/api/tasks/{task.id}/reminders", {"remind_at": "2026-03-02T10:05:00Z"}, format="json"
    ).json()["id"]
    response = alice_client.post(f"/api/reminders/{rid}/dismiss")
    snooze_after = alice_client.post(f"/api/reminders/{rid}/snooze", {"minutes": 5}, format="json")
    assert response.json()["status"] == "dismissed"
    assert snooze_after.status_code == 409
    with time_machine.travel(NOW + timedelta(minutes=10), tick=False):
        assert reminders_fire_due() == 0
    assert events_of("reminder.dismissed") == [
        {"reminder_id": rid, "task_id": str(task.id), "user_id": alice.id}
    ]


def test_it_deletes_a_reminder_by_cancelling_it(alice, alice_client):
    task = create_task(alice)
    rid = alice_client.post(
        f"/api/tasks/{task.id}/reminders", {"remind_at": "2026-03-02T12:00:00Z"}, format="json"
    ).json()["id"]
    assert alice_client.delete(f"/api/reminders/{rid}").status_code == 204
    assert Reminder.objects.get(id=rid).status == ReminderStatus.CANCELLED
    assert events_of("reminder.cancelled")[0]["reason"] == "user"


def test_it_suggests_reminder_times_in_the_user_zone(alice, alice_client):
    # Alice is in Europe/Berlin (UTC+1 in March before DST).
    response = alice_client.get("/api/reminders/suggestions?due_at=2026-03-03T16:00:00Z")
    assert response.status_code == 200
    options = {o["label"]: o for o in response.json()["results"]}
    assert options["15 minutes before"]["remind_at"] == "2026-03-03T15:45:00Z"
    assert options["1 day before"]["remind_at"] == "2026-03-02T16:00:00Z"
    morning = options["Morning of the due day (09:00)"]
    assert morning["remind_at"] == "2026-03-03T08:00:00Z"
    assert morning["local_time"] == "2026-03-03T09:00:00+01:00"


def test_it_suggests_only_future_times_and_handles_date_only_due_dates(alice, alice_client):
    soon = alice_client.get("/api/reminders/suggestions?due_at=2026-03-02T10:30:00Z").json()["results"]
    dated = alice_client.get("/api/reminders/suggestions?due_date=2026-03-04").json()["results"]
    missing = alice_client.get("/api/reminders/suggestions")
    assert {o["label"] for o in soon} == {"At the due time", "15 minutes before"}
    assert [o["local_time"] for o in dated] == [
        "2026-03-04T09:00:00+01:00",
        "2026-03-03T18:00:00+01:00",
        "2026-03-03T09:00:00+01:00",
    ]
    assert missing.status_code == 400
