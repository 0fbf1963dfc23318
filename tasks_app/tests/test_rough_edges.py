"""The rough edges a new user hit (issue 13), each pinned by a test."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from tasks_app.models import Task
from tasks_app.selectors import TASK_FIELDS

pytestmark = pytest.mark.django_db


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


# --- "remind me 15 minutes before" is relative -------------------------------------------


def test_quick_adds_remind_me_before_follows_the_due_time(alice_client, django_capture_on_commit_callbacks):
    from reminders_app.models import Reminder, ReminderStatus

    with django_capture_on_commit_callbacks(execute=True):
        created = alice_client.post(
            "/api/tasks",
            {"text": "Call the plumber tomorrow at 17:00 remind me 15 minutes before"},
            format="json",
        )
    body = created.json()
    due = datetime.fromisoformat(body["due_at"])
    assert body["remind_offset_minutes"] == 15
    assert body["remind_at"] == _iso(due - timedelta(minutes=15))

    # when the task moves an hour later
    with django_capture_on_commit_callbacks(execute=True):
        moved = alice_client.patch(
            f"/api/tasks/{body['id']}", {"due_at": _iso(due + timedelta(hours=1))}, format="json"
        )

    # then the reminder moves with it, and so does the reminder row that fires
    assert moved.json()["remind_at"] == _iso(due + timedelta(minutes=45))
    pending = Reminder.objects.filter(task_ref=body["id"], status=ReminderStatus.PENDING)
    assert due + timedelta(minutes=45) in {reminder.fire_at for reminder in pending}


def test_an_explicit_remind_at_makes_the_reminder_absolute_again(alice_client):
    due = (timezone.now() + timedelta(days=2)).replace(microsecond=0)
    task = alice_client.post(
        "/api/tasks", {"title": "x", "due_at": _iso(due), "remind_offset_minutes": 30}, format="json"
    ).json()
    fixed = due - timedelta(hours=3)

    body = alice_client.patch(f"/api/tasks/{task['id']}", {"remind_at": _iso(fixed)}, format="json").json()
    later = alice_client.patch(
        f"/api/tasks/{task['id']}", {"due_at": _iso(due + timedelta(hours=5))}, format="json"
    ).json()

    assert task["remind_at"] == _iso(due - timedelta(minutes=30))
    assert body["remind_offset_minutes"] is None
    assert later["remind_at"] == _iso(fixed)


@pytest.mark.parametrize("value", [-1, 40321, "soon", True])
def test_it_refuses_a_bad_remind_offset_naming_the_field(alice_client, value):
    response = alice_client.post(
        "/api/tasks",
        {"title": "x", "due_at": "2030-01-01T10:00:00Z", "remind_offset_minutes": value},
        format="json",
    )

    assert response.status_code == 400
    assert "remind_offset_minutes" in response.json()["error"]["fields"]


# --- next_occurrence is never stale --------------------------------------------------------


def _recurring(client, run, due: datetime, rule: str = "FREQ=DAILY") -> dict:
    with run(execute=True):
        response = client.post(
            "/api/tasks", {"title": "Standup", "due_at": _iso(due), "recurrence_rule": rule}, format="json"
        )
    assert response.status_code == 201, response.json()
    return response.json()


def test_next_occurrence_names_an_overdue_open_occurrence(alice_client, django_capture_on_commit_callbacks):
    due = (timezone.now() - timedelta(hours=2)).replace(microsecond=0)

    task = _recurring(alice_client, django_capture_on_commit_callbacks, due)

    # the rule's next time after now is tomorrow, but today's is still to do
    assert task["series"]["next_occurrence"] == _iso(due)


def test_next_occurrence_moves_on_after_completing_early_and_after_skipping(
    alice_client, django_capture_on_commit_callbacks
):
    due = (timezone.now() + timedelta(hours=2)).replace(microsecond=0)
    task = _recurring(alice_client, django_capture_on_commit_callbacks, due)

    # completed two hours early: the next is tomorrow's, not today's (done) one
    with django_capture_on_commit_callbacks(execute=True):
        done = alice_client.patch(f"/api/tasks/{task['id']}", {"is_completed": True}, format="json").json()
    assert done["series"]["next_occurrence"] == _iso(due + timedelta(days=1))

    # skipped: the one after it
    nxt = Task.objects.get(series_id=task["series_id"], is_completed=False, is_skipped=False)
    with django_capture_on_commit_callbacks(execute=True):
        alice_client.post(f"/api/tasks/{nxt.pk}/skip")
    series = alice_client.get(f"/api/tasks/{task['id']}").json()["series"]
    assert series["next_occurrence"] == _iso(due + timedelta(days=2))


# --- skipped occurrences are not active ------------------------------------------------------


def test_skipped_occurrences_are_out_of_status_active_and_in_status_skipped(
    alice_client, django_capture_on_commit_callbacks
):
    due = (timezone.now() + timedelta(hours=2)).replace(microsecond=0)
    task = _recurring(alice_client, django_capture_on_commit_callbacks, due)
    with django_capture_on_commit_callbacks(execute=True):
        alice_client.post(f"/api/tasks/{task['id']}/skip")

    active = alice_client.get("/api/tasks?status=active").json()
    skipped = alice_client.get("/api/tasks?status=skipped").json()

    assert task["id"] not in [t["id"] for t in active["results"]]
    assert active["count"] == 1  # the following occurrence
    assert [t["id"] for t in skipped["results"]] == [task["id"]]


# --- one task representation everywhere ---------------------------------------------------


def test_quick_add_answers_the_one_task_representation(alice_client):
    quick = alice_client.post("/api/tasks/quick", {"text": "Buy milk tomorrow"}, format="json")
    plain = alice_client.post("/api/tasks", {"title": "Buy bread"}, format="json")

    assert quick.status_code == 201
    assert list(quick.json()) == list(plain.json()) == [*TASK_FIELDS, "series"]
    assert quick["ETag"] == f'"{quick.json()["version"]}"'


# --- the list's default status: versioned, existing clients unchanged -------------------------


def test_the_list_default_stays_all_and_version_2_defaults_to_open_tasks(alice_client):
    alice_client.post("/api/tasks", {"title": "Open"}, format="json")
    alice_client.post("/api/tasks", {"title": "Done", "is_completed": True}, format="json")

    v1 = alice_client.get("/api/tasks").json()
    v2 = alice_client.get("/api/tasks", HTTP_TASKBEAT_API_VERSION="2").json()
    v2_explicit = alice_client.get("/api/tasks?status=all", HTTP_TASKBEAT_API_VERSION="2").json()
    bad = alice_client.get("/api/tasks", HTTP_TASKBEAT_API_VERSION="9")

    assert sorted(t["title"] for t in v1["results"]) == ["Done", "Open"]
    assert [t["title"] for t in v2["results"]] == ["Open"]
    assert v2_explicit["count"] == 2
    assert bad.status_code == 400
    assert "Taskbeat-API-Version" in bad.json()["error"]["fields"]


# --- the admin is branded -----------------------------------------------------------------------


def test_the_admin_is_branded_and_apps_have_names(admin_client):
    response = admin_client.get("/admin/")
    page = response.content.decode()

    assert response.status_code == 200
    assert "Taskbeat administration" in page
    assert "Django administration" not in page
    for name in ("Tasks", "Reminders", "Notifications", "Audit log"):
        assert f"Models in the {name} application" in page
    assert "Audit_App" not in page


# --- quick add names a project with ##Project; #tag stays a tag ------------------------------


def test_quick_add_puts_the_task_in_the_project_named_with_two_hashes(alice_client):
    work = alice_client.post("/api/projects", {"name": "Home office"}, format="json").json()

    preview = alice_client.post(
        "/api/tasks/parse", {"text": "Fix the lamp ##home_office #diy"}, format="json"
    )
    created = alice_client.post("/api/tasks", {"text": "Fix the lamp ##home_office #diy"}, format="json")
    unknown = alice_client.post("/api/tasks", {"text": "Fix the lamp ##Nowhere"}, format="json")

    assert preview.json()["project"] == {"id": work["id"], "name": "Home office"}
    assert preview.json()["title"] == "Fix the lamp"
    assert created.status_code == 201
    assert created.json()["project_id"] == work["id"]
    assert created.json()["tags"] == ["diy"]
    assert created.json()["title"] == "Fix the lamp"
    assert unknown.status_code == 400
    assert "text" in unknown.json()["error"]["fields"]
