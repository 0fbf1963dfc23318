"""Task CRUD through the REST API: validation, isolation, versions and events."""

from __future__ import annotations

import json

import pytest

from tasks_app.models import Task
from tasks_app.selectors import TASK_FIELDS
from tasks_app.tests.helpers import clear_events, events

pytestmark = pytest.mark.django_db

URL = "/api/tasks"


def _post(client, body, url=URL):
    return client.post(url, body, format="json")


def _error_fields(response) -> dict:
    return response.json()["error"].get("fields", {})


# --- create ---------------------------------------------------------------------------


def test_it_creates_a_task_with_defaults(alice_client, alice):
    response = _post(alice_client, {"title": "  Buy milk  "})

    assert response.status_code == 201
    body = response.json()
    assert list(body) == [*TASK_FIELDS, "series"]
    assert body["series"] is None
    assert body["title"] == "Buy milk"
    assert body["priority"] == "medium"
    assert body["tags"] == []
    assert body["is_completed"] is False
    assert body["completed_at"] is None
    assert body["recurrence_rule"] is None
    assert body["version"] == 1
    assert response["ETag"] == '"1"'
    assert Task.objects.get(pk=body["id"]).owner == alice


def test_it_records_task_created_with_the_snapshot(alice_client, alice):
    response = _post(
        alice_client,
        {
            "title": "Report",
            "priority": "high",
            "tags": ["Work", "finance"],
            "due_at": "2026-02-15T17:00:00Z",
        },
    )

    [event] = events("task.created")
    body = response.json()
    assert event.user_id == alice.pk
    assert event.subject == f"tasks/{body['id']}"
    assert event.data["task_id"] == body["id"]
    assert event.data["user_id"] == alice.pk
    assert event.data["tags"] == ["Work", "finance"]
    assert event.data["due_at"] == "2026-02-15T17:00:00Z"
    assert event.data["version"] == 1
    assert event.data["task"] == _task_part(body)


def test_it_puts_new_tasks_at_the_end_of_the_order(alice_client):
    positions = [_post(alice_client, {"title": f"T{i}"}).json()["position"] for i in range(3)]

    assert positions == [0, 1, 2]


def test_it_trims_tags_and_drops_case_insensitive_duplicates_keeping_the_first_casing(alice_client):
    response = _post(alice_client, {"title": "t", "tags": [" Work ", "work", "WORK", "Home"]})

    assert response.status_code == 201
    assert response.json()["tags"] == ["Work", "Home"]
    assert Task.objects.get().tag_keys == ["work", "home"]


def test_it_keeps_a_due_date_a_date(alice_client):
    response = _post(alice_client, {"title": "t", "due_date": "2026-03-01"})

    assert response.json()["due_date"] == "2026-03-01"
    assert response.json()["due_at"] is None


def test_it_reads_a_naive_due_at_in_the_users_time_zone(alice_client):
    # alice lives in Europe/Berlin: 09:00 there in winter is 08:00 UTC.
    response = _post(alice_client, {"title": "t", "due_at": "2026-01-15T09:00:00"})

    assert response.json()["due_at"] == "2026-01-15T08:00:00Z"


def test_it_keeps_an_explicit_offset(alice_client):
    response = _post(alice_client, {"title": "t", "remind_at": "2026-01-15T09:00:00-05:00"})

    assert response.json()["remind_at"] == "2026-01-15T14:00:00Z"


def test_it_makes_a_task_recurring_when_a_rule_is_given(alice_client):
    response = _post(alice_client, {"title": "t", "recurrence_rule": "RRULE:FREQ=WEEKLY;BYDAY=MO,WE"})

    assert response.status_code == 201
    assert response.json()["is_recurring"] is True
    assert response.json()["recurrence_rule"] == "FREQ=WEEKLY;BYDAY=MO,WE"


