"""Importing our own export (POST /api/import/taskbeat): the round trip, refusals, limits, isolation."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from tasks_app.models import Task, TaskSeries
from tasks_app.portability import taskbeat
from todo_project.events.dispatcher import dispatch_ready
from todo_project.testing import events_of

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
URL = "/api/import/taskbeat"
# What may differ after a round trip: identities and the times things were written.
_VOLATILE = {"id", "created_at", "updated_at", "completed_at", "archived_at", "version", "ended_at"}
_REFS = {
    "project_id": "projects",
    "parent_id": None,
    "section_id": "sections",
    "series_id": "series",
    "task_id": "tasks",
}
# Sections exported for the record only (never imported): docs/portability.md.
_RECORD_ONLY = {"audit_log", "subscriptions", "user", "exported_at"}


@pytest.fixture
def alice_client(alice) -> APIClient:
    # Time is frozen before the tokens the shared fixtures issue; authenticate without one.
    client = APIClient()
    client.force_authenticate(alice)
    return client


@pytest.fixture
def bob_client(bob) -> APIClient:
    client = APIClient()
    client.force_authenticate(bob)
    return client


def _upload(client, document: Any, **form: str):
    content = document if isinstance(document, bytes) else json.dumps(document).encode()
    return client.post(
        URL,
        {"file": SimpleUploadedFile("export.json", content, content_type="application/json"), **form},
        format="multipart",
    )


def _normalised(doc: dict[str, Any]) -> dict[str, Any]:
    """The export without ids and timestamps; references become the index of what they name."""
    index = {
        key: {item["id"]: i for i, item in enumerate(doc[key])}
        for key in ("projects", "sections", "tasks", "series")
    }
    out: dict[str, Any] = {
        key: value for key, value in doc.items() if key not in _RECORD_ONLY and not isinstance(value, list)
    }
    for key in ("projects", "sections", "tasks", "series", "saved_filters", "reminders"):
        items = []
        for item in doc[key]:
            clean = {k: v for k, v in item.items() if k not in _VOLATILE}
            for ref, target in _REFS.items():
                if clean.get(ref) is not None:
                    clean[ref] = index[target or key][clean[ref]]
            items.append(clean)
        out[key] = items
    return out


def _fill(client) -> None:
    """An account with a bit of everything the export carries."""
    home = client.post("/api/projects", {"name": "Home", "color": "#ff8800"}, format="json").json()
    garden = client.post("/api/projects", {"name": "Garden", "parent_id": home["id"]}, format="json").json()
    old = client.post("/api/projects", {"name": "Old stuff"}, format="json").json()
    section = client.post(f"/api/projects/{home['id']}/sections", {"name": "Weekend"}, format="json").json()
    client.post(f"/api/projects/{home['id']}/sections", {"name": "Someday"}, format="json")
    due = (NOW + timedelta(days=2)).isoformat()
    fence = client.post(
        "/api/tasks",
        {
            "title": "Paint the fence",
            "description": "White, two coats",
            "priority": "high",
            "tags": ["paint", "outside"],
            "due_at": due,
            "remind_offset_minutes": 30,
            "section_id": section["id"],
        },
        format="json",
    ).json()
    buy = client.post("/api/tasks", {"title": "Buy paint", "parent_id": fence["id"]}, format="json").json()
    client.post(
        "/api/tasks",
        {"title": "Compare prices", "parent_id": buy["id"], "due_date": "2026-03-03"},
        format="json",
    )
    client.post(
        "/api/tasks", {"title": "Prune roses", "project_id": garden["id"], "remind_at": due}, format="json"
    )
    done = client.post("/api/tasks", {"title": "Call plumber", "project_id": old["id"]}, format="json").json()
    client.post(f"/api/tasks/{done['id']}/toggle", format="json")
    client.post("/api/tasks", {"title": "Read a book", "tags": ["me"]}, format="json")  # the Inbox
    water = client.post(
        "/api/tasks/quick", {"text": "Water the plants every day at 9am #Garden"}, format="json"
    ).json()
    client.post(f"/api/tasks/{water['id']}/toggle", format="json")  # first occurrence done → the next one
    dispatch_ready()
    following = (
        Task.objects.filter(series_id=water["series_id"], is_completed=False)
        .order_by("occurrence_at")
        .first()
    )
    assert following is not None
    assert client.post(f"/api/tasks/{following.pk}/skip", format="json").status_code == 200
    dispatch_ready()
    client.post(f"/api/projects/{old['id']}/archive", format="json")
    client.post(
        "/api/filters", {"name": "Urgent", "params": {"priority": "high", "status": "active"}}, format="json"
    )
    # Beyond the task layer: the profile, notification preferences and the user's own reminders.
    assert client.patch("/api/me", {"date_order": "DMY"}, format="json").status_code == 200
    prefs = {
        "quiet_hours_start": "22:00",
        "quiet_hours_end": "07:00",
        "default_reminder_minutes": 15,
        "email_enabled": False,
    }
    assert client.patch("/api/notifications/preferences", prefs, format="json").status_code == 200
    reminders = f"/api/tasks/{fence['id']}/reminders"
    at = (NOW + timedelta(days=1)).isoformat()
    assert client.post(reminders, {"remind_at": at, "channels": ["email"]}, format="json").status_code == 201
    assert client.post(reminders, {"offset_minutes": 120}, format="json").status_code == 201
    dismissed = client.post(reminders, {"remind_at": due}, format="json").json()
    assert client.post(f"/api/reminders/{dismissed['id']}/dismiss", format="json").status_code == 200
    snoozed = client.post(f"/api/tasks/{buy['id']}/reminders", {"remind_at": at}, format="json").json()
    later = (NOW + timedelta(days=1, hours=6)).isoformat()
    assert (
        client.post(f"/api/reminders/{snoozed['id']}/snooze", {"until": later}, format="json").status_code
        == 200
    )
    dispatch_ready()


def test_export_import_export_is_the_same_but_for_ids_and_times(alice, bob, alice_client, bob_client):
    with time_machine.travel(NOW, tick=False):
        _fill(alice_client)
        exported = alice_client.get("/api/export").json()
        assert len(exported["series"]) == 1
        assert {t["is_skipped"] for t in exported["tasks"]} == {True, False}
        kinds = {(r["kind"], r["status"]) for r in exported["reminders"]}
        assert {("custom", "pending"), ("custom", "dismissed"), ("task_remind_at", "pending")} <= kinds
        assert {("default", "pending"), ("priority_boost", "pending")} <= kinds
        assert any(r["snoozed_until"] for r in exported["reminders"])
        assert exported["profile"] == {"timezone": "Europe/Berlin", "date_order": "DMY"}
        assert exported["notification_preferences"]["quiet_hours_start"] == "22:00"

        response = _upload(bob_client, exported)
        dispatch_ready()  # the handlers an import's events wake (recurrence, audit) change nothing
        again = bob_client.get("/api/export").json()

    assert response.status_code == 201, response.json()
    assert response.json() == {
        "projects": 3,
        "sections": 2,
        "series": 1,
        "tasks": len(exported["tasks"]),
        "saved_filters": 1,
        "profile": 1,
        "reminders": 4,  # the custom ones; the handlers derive the others again
        "notification_preferences": 1,
    }
    assert _normalised(again) == _normalised(exported)
    assert again["profile"] == exported["profile"]
    assert len(again["reminders"]) == len(exported["reminders"])
    assert alice_client.get("/api/export").json()["tasks"] == exported["tasks"]  # nothing of alice's changed
    created = [e for e in events_of("task.created") if e["user_id"] == bob.id]
    assert len(created) == len(exported["tasks"])  # each through the event spine


def test_importing_into_an_account_with_tasks_is_refused_unless_merging(alice_client):
    with time_machine.travel(NOW, tick=False):
        _fill(alice_client)
        exported = alice_client.get("/api/export").json()
        tasks = Task.objects.count()

        refused = _upload(alice_client, exported)
        assert refused.status_code == 409
        assert refused.json()["error"]["code"] == "account_not_empty"
        assert Task.objects.count() == tasks

        merged = _upload(alice_client, exported, mode="merge")
        assert merged.status_code == 201, merged.json()
        assert Task.objects.count() == 2 * tasks
        assert TaskSeries.objects.count() == 2
        assert _upload(alice_client, exported, mode="sometimes").status_code == 400


@pytest.mark.parametrize(
    ("content", "field"),
    [
        (b"not json at all", "file"),
        (b"\xff\xfe\x00", "file"),
        ({"format": "someone-else/3", "tasks": []}, "file"),
        ([1, 2, 3], "file"),
    ],
)
def test_a_file_that_is_no_export_is_a_400_naming_file(bob_client, content, field):
    response = _upload(bob_client, content)
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_every_problem_is_listed_and_nothing_is_written(bob, bob_client):
    doc = {
        "format": "taskbeat-export/1",
        "projects": [
            {"id": "p1", "name": "Ok", "position": 1},
            {"id": "p2", "name": "Bad", "color": "blurple"},
        ],
        "sections": [{"id": "s1", "project_id": "nope", "name": "Lost"}],
        "tasks": [
            {"id": "t1", "title": "Fine", "project_id": "p1"},
            {"id": "t2", "title": "Orphan", "parent_id": "missing"},
            {"id": "t3", "title": 7, "priority": "urgent", "due_at": "tomorrow-ish", "tags": "x"},
        ],
        "series": [
            {"id": "r1", "rule": "FREQ=SOMETIMES", "dtstart": "2026-03-02T09:00:00Z", "timezone": "UTC"}
        ],
        "saved_filters": "nope",
    }

    response = _upload(bob_client, doc)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "import_refused"
    rows = {row["row"] for row in error["details"]["rows"]}
    assert {
        "saved_filters",
        "sections[0].project_id",
        "tasks[1].parent_id",
        "tasks[2].title",
        "tasks[2].priority",
        "tasks[2].due_at",
        "tasks[2].tags",
        "series[0].rule",
    } <= rows
    assert not Task.objects.filter(owner=bob).exists()


def test_a_refusal_by_a_service_rolls_back_everything_written_before(bob, bob_client):
    doc = {
        "format": "taskbeat-export/1",
        "projects": [
            {"id": "p1", "name": "Ok", "position": 1},
            {"id": "p2", "name": "Bad", "color": "blurple"},
        ],
        "tasks": [{"id": "t1", "title": "Fine", "project_id": "p1"}],
    }

    response = _upload(bob_client, doc)

    assert response.status_code == 400
    assert [row["row"] for row in response.json()["error"]["details"]["rows"]] == ["projects[1].color"]
    assert not Task.objects.filter(owner=bob).exists()
    assert events_of("project.created") == []


def test_files_and_lists_have_limits(bob_client, monkeypatch):
    monkeypatch.setitem(taskbeat.LIMITS, "tasks", 2)
    doc = {"format": "taskbeat-export/1", "tasks": [{"id": str(i), "title": f"t{i}"} for i in range(3)]}

    too_many = _upload(bob_client, doc)
    assert too_many.status_code == 400
    assert too_many.json()["error"]["details"]["rows"] == [{"row": "tasks", "problem": "more than 2 items"}]

    monkeypatch.setattr(taskbeat, "MAX_BYTES", 100)
    too_big = _upload(bob_client, {"format": "taskbeat-export/1", "tasks": [], "padding": "x" * 200})
    assert too_big.status_code == 400
    assert "file" in too_big.json()["error"]["fields"]


def test_importing_needs_authentication_and_a_file(anon_client, bob_client):
    assert _upload(anon_client, {"format": "taskbeat-export/1"}).status_code == 401
    missing = bob_client.post(URL, {}, format="multipart")
    assert missing.status_code == 400
    assert "file" in missing.json()["error"]["fields"]


def test_the_sections_beyond_the_task_layer_are_checked_before_anything_is_written(bob, bob_client):
    doc = {
        "format": "taskbeat-export/1",
        "tasks": [{"id": "t1", "title": "Fine"}],
        "profile": {"timezone": "Europe/Berlin", "date_order": "YDM"},
        "notification_preferences": {"quiet_hours_start": "late", "default_reminder_minutes": -5},
        "reminders": [
            {
                "task_id": "nope",
                "kind": "custom",
                "status": "pending",
                "scheduled_for": "2030-01-01T09:00:00Z",
            },
            {"task_id": "t1", "kind": "sometimes"},
            {
                "task_id": "t1",
                "kind": "custom",
                "status": "pending",
                "scheduled_for": "soon",
                "channels": ["fax"],
            },
        ],
    }

    response = _upload(bob_client, doc)

    assert response.status_code == 400
    rows = {row["row"] for row in response.json()["error"]["details"]["rows"]}
    assert {
        "profile.date_order",
        "notification_preferences.quiet_hours_start",
        "notification_preferences.default_reminder_minutes",
        "reminders[0].task_id",
        "reminders[1].kind",
        "reminders[2].scheduled_for",
        "reminders[2].fire_at",
        "reminders[2].channels",
    } <= rows
    assert not Task.objects.filter(owner=bob).exists()


def test_a_merge_keeps_the_accounts_preferences_and_brings_the_reminders(alice, alice_client):
    with time_machine.travel(NOW, tick=False):
        task = alice_client.post(
            "/api/tasks", {"title": "Dentist", "due_at": (NOW + timedelta(days=3)).isoformat()}, format="json"
        ).json()
        at = (NOW + timedelta(days=2)).isoformat()
        alice_client.post(f"/api/tasks/{task['id']}/reminders", {"remind_at": at}, format="json")
        exported = alice_client.get("/api/export").json()
        exported["profile"]["date_order"] = "YMD"
        exported["notification_preferences"]["default_reminder_minutes"] = 60

        merged = _upload(alice_client, exported, mode="merge")

        assert merged.status_code == 201, merged.json()
        assert (merged.json()["profile"], merged.json()["notification_preferences"]) == (0, 0)
        assert merged.json()["reminders"] == 1
        again = alice_client.get("/api/export").json()
    assert again["profile"]["date_order"] == "MDY"
    assert again["notification_preferences"]["default_reminder_minutes"] is None
    custom = [r for r in again["reminders"] if r["kind"] == "custom"]
    assert len(custom) == 2  # the original's and the copy's
    assert len({r["task_id"] for r in custom}) == 2
