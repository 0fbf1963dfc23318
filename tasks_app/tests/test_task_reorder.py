"""POST /api/tasks/reorder: positions rewritten in one transaction, others' ids refused."""

from __future__ import annotations

import uuid

import pytest

from tasks_app.models import Task
from tasks_app.tests.helpers import clear_events, events

pytestmark = pytest.mark.django_db

URL = "/api/tasks/reorder"


def _order(client) -> list[str]:
    return [task["title"] for task in client.get("/api/tasks?sort_by=position").json()["results"]]


def test_it_reorders_all_tasks_and_records_task_reordered(alice_client, alice, make_task):
    a, b, c = (make_task(title=title) for title in "abc")
    clear_events()

    response = alice_client.post(URL, {"task_ids": [str(c.pk), str(a.pk), str(b.pk)]}, format="json")

    assert response.status_code == 200
    assert response.json() == {"task_ids": [str(c.pk), str(a.pk), str(b.pk)]}
    assert _order(alice_client) == ["c", "a", "b"]
    [event] = events()
    assert event.type == "task.reordered"
    assert event.data == {"user_id": alice.pk, "task_ids": [str(c.pk), str(a.pk), str(b.pk)]}


def test_it_bumps_the_version_of_moved_tasks_only(alice_client, make_task):
    a, b, c = (make_task(title=title) for title in "abc")

    alice_client.post(URL, {"task_ids": [str(b.pk), str(a.pk), str(c.pk)]}, format="json")

    versions = dict(Task.objects.values_list("title", "version"))
    assert versions == {"a": 2, "b": 2, "c": 1}


def test_it_records_nothing_when_the_order_is_unchanged(alice_client, make_task):
    a, b = make_task(title="a"), make_task(title="b")
    clear_events()

    response = alice_client.post(URL, {"task_ids": [str(a.pk), str(b.pk)]}, format="json")

    assert response.status_code == 200
    assert events() == []
    assert set(Task.objects.values_list("version", flat=True)) == {1}


def test_it_reorders_a_subset_within_the_slots_it_occupies(alice_client, make_task):
    a, b, c, d = (make_task(title=title) for title in "abcd")

    alice_client.post(URL, {"task_ids": [str(d.pk), str(b.pk)]}, format="json")

    assert _order(alice_client) == ["a", "d", "c", "b"]


def test_it_compacts_duplicate_positions_before_reordering(alice_client, make_task):
    a, b, c = (make_task(title=title) for title in "abc")
    Task.objects.filter(pk__in=[a.pk, b.pk]).update(position=0)

    alice_client.post(URL, {"task_ids": [str(b.pk), str(a.pk)]}, format="json")

    positions = list(Task.objects.order_by("position").values_list("title", "position"))
    assert [title for title, _ in positions] == ["b", "a", "c"]
    assert len({position for _, position in positions}) == 3


def test_it_refuses_another_users_task_without_moving_anything(alice_client, bob, make_task):
    a, b = make_task(title="a"), make_task(title="b")
    bobs = make_task(owner=bob, title="bob's")
    clear_events()

    response = alice_client.post(URL, {"task_ids": [str(b.pk), str(bobs.pk), str(a.pk)]}, format="json")

    assert response.status_code == 400
    assert "task_ids" in response.json()["error"]["fields"]
    assert _order(alice_client) == ["a", "b"]
    assert events() == []


@pytest.mark.parametrize(
    "body",
    [
        {"task_ids": []},
        {"task_ids": ["nope"]},
        {"task_ids": "abc"},
        {},
        {"task_ids": [str(uuid.uuid4())]},
    ],
)
def test_it_refuses_bad_reorder_bodies(alice_client, make_task, body):
    make_task(title="a")

    response = alice_client.post(URL, body, format="json")

    assert response.status_code == 400
    assert any(key.startswith("task_ids") for key in response.json()["error"]["fields"])


def test_it_refuses_a_duplicate_id(alice_client, make_task):
    a = make_task(title="a")

    response = alice_client.post(URL, {"task_ids": [str(a.pk), str(a.pk)]}, format="json")

    assert response.status_code == 400