# --- bad input ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 256}, "title"),
        ({"title": 42}, "title"),
        ({"title": "t", "description": "x" * 5001}, "description"),
        ({"title": "t", "priority": "urgent"}, "priority"),
        ({"title": "t", "tags": [f"t{i}" for i in range(21)]}, "tags"),
        ({"title": "t", "tags": ["x" * 51]}, "tags.0"),
        ({"title": "t", "tags": ["ok", ""]}, "tags.1"),
        ({"title": "t", "tags": [1]}, "tags.0"),
        ({"title": "t", "tags": "work"}, "tags"),
        ({"title": "t", "recurrence_rule": "FREQ=SOMETIMES"}, "recurrence_rule"),
        ({"title": "t", "recurrence_rule": "DTSTART:20260101T000000Z\nRRULE:FREQ=DAILY"}, "recurrence_rule"),
        ({"title": "t", "is_recurring": True}, "recurrence_rule"),
        ({"title": "t", "is_recurring": False, "recurrence_rule": "FREQ=DAILY"}, "is_recurring"),
        ({"title": "t", "due_date": "2026-02-30"}, "due_date"),
        ({"title": "t", "due_date": "2026-02-01T10:00:00Z"}, "due_date"),
        ({"title": "t", "due_at": "tomorrow"}, "due_at"),
        ({"title": "t", "due_at": "2026-02-01"}, "due_at"),
        ({"title": "t", "remind_at": "2026-13-01T10:00:00Z"}, "remind_at"),
        ({"title": "t", "is_completed": "yes"}, "is_completed"),
        ({"title": "t", "priorty": "high"}, "priorty"),
    ],
)
def test_it_refuses_bad_input_naming_the_field(alice_client, body, field):
    response = _post(alice_client, body)

    assert response.status_code == 400
    assert response.json()["error"]["code"] in ("validation_error", "invalid")
    assert field in _error_fields(response), response.json()
    assert not Task.objects.exists()
    assert events() == []


