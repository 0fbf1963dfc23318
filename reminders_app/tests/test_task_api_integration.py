"""The reminder handlers driven by the real task API (tasks_app) end to end."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from reminders_app.models import Reminder

# Time frozen at NOW before alice_client mints its token, so the token is valid "now".
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]


def test_task_api_writes_drive_the_reminders(alice, alice_client, on_commit):
    with on_commit():
        created = alice_client.post(
            "/api/tasks",
            {"title": "Dentist", "due_at": "2026-03-02T15:00:00Z", "remind_at": "2026-03-02T14:00:00Z"},
            format="json",
        )
    assert created.status_code == 201, created.json()
    task_id = created.json()["id"]
    with on_commit():
        alice_client.post(f"/api/tasks/{task_id}/reminders", {"offset_minutes": 30}, format="json")
    with on_commit():
        alice_client.patch(f"/api/tasks/{task_id}", {"due_at": "2026-03-02T16:00:00Z"}, format="json")
    fire_times = {r.kind: r.fire_at for r in Reminder.objects.filter(task_ref=task_id)}
    assert fire_times == {
        "task_remind_at": datetime(2026, 3, 2, 14, 0, tzinfo=UTC),
        "custom": datetime(2026, 3, 2, 15, 30, tzinfo=UTC),
    }

    with on_commit():
        alice_client.post(f"/api/tasks/{task_id}/toggle", {}, format="json")
    assert set(Reminder.objects.filter(task_ref=task_id).values_list("status", flat=True)) == {"cancelled"}
    with on_commit():
        alice_client.post(f"/api/tasks/{task_id}/toggle", {}, format="json")
    assert set(Reminder.objects.filter(task_ref=task_id).values_list("status", flat=True)) == {"pending"}

    with on_commit():
        assert alice_client.delete(f"/api/tasks/{task_id}").status_code in (200, 204)
    rows = Reminder.objects.filter(task_ref=task_id)
    assert {(r.status, r.cancel_reason) for r in rows} == {("cancelled", "task_deleted")}
