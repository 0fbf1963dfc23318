"""Subtasks and moving tasks (docs/projects.md): nesting, completion, deletion, moves, recurrence."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tasks_app.models import Task
from tasks_app.tests.helpers import clear_events, events
from todo_project.testing import error_fields

pytestmark = pytest.mark.django_db


def _task(client, title, **extra) -> dict:
    response = client.post("/api/tasks", {"title": title, **extra}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def _chain(client, depth: int) -> list[dict]:
    tasks = [_task(client, "Level 1")]
    for level in range(2, depth + 1):
        tasks.append(_task(client, f"Level {level}", parent_id=tasks[-1]["id"]))
    return tasks


def test_a_subtask_lives_in_its_parents_project_and_section(alice_client):
    project = alice_client.post("/api/projects", {"name": "Work"}, format="json").json()
    section = alice_client.post(
        f"/api/projects/{project['id']}/sections", {"name": "Now"}, format="json"
    ).json()
    parent = _task(alice_client, "Trip", section_id=section["id"])

    child = _task(alice_client, "Book hotel", parent_id=parent["id"])

    assert (child["parent_id"], child["project_id"], child["section_id"]) == (
        parent["id"],
        project["id"],
        section["id"],
    )
    listed = alice_client.get(f"/api/tasks?parent={parent['id']}").json()["results"]
    assert [t["title"] for t in listed] == ["Book hotel"]
    top_level = alice_client.get("/api/tasks?parent=none").json()["results"]
    assert [t["title"] for t in top_level] == ["Trip"]


def test_subtasks_nest_four_levels_deep_and_no_deeper(alice_client):
    chain = _chain(alice_client, 4)

    response = alice_client.post(
        "/api/tasks", {"title": "Level 5", "parent_id": chain[-1]["id"]}, format="json"
    )

    assert response.status_code == 400
    assert "parent_id" in error_fields(response)


def test_it_refuses_a_parent_that_is_not_yours_or_in_another_project(alice_client, bob_client):
    parent = _task(alice_client, "Trip")
    project = alice_client.post("/api/projects", {"name": "Work"}, format="json").json()

    bobs = bob_client.post("/api/tasks", {"title": "x", "parent_id": parent["id"]}, format="json")
    mismatch = alice_client.post(
        "/api/tasks", {"title": "x", "parent_id": parent["id"], "project_id": project["id"]}, format="json"
    )
    malformed = alice_client.post("/api/tasks", {"title": "x", "parent_id": "nope"}, format="json")

    assert bobs.status_code == 400
    assert "parent_id" in error_fields(bobs)
    assert mismatch.status_code == 400
    assert "parent_id" in error_fields(mismatch)
    assert malformed.status_code == 400
    assert "parent_id" in error_fields(malformed)


def test_completing_a_parent_completes_its_open_subtasks(alice_client):
    parent, child, grandchild = _chain(alice_client, 3)
    done_already = _task(alice_client, "Done", parent_id=parent["id"])
    alice_client.post(f"/api/tasks/{done_already['id']}/toggle")
    clear_events()

    response = alice_client.patch(f"/api/tasks/{parent['id']}", {"is_completed": True}, format="json")

    assert response.status_code == 200
    assert not Task.objects.filter(is_completed=False).exists()
    completed = [e.data["task_id"] for e in events("task.completed")]
    assert completed == [parent["id"], child["id"], grandchild["id"]]


def test_reopening_a_parent_leaves_its_subtasks_completed(alice_client):
    parent, child = _chain(alice_client, 2)
    alice_client.post(f"/api/tasks/{parent['id']}/toggle")

    alice_client.post(f"/api/tasks/{parent['id']}/toggle")

    assert Task.objects.get(pk=parent["id"]).is_completed is False
    assert Task.objects.get(pk=child["id"]).is_completed is True


def test_deleting_a_parent_deletes_its_subtree_in_one_go(alice_client):
    parent, child, grandchild = _chain(alice_client, 3)
    keep = _task(alice_client, "Unrelated")
    clear_events()

    response = alice_client.delete(f"/api/tasks/{parent['id']}")

    assert response.status_code == 204
    assert list(Task.objects.values_list("title", flat=True)) == [keep["title"]]
    assert [e.data["task_id"] for e in events("task.deleted")] == [
        parent["id"],
        child["id"],
        grandchild["id"],
    ]


def test_moving_a_parent_moves_its_subtree(alice_client):
    parent, child, grandchild = _chain(alice_client, 3)
    project = alice_client.post("/api/projects", {"name": "Work"}, format="json").json()
    clear_events()

    response = alice_client.post(
        f"/api/tasks/{parent['id']}/move", {"project_id": project["id"]}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["project_id"] == project["id"]
    assert set(Task.objects.values_list("project_id", flat=True)) == {
        Task.objects.get(pk=parent["id"]).project_id
    }
    moved = events("task.moved")
    assert [e.data["task_id"] for e in moved] == [parent["id"], child["id"], grandchild["id"]]
    assert moved[1].data["to"]["parent_id"] == parent["id"]  # the subtree keeps its shape
    assert events("task.updated") == []


def test_a_patch_can_move_a_task_under_another_parent(alice_client):
    a = _task(alice_client, "A")
    b = _task(alice_client, "B")

    response = alice_client.patch(
        f"/api/tasks/{b['id']}", {"parent_id": a["id"], "title": "B!"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["parent_id"] == a["id"]
    [updated] = events("task.updated")
    assert set(updated.data["changes"]) == {"title"}
    [moved] = events("task.moved")
    assert moved.data["from"]["parent_id"] is None
    assert moved.data["to"]["parent_id"] == a["id"]


def test_it_refuses_to_move_a_task_under_its_own_subtask_or_too_deep(alice_client):
    chain = _chain(alice_client, 3)
    other = _chain(alice_client, 2)

    cycle = alice_client.post(
        f"/api/tasks/{chain[0]['id']}/move", {"parent_id": chain[2]["id"]}, format="json"
    )
    itself = alice_client.post(
        f"/api/tasks/{chain[0]['id']}/move", {"parent_id": chain[0]["id"]}, format="json"
    )
    too_deep = alice_client.post(
        f"/api/tasks/{other[0]['id']}/move", {"parent_id": chain[2]["id"]}, format="json"
    )

    for response in (cycle, itself, too_deep):
        assert response.status_code == 400
        assert "parent_id" in error_fields(response)


def test_moving_another_users_task_is_a_404_and_bad_move_input_a_400(alice_client, bob_client):
    task = _task(alice_client, "Mine")

    bobs = bob_client.post(f"/api/tasks/{task['id']}/move", {"project_id": None}, format="json")
    empty = alice_client.post(f"/api/tasks/{task['id']}/move", {}, format="json")
    unknown = alice_client.post(f"/api/tasks/{task['id']}/move", {"folder": "x"}, format="json")

    assert bobs.status_code == 404
    assert empty.status_code == 400
    assert "project_id" in error_fields(empty)
    assert unknown.status_code == 400
    assert "folder" in error_fields(unknown)


def test_moving_to_the_same_place_records_nothing(alice_client):
    task = _task(alice_client, "Stay")
    clear_events()

    response = alice_client.post(
        f"/api/tasks/{task['id']}/move", {"project_id": task["project_id"]}, format="json"
    )

    assert response.status_code == 200
    assert events() == []


def test_subtasks_reorder_among_their_siblings(alice_client):
    parent = _task(alice_client, "Trip")
    first = _task(alice_client, "Flights", parent_id=parent["id"])
    second = _task(alice_client, "Hotel", parent_id=parent["id"])

    response = alice_client.post(
        "/api/tasks/reorder", {"task_ids": [second["id"], first["id"]]}, format="json"
    )

    assert response.status_code == 200
    listed = alice_client.get(f"/api/tasks?parent={parent['id']}&sort_by=position").json()["results"]
    assert [t["title"] for t in listed] == ["Hotel", "Flights"]


def test_a_recurring_tasks_subtasks_are_copied_open_to_the_next_occurrence(
    alice_client, django_capture_on_commit_callbacks
):
    due = (timezone.now() + timedelta(days=1)).replace(microsecond=0)
    parent = _task(
        alice_client,
        "Weekly review",
        due_at=due.isoformat(),
        recurrence_rule="FREQ=WEEKLY",
        is_recurring=True,
    )
    child = _task(alice_client, "Inbox zero", parent_id=parent["id"])
    _task(alice_client, "Archive mail", parent_id=child["id"])

    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(f"/api/tasks/{parent['id']}/toggle")

    assert response.status_code == 200
    nxt = Task.objects.get(series_id=response.json()["series_id"], is_completed=False, parent__isnull=True)
    copied = Task.objects.get(parent_id=nxt.pk)
    assert (copied.title, copied.is_completed, copied.project_id) == ("Inbox zero", False, nxt.project_id)
    assert Task.objects.get(parent_id=copied.pk).title == "Archive mail"
    # The completed occurrence's own subtasks were completed with it.
    assert Task.objects.get(pk=child["id"]).is_completed is True


def test_a_subtask_records_task_created_with_its_parent_and_is_nobody_elses(alice_client, bob_client):
    parent = _task(alice_client, "Trip")
    clear_events()

    child = _task(alice_client, "Pack", parent_id=parent["id"])

    [created] = events("task.created")
    assert created.data["task"]["parent_id"] == parent["id"]
    assert created.data["task_id"] == child["id"]
    assert bob_client.get(f"/api/tasks/{child['id']}").status_code == 404
    assert bob_client.patch(f"/api/tasks/{child['id']}", {"title": "x"}, format="json").status_code == 404
    assert bob_client.delete(f"/api/tasks/{child['id']}").status_code == 404
    assert [e.type for e in events()] == ["task.created"]
