"""The Django admin pages for tasks and saved filters, and the OpenAPI schema of the task API."""

from __future__ import annotations

import json

import pytest

from tasks_app.models import SavedFilter, Task
from tasks_app.tests.helpers import clear_events, events

pytestmark = pytest.mark.django_db


def test_it_lists_searches_and_filters_tasks_in_the_admin(staff_client, make_task):
    make_task(title="Quarterly report", priority="high")
    make_task(title="Walk the dog")

    listing = staff_client.get("/admin/tasks_app/task/?q=quarterly&priority__exact=high")

    assert listing.status_code == 200
    assert b"Quarterly report" in listing.content
    assert b"Walk the dog" not in listing.content


def test_it_shows_a_task_and_a_saved_filter_in_the_admin(staff_client, make_task, alice):
    task = make_task(title="Detail")
    saved = SavedFilter.objects.create(owner=alice, name="Work", params={"tags": "work"})

    assert staff_client.get(f"/admin/tasks_app/task/{task.pk}/change/").status_code == 200
    assert staff_client.get(f"/admin/tasks_app/savedfilter/{saved.pk}/change/").status_code == 200
    assert staff_client.get("/admin/tasks_app/savedfilter/?q=work").status_code == 200


def _change_form_data(task) -> dict:
    return {
        "title": task.title,
        "description": task.description,
        "is_completed": "on" if task.is_completed else "",
        "is_recurring": "",
        "recurrence_rule": "",
        "priority": task.priority,
        "tags": json.dumps(task.tags),
    }


def test_it_saves_an_admin_edit_through_the_service_with_its_event(staff_client, make_task):
    task = make_task(title="Typo", tags=["work"])
    clear_events()

    response = staff_client.post(
        f"/admin/tasks_app/task/{task.pk}/change/", {**_change_form_data(task), "title": "Fixed"}
    )

    assert response.status_code == 302, response.content[:2000]
    task.refresh_from_db()
    assert (task.title, task.version) == ("Fixed", 2)
    [event] = events()
    assert event.type == "task.updated"
    assert event.data["changes"] == {"title": {"old": "Typo", "new": "Fixed"}}


def test_it_refuses_an_invalid_admin_edit(staff_client, make_task):
    task = make_task(title="Keep")

    response = staff_client.post(
        f"/admin/tasks_app/task/{task.pk}/change/",
        {**_change_form_data(task), "tags": json.dumps(["x" * 51])},
    )

    assert response.status_code == 200  # the form again, with the error
    assert b"longer than 50" in response.content
    task.refresh_from_db()
    assert task.version == 1


def test_it_adds_and_deletes_tasks_in_the_admin_with_events(staff_client, alice):
    response = staff_client.post(
        "/admin/tasks_app/task/add/",
        {
            "owner": alice.pk,
            "title": "From the admin",
            "description": "",
            "priority": "high",
            "tags": "[]",
            "recurrence_rule": "",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    task = Task.objects.get(title="From the admin")

    staff_client.post(f"/admin/tasks_app/task/{task.pk}/delete/", {"post": "yes"})

    assert not Task.objects.exists()
    assert [event.type for event in events()] == ["task.created", "task.deleted"]


def test_it_documents_the_task_endpoints_parameters_and_error_shape(alice_client):
    response = alice_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    schema = response.json()
    paths = schema["paths"]
    for path in (
        "/api/tasks",
        "/api/tasks/{task_id}",
        "/api/tasks/{task_id}/toggle",
        "/api/tasks/reorder",
        "/api/tags",
        "/api/filters",
        "/api/filters/{filter_id}",
        "/api/filters/{filter_id}/tasks",
    ):
        assert path in paths, path
    list_params = {p["name"] for p in paths["/api/tasks"]["get"]["parameters"]}
    assert {"q", "status", "priority", "tags", "tags_mode", "due_after", "due_before"} <= list_params
    assert {"is_recurring", "sort_by", "sort_order", "page", "limit"} <= list_params
    assert "409" in paths["/api/tasks/{task_id}"]["patch"]["responses"]
    error = schema["components"]["schemas"]["ErrorDetail"]
    assert {"code", "message", "fields", "details"} <= set(error["properties"])
    task = schema["components"]["schemas"]["TaskOutput"]
    assert "version" in task["properties"]
