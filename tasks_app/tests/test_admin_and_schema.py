"""The Django admin pages for tasks and saved filters, and the OpenAPI schema of the task API."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from tasks_app.models import SavedFilter

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    admin_user = get_user_model().objects.create_superuser("root", "root@example.com", "Root-Secret-123")
    client.force_login(admin_user)
    return client


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