def test_it_refuses_a_non_json_body(alice_client):
    response = alice_client.post(URL, "{not json", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"


def test_it_refuses_a_json_body_that_is_not_an_object(alice_client):
    response = alice_client.post(URL, json.dumps(["title"]), content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"


def test_it_requires_authentication(anon_client):
    assert anon_client.get(URL).status_code == 401
    assert anon_client.post(URL, {"title": "t"}, format="json").status_code == 401


# --- retrieve, update, delete -----------------------------------------------------------


def test_it_retrieves_a_task(alice_client, make_task):
    task = make_task(title="Read", tags=["books"])

    response = alice_client.get(f"{URL}/{task.pk}")

    assert response.status_code == 200
    assert response.json()["title"] == "Read"
    assert response.json()["tags"] == ["books"]


def test_it_answers_404_for_another_users_task(bob_client, make_task):
    task = make_task(title="alice's")
    url = f"{URL}/{task.pk}"

    assert bob_client.get(url).status_code == 404
    assert bob_client.patch(url, {"title": "mine"}, format="json").status_code == 404
    assert bob_client.put(url, {"title": "mine"}, format="json").status_code == 404
    assert bob_client.post(f"{url}/toggle").status_code == 404
    assert bob_client.delete(url).status_code == 404
    task.refresh_from_db()
    assert task.title == "alice's"
    assert task.version == 1


def test_it_answers_404_for_a_malformed_id(alice_client):
    response = alice_client.get(f"{URL}/not-a-uuid")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_it_patches_only_what_changed_and_records_those_changes(alice_client, make_task):
    task = make_task(title="Report", priority="medium", tags=["work"])
    clear_events()

    response = alice_client.patch(
        f"{URL}/{task.pk}", {"priority": "high", "title": "Report", "tags": ["work"]}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["priority"] == "high"
    assert response.json()["version"] == 2
    [event] = events()
    assert event.type == "task.updated"
    assert event.data["changes"] == {"priority": {"old": "medium", "new": "high"}}
    assert event.data["version"] == 2
    assert event.data["task"] == _task_part(response.json())


def test_it_does_not_bump_the_version_when_nothing_changed(alice_client, make_task):
    task = make_task(title="Same")
    clear_events()

    response = alice_client.patch(f"{URL}/{task.pk}", {"title": "Same"}, format="json")

    assert response.json()["version"] == 1
    assert events() == []


def test_it_replaces_a_task_on_put_resetting_omitted_fields(alice_client, make_task):
    task = make_task(title="Old", description="details", tags=["a"], priority="high")

    response = alice_client.put(f"{URL}/{task.pk}", {"title": "New"}, format="json")

    body = response.json()
    assert response.status_code == 200
    assert (body["title"], body["description"], body["tags"], body["priority"]) == ("New", "", [], "medium")


def test_it_accepts_a_put_of_what_it_returned(alice_client, make_task):
    task = make_task(title="Round trip", tags=["x"])
    body = alice_client.get(f"{URL}/{task.pk}").json()
    body["title"] = "Round trip 2"

    response = alice_client.put(f"{URL}/{task.pk}", body, format="json")

    assert response.status_code == 200
    assert response.json()["title"] == "Round trip 2"
    assert response.json()["tags"] == ["x"]


def test_it_refuses_an_invalid_patch_without_writing(alice_client, make_task):
    task = make_task(title="Keep")
    clear_events()

    response = alice_client.patch(f"{URL}/{task.pk}", {"title": "", "priority": "high"}, format="json")

    assert response.status_code == 400
    assert "title" in _error_fields(response)
    task.refresh_from_db()
    assert (task.title, task.priority, task.version) == ("Keep", "medium", 1)
    assert events() == []


def test_it_ends_a_recurrence_when_is_recurring_is_turned_off(alice_client, make_task):
    task = make_task(title="Gym", recurrence_rule="FREQ=DAILY")

    response = alice_client.patch(f"{URL}/{task.pk}", {"is_recurring": False}, format="json")

    assert response.json()["is_recurring"] is False
    assert response.json()["recurrence_rule"] is None


def test_it_deletes_a_task_and_records_task_deleted(alice_client, make_task, alice):
    task = make_task(title="Bye")
    clear_events()

    response = alice_client.delete(f"{URL}/{task.pk}")

    assert response.status_code == 204
    assert not Task.objects.filter(pk=task.pk).exists()
    [event] = events()
    assert event.type == "task.deleted"
    assert event.data == {"task_id": str(task.pk), "user_id": alice.pk, "version": 2}


# --- completion -----------------------------------------------------------------------


def test_it_toggles_a_task_done_and_records_task_completed(alice_client, make_task):
    task = make_task(title="Do", recurrence_rule="FREQ=DAILY")
    clear_events()

    response = alice_client.post(f"{URL}/{task.pk}/toggle")

    body = response.json()
    assert response.status_code == 200
    assert body["is_completed"] is True
    assert body["completed_at"] is not None
    [event] = events()
    assert event.type == "task.completed"
    assert event.data["completed_at"] == body["completed_at"]
    assert event.data["is_recurring"] is True
    assert event.data["recurrence_rule"] == "FREQ=DAILY"
    assert event.data["task"] == _task_part(body)


def test_it_reopens_a_done_task_as_a_task_updated(alice_client, make_task):
    task = make_task(title="Do")
    alice_client.post(f"{URL}/{task.pk}/toggle")
    clear_events()

    response = alice_client.post(f"{URL}/{task.pk}/toggle")

    assert response.json()["is_completed"] is False
    assert response.json()["completed_at"] is None
    assert response.json()["version"] == 3
    [event] = events()
    assert event.type == "task.updated"
    assert event.data["changes"]["is_completed"] == {"old": True, "new": False}


def test_it_completes_through_patch_with_other_changes_as_two_events(alice_client, make_task):
    task = make_task(title="Do")
    clear_events()

    response = alice_client.patch(
        f"{URL}/{task.pk}", {"is_completed": True, "priority": "low"}, format="json"
    )

    assert response.json()["version"] == 2
    updated, completed = events()
    assert updated.type == "task.updated"
    assert updated.data["changes"] == {"priority": {"old": "medium", "new": "low"}}
    assert completed.type == "task.completed"
    assert completed.data["version"] == 2


# --- events only on commit --------------------------------------------------------------


def test_it_dispatches_events_only_after_commit(alice_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        _post(alice_client, {"title": "t"})
        _post(alice_client, {"title": ""})

    # One committed create → one dispatch; the refused one left nothing behind.
    assert len(callbacks) == 1
    assert len(events("task.created")) == 1


def test_it_records_nothing_when_the_surrounding_transaction_rolls_back(alice):
    from django.db import transaction

    from tasks_app import services

    def create_then_fail() -> None:
        with transaction.atomic():
            services.task_create(owner=alice, title="never")
            raise RuntimeError("after the write")

    # given a create inside the caller's transaction, which then fails
    with pytest.raises(RuntimeError):
        create_then_fail()

    # then neither the task nor its event exists
    assert not Task.objects.exists()
    assert events() == []


def test_it_serves_the_browsable_api_to_a_browser(alice, make_task, client):
    task = make_task(title="In the browser")
    client.force_login(alice)

    listing = client.get(URL, HTTP_ACCEPT="text/html")
    detail = client.get(f"{URL}/{task.pk}", HTTP_ACCEPT="text/html")

    assert listing.status_code == 200
    assert b"In the browser" in listing.content
    assert detail.status_code == 200


def _task_part(body: dict) -> dict:
    """A single-task response is the event snapshot plus its ``series`` block."""
    return {key: value for key, value in body.items() if key != "series"}
