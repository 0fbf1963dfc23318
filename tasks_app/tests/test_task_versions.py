"""Optimistic concurrency: If-Match / version, last write wins by the client's edit time."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tasks_app.models import Task
from tasks_app.tests.helpers import clear_events, events

pytestmark = pytest.mark.django_db

URL = "/api/tasks"


def _iso(value) -> str:
    return value.isoformat().replace("+00:00", "Z")


@pytest.fixture
def task_v2(alice_client, make_task) -> Task:
    """A task at version 2: another device changed it after version 1 was seen."""
    task = make_task(title="Original")
    alice_client.patch(f"{URL}/{task.pk}", {"title": "Server edit"}, format="json")
    task.refresh_from_db()
    assert task.version == 2
    clear_events()
    return task


def test_it_applies_a_write_based_on_the_current_version(alice_client, task_v2):
    response = alice_client.patch(
        f"{URL}/{task_v2.pk}", {"title": "Mine"}, format="json", HTTP_IF_MATCH='"2"'
    )

    assert response.status_code == 200
    assert response["ETag"] == '"3"'
    assert "Taskbeat-Conflict" not in response


def test_it_refuses_a_stale_write_without_an_edit_time_with_the_current_task(alice_client, task_v2):
    response = alice_client.patch(
        f"{URL}/{task_v2.pk}", {"title": "Mine"}, format="json", HTTP_IF_MATCH='"1"'
    )

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "version_conflict"
    assert error["details"]["winner"] == "server"
    assert error["details"]["current_version"] == 2
    assert error["details"]["task"]["title"] == "Server edit"
    task_v2.refresh_from_db()
    assert (task_v2.title, task_v2.version) == ("Server edit", 2)
    assert events() == []


def test_it_refuses_a_stale_write_whose_edit_is_older_than_the_stored_one(alice_client, task_v2):
    edited = task_v2.updated_at - timedelta(minutes=5)

    response = alice_client.patch(
        f"{URL}/{task_v2.pk}",
        {"title": "Offline edit", "version": 1, "client_updated_at": _iso(edited)},
        format="json",
    )

    assert response.status_code == 409
    assert response.json()["error"]["details"]["winner"] == "server"


def test_it_applies_a_stale_write_whose_edit_is_newer_and_says_the_client_won(alice_client, task_v2):
    edited = timezone.now()

    response = alice_client.patch(
        f"{URL}/{task_v2.pk}",
        {"title": "Offline edit", "client_updated_at": _iso(edited)},
        format="json",
        HTTP_IF_MATCH='W/"1"',
    )

    assert response.status_code == 200
    assert response.json()["title"] == "Offline edit"
    assert response.json()["version"] == 3
    assert response["Taskbeat-Conflict"] == "client_won"
    assert response["Taskbeat-Overwritten-Version"] == "2"
    [event] = events()
    assert event.data["changes"] == {"title": {"old": "Server edit", "new": "Offline edit"}}


def test_it_applies_writes_without_a_version_unconditionally(alice_client, task_v2):
    response = alice_client.patch(f"{URL}/{task_v2.pk}", {"title": "Blind"}, format="json")

    assert response.status_code == 200
    assert response.json()["version"] == 3


def test_it_treats_if_match_star_as_unconditional(alice_client, task_v2):
    response = alice_client.put(f"{URL}/{task_v2.pk}", {"title": "Any"}, format="json", HTTP_IF_MATCH="*")

    assert response.status_code == 200


def test_it_refuses_a_stale_delete_and_a_stale_toggle(alice_client, task_v2):
    delete = alice_client.delete(f"{URL}/{task_v2.pk}", HTTP_IF_MATCH='"1"')
    toggle = alice_client.post(f"{URL}/{task_v2.pk}/toggle", {"version": 1}, format="json")

    assert delete.status_code == 409
    assert toggle.status_code == 409
    task_v2.refresh_from_db()
    assert task_v2.is_completed is False
    assert events() == []


def test_it_deletes_on_a_stale_version_when_the_delete_is_the_later_edit(alice_client, task_v2):
    response = alice_client.delete(
        f"{URL}/{task_v2.pk}", {"version": 1, "client_updated_at": _iso(timezone.now())}, format="json"
    )

    assert response.status_code == 204
    assert response["Taskbeat-Conflict"] == "client_won"
    assert not Task.objects.filter(pk=task_v2.pk).exists()


@pytest.mark.parametrize(
    ("headers", "body", "field"),
    [
        ({"HTTP_IF_MATCH": "banana"}, {}, "If-Match"),
        ({"HTTP_IF_MATCH": '"2"'}, {"version": 3}, "version"),
        ({}, {"version": 0}, "version"),
        ({}, {"client_updated_at": "yesterday"}, "client_updated_at"),
    ],
)
def test_it_refuses_malformed_version_controls(alice_client, task_v2, headers, body, field):
    response = alice_client.patch(f"{URL}/{task_v2.pk}", {"title": "x", **body}, format="json", **headers)

    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_it_refuses_an_edit_time_from_the_future(alice_client, task_v2):
    future = timezone.now() + timedelta(hours=1)

    response = alice_client.patch(
        f"{URL}/{task_v2.pk}", {"title": "x", "version": 1, "client_updated_at": _iso(future)}, format="json"
    )

    assert response.status_code == 400
    assert "client_updated_at" in response.json()["error"]["fields"]
