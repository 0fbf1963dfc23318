"""Export (JSON/CSV) and the Todoist CSV import (docs/portability.md)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tasks_app import services
from tasks_app.models import Project, Section, Task
from tasks_app.portability.todoist import COLUMNS
from tasks_app.selectors import TASK_FIELDS
from tasks_app.tests.helpers import clear_events, events

pytestmark = pytest.mark.django_db

SAMPLE = Path(__file__).parent / "data" / "todoist_home.csv"


def _upload(client, content: bytes, name: str = "Home"):
    return client.post(
        "/api/import/todoist",
        {"file": SimpleUploadedFile("Home.csv", content, content_type="text/csv"), "project_name": name},
        format="multipart",
    )


def test_the_sample_file_uses_every_todoist_column():
    header = next(csv.reader(io.StringIO(SAMPLE.read_text())))
    assert tuple(header) == COLUMNS


def test_it_imports_a_todoist_project_with_sections_subtasks_priorities_dates_and_labels(alice_client, alice):
    response = _upload(alice_client, SAMPLE.read_bytes())

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["sections"], body["tasks"]) == (2, 8)
    project = Project.objects.get(pk=body["project_id"])
    assert project.name == "Home"
    assert list(
        Section.objects.filter(project=project).order_by("position").values_list("name", flat=True)
    ) == [
        "Groceries",
        "Someday",
    ]
    by_title = {task.title: task for task in Task.objects.filter(owner=alice)}
    passport = by_title["Renew passport"]
    assert passport.tags == ["admin", "travel"]
    assert passport.priority == "high"  # Todoist 4 = p1
    assert passport.due_at is not None
    assert "Deadline (from Todoist): 2030-05-01" in passport.description
    assert by_title["Book photo appointment"].parent_id == passport.pk
    assert by_title["Book photo appointment"].priority == "medium"  # p2
    found = by_title["Find old passport"]
    assert found.parent_id == by_title["Book photo appointment"].pk
    assert found.priority == "low"  # p4
    assert "The old one expired in 2019" in found.description  # the note
    assert by_title["Water the plants"].is_recurring
    assert by_title["Water the plants"].recurrence_rule.startswith("FREQ=WEEKLY")
    groceries = Section.objects.get(name="Groceries")
    assert by_title["Buy milk"].section_id == groceries.pk
    assert by_title["Buy oat milk"].parent_id == by_title["Buy milk"].pk
    assert by_title["Buy oat milk"].section_id == groceries.pk
    assert by_title["Pay the rent"].recurrence_rule.startswith("FREQ=MONTHLY")
    assert {t.project_id for t in by_title.values()} == {project.pk}
    assert len(events("task.created")) == 8
    assert len(events("project.created")) == 1


def test_a_file_with_problems_imports_nothing_and_lists_every_row(alice_client):
    bad = SAMPLE.read_text().replace(",4,1,Alice", ",7,1,Alice", 1).replace("every 1st at 10am", "whenever")
    bad += "task,Orphan,,1,3,Alice (41234567),,,en,,,,,\n"
    clear_events()

    response = _upload(alice_client, bad.encode())

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "import_refused"
    rows = {problem["row"] for problem in error["details"]["rows"]}
    assert rows == {3, 12, 16}
    assert not Task.objects.exists()
    assert not Project.objects.filter(is_inbox=False).exists()
    assert events() == []


@pytest.mark.parametrize(
    ("content", "field"),
    [(b"\xff\xfe not utf8", "file"), (b"NAME,WHAT\nx,y\n", "file")],
)
def test_it_refuses_unreadable_files(alice_client, content, field):
    response = _upload(alice_client, content)

    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_it_needs_a_file_and_a_project_name(alice_client):
    no_file = alice_client.post("/api/import/todoist", {"project_name": "Home"}, format="multipart")
    no_name = _upload(alice_client, SAMPLE.read_bytes(), name="")

    assert no_file.status_code == 400
    assert "file" in no_file.json()["error"]["fields"]
    assert no_name.status_code == 400
    assert "project_name" in no_name.json()["error"]["fields"]


def test_the_json_export_holds_what_the_user_owns_and_nothing_of_others(alice_client, alice, bob):
    services.task_create(owner=alice, title="Mine")
    services.task_create(owner=bob, title="Bob's")
    alice_client.post("/api/filters", {"name": "Open", "params": {"status": "active"}}, format="json")

    body = alice_client.get("/api/export").json()

    assert body["format"] == "taskbeat-export/1"
    assert body["user"] == {
        "id": alice.pk,
        "username": "alice",
        "timezone": "Europe/Berlin",
        "date_order": "MDY",
    }
    assert [t["title"] for t in body["tasks"]] == ["Mine"]
    assert list(body["tasks"][0]) == list(TASK_FIELDS)
    assert [p["name"] for p in body["projects"]] == ["Inbox"]
    assert [f["name"] for f in body["saved_filters"]] == ["Open"]


def test_the_csv_export_lists_tasks_with_the_representations_columns(alice_client, alice):
    services.task_create(owner=alice, title="Mine, with a comma", tags=["a", "b"])

    response = alice_client.get("/api/export/tasks.csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))

    assert response["Content-Type"].startswith("text/csv")
    assert [(r["title"], r["tags"]) for r in rows] == [("Mine, with a comma", "a,b")]
    assert list(rows[0]) == list(TASK_FIELDS)


def test_exports_need_authentication(anon_client):
    assert anon_client.get("/api/export").status_code == 401
    assert anon_client.get("/api/export/tasks.csv").status_code == 401
