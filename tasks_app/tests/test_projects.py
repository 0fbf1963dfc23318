"""Projects and sections through the API (docs/projects.md): success, bad input, isolation, events."""

from __future__ import annotations

import uuid

import pytest

from tasks_app.models import Project, Section, Task
from tasks_app.projects import services as project_services
from tasks_app.tests.helpers import clear_events, events
from todo_project.testing import error_fields

pytestmark = pytest.mark.django_db


def _inbox(user) -> Project:
    project_services.inbox_ensure(user_id=user.pk)
    return Project.objects.get(owner=user, is_inbox=True)


def _project(client, name="Work", **extra) -> dict:
    response = client.post("/api/projects", {"name": name, **extra}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


# --- the Inbox ---------------------------------------------------------------------


def test_it_lists_the_inbox_first_for_a_new_user(alice_client):
    _project(alice_client, "Work")

    results = alice_client.get("/api/projects").json()["results"]

    assert [p["name"] for p in results] == ["Inbox", "Work"]
    assert results[0]["is_inbox"] is True
    assert results[0]["open_tasks"] == 0


def test_it_puts_a_new_task_in_the_inbox_by_default(alice_client, alice):
    response = alice_client.post("/api/tasks", {"title": "Buy milk"}, format="json")

    assert response.status_code == 201
    assert response.json()["project_id"] == str(_inbox(alice).pk)
    assert response.json()["section_id"] is None
    assert response.json()["parent_id"] is None


def test_it_refuses_to_delete_archive_rename_or_nest_the_inbox(alice_client, alice):
    inbox = _inbox(alice)
    work = _project(alice_client)

    deleted = alice_client.delete(f"/api/projects/{inbox.pk}?tasks=delete")
    archived = alice_client.post(f"/api/projects/{inbox.pk}/archive")
    renamed = alice_client.patch(f"/api/projects/{inbox.pk}", {"name": "Mine"}, format="json")
    nested = alice_client.patch(f"/api/projects/{inbox.pk}", {"parent_id": work["id"]}, format="json")
    under = alice_client.post("/api/projects", {"name": "Sub", "parent_id": str(inbox.pk)}, format="json")

    assert deleted.status_code == 400
    assert deleted.json()["error"]["code"] == "inbox_undeletable"
    assert archived.status_code == 400
    assert "name" in error_fields(renamed)
    assert "parent_id" in error_fields(nested)
    assert "parent_id" in error_fields(under)
    assert Project.objects.filter(pk=inbox.pk, is_archived=False, name="Inbox").exists()


# --- create / read / update --------------------------------------------------------


def test_it_creates_a_project_and_records_project_created(alice_client, alice):
    body = _project(alice_client, "Work", color="#DB4035")

    assert body["name"] == "Work"
    assert body["color"] == "#db4035"
    assert body["parent_id"] is None
    assert body["is_archived"] is False
    [event] = events("project.created")
    assert event.data["project_id"] == body["id"]
    assert event.data["project"] == body
    assert event.subject == f"projects/{body['id']}"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": "  "}, "name"),
        ({"name": "x" * 121}, "name"),
        ({"name": 5}, "name"),
        ({"name": "Work", "color": "red"}, "color"),
        ({"name": "Work", "parent_id": "nope"}, "parent_id"),
        ({"name": "Work", "parent_id": str(uuid.uuid4())}, "parent_id"),
        ({"name": "Work", "colour": "#ffffff"}, "colour"),
    ],
)
def test_it_refuses_bad_project_input_naming_the_field(alice_client, body, field):
    response = alice_client.post("/api/projects", body, format="json")

    assert response.status_code == 400
    assert field in error_fields(response), response.json()
    assert not Project.objects.filter(is_inbox=False).exists()
    assert events("project.created") == []


def test_it_nests_projects_three_levels_deep_and_no_deeper(alice_client):
    top = _project(alice_client, "Top")
    middle = _project(alice_client, "Middle", parent_id=top["id"])
    bottom = _project(alice_client, "Bottom", parent_id=middle["id"])

    too_deep = alice_client.post(
        "/api/projects", {"name": "Deeper", "parent_id": bottom["id"]}, format="json"
    )

    assert bottom["parent_id"] == middle["id"]
    assert too_deep.status_code == 400
    assert "parent_id" in error_fields(too_deep)


def test_it_refuses_to_move_a_project_under_its_own_subproject(alice_client):
    top = _project(alice_client, "Top")
    child = _project(alice_client, "Child", parent_id=top["id"])

    response = alice_client.patch(f"/api/projects/{top['id']}", {"parent_id": child["id"]}, format="json")

    assert response.status_code == 400
    assert "parent_id" in error_fields(response)


def test_it_renames_a_project_and_records_the_changes(alice_client):
    work = _project(alice_client, "Work")
    clear_events()

    response = alice_client.patch(
        f"/api/projects/{work['id']}", {"name": "Job", "color": "#ffffff"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["version"] == 2
    [event] = events("project.updated")
    assert event.data["changes"] == {
        "name": {"old": "Work", "new": "Job"},
        "color": {"old": "#808080", "new": "#ffffff"},
    }


def test_it_records_nothing_for_an_update_that_changes_nothing(alice_client):
    work = _project(alice_client, "Work")
    clear_events()

    response = alice_client.patch(f"/api/projects/{work['id']}", {"name": "Work"}, format="json")

    assert response.status_code == 200
    assert events() == []


def test_another_users_project_is_a_404_everywhere(alice_client, bob_client):
    work = _project(alice_client, "Work")
    url = f"/api/projects/{work['id']}"

    responses = [
        bob_client.get(url),
        bob_client.patch(url, {"name": "Mine"}, format="json"),
        bob_client.delete(url + "?tasks=delete"),
        bob_client.post(url + "/archive"),
        bob_client.post(url + "/unarchive"),
        bob_client.get(url + "/sections"),
        bob_client.post(url + "/sections", {"name": "Mine"}, format="json"),
        bob_client.get("/api/projects/not-a-uuid"),
    ]

    assert [r.status_code for r in responses] == [404] * len(responses)
    assert Project.objects.get(pk=work["id"]).name == "Work"


def test_a_task_cannot_be_put_in_another_users_project(alice_client, bob_client):
    work = _project(alice_client, "Work")

    response = bob_client.post("/api/tasks", {"title": "Sneak", "project_id": work["id"]}, format="json")

    assert response.status_code == 400
    assert "project_id" in error_fields(response)


# --- archive / reorder -------------------------------------------------------------


def test_it_archives_a_project_with_its_subprojects_and_unarchives_them(alice_client):
    top = _project(alice_client, "Top")
    child = _project(alice_client, "Child", parent_id=top["id"])
    clear_events()

    archived = alice_client.post(f"/api/projects/{top['id']}/archive")
    listed = alice_client.get("/api/projects").json()["results"]
    listed_archived = alice_client.get("/api/projects?archived=true").json()["results"]
    unarchived = alice_client.post(f"/api/projects/{child['id']}/unarchive")

    assert archived.status_code == 200
    assert archived.json()["is_archived"] is True
    assert [p["name"] for p in listed] == ["Inbox"]
    assert {p["name"] for p in listed_archived} == {"Top", "Child"}
    [archive_event] = events("project.archived")
    assert set(archive_event.data["project_ids"]) == {top["id"], child["id"]}
    # Unarchiving the child brings back its archived parent too.
    assert unarchived.json()["is_archived"] is False
    [unarchive_event] = events("project.unarchived")
    assert set(unarchive_event.data["project_ids"]) == {top["id"], child["id"]}
    assert not Project.objects.filter(is_archived=True).exists()


def test_it_refuses_new_tasks_in_an_archived_project(alice_client):
    work = _project(alice_client, "Work")
    alice_client.post(f"/api/projects/{work['id']}/archive")

    response = alice_client.post("/api/tasks", {"title": "x", "project_id": work["id"]}, format="json")

    assert response.status_code == 400
    assert "project_id" in error_fields(response)


def test_it_reorders_projects_and_records_project_reordered(alice_client):
    a, b, c = (_project(alice_client, name) for name in "ABC")
    clear_events()

    response = alice_client.post(
        "/api/projects/reorder", {"project_ids": [c["id"], a["id"], b["id"]]}, format="json"
    )

    assert response.status_code == 200
    names = [p["name"] for p in alice_client.get("/api/projects").json()["results"]]
    assert names == ["Inbox", "C", "A", "B"]
    [event] = events("project.reordered")
    assert event.data["project_ids"] == [c["id"], a["id"], b["id"]]


def test_it_refuses_to_reorder_another_users_project(alice_client, bob_client):
    work = _project(alice_client, "Work")

    response = bob_client.post("/api/projects/reorder", {"project_ids": [work["id"]]}, format="json")
    bad = alice_client.post("/api/projects/reorder", {"project_ids": ["x"]}, format="json")

    assert response.status_code == 400
    assert "project_ids" in error_fields(response)
    assert bad.status_code == 400
    assert {"project_ids.0", "project_ids"} & set(error_fields(bad))


# --- delete ------------------------------------------------------------------------


def test_it_refuses_to_delete_a_project_that_has_tasks(alice_client):
    work = _project(alice_client, "Work")
    alice_client.post("/api/tasks", {"title": "Report", "project_id": work["id"]}, format="json")
    clear_events()

    response = alice_client.delete(f"/api/projects/{work['id']}")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "project_not_empty"
    assert Project.objects.filter(pk=work["id"]).exists()
    assert events() == []


def test_it_deletes_an_empty_project_with_its_subprojects_and_sections(alice_client):
    top = _project(alice_client, "Top")
    child = _project(alice_client, "Child", parent_id=top["id"])
    alice_client.post(f"/api/projects/{child['id']}/sections", {"name": "Later"}, format="json")
    clear_events()

    response = alice_client.delete(f"/api/projects/{top['id']}")

    assert response.status_code == 200
    assert set(response.json()["deleted_project_ids"]) == {top["id"], child["id"]}
    assert not Project.objects.filter(is_inbox=False).exists()
    assert not Section.objects.exists()
    [event] = events("project.deleted")
    assert event.data["tasks"] == "none"


def test_it_deletes_a_project_with_its_tasks_when_asked(alice_client):
    work = _project(alice_client, "Work")
    task = alice_client.post(
        "/api/tasks", {"title": "Report", "project_id": work["id"]}, format="json"
    ).json()
    clear_events()

    response = alice_client.delete(f"/api/projects/{work['id']}?tasks=delete")

    assert response.status_code == 200
    assert not Task.objects.exists()
    assert [e.type for e in events()] == ["task.deleted", "project.deleted"]
    assert events("project.deleted")[0].data["task_ids"] == [task["id"]]


def test_it_moves_a_projects_tasks_elsewhere_when_asked(alice_client, alice):
    work = _project(alice_client, "Work")
    section = alice_client.post(
        f"/api/projects/{work['id']}/sections", {"name": "Soon"}, format="json"
    ).json()
    task = alice_client.post(
        "/api/tasks", {"title": "Report", "section_id": section["id"]}, format="json"
    ).json()
    inbox = _inbox(alice)
    clear_events()

    response = alice_client.delete(f"/api/projects/{work['id']}?tasks=move&move_to={inbox.pk}")

    assert response.status_code == 200
    moved = Task.objects.get(pk=task["id"])
    assert (moved.project_id, moved.section_id) == (inbox.pk, None)
    [event] = events("task.moved")
    assert event.data["from"]["project_id"] == work["id"]
    assert event.data["to"] == {"project_id": str(inbox.pk), "section_id": None, "parent_id": None}
    assert events("project.deleted")[0].data["moved_to"] == str(inbox.pk)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("tasks=explode", "tasks"),
        ("tasks=move", "move_to"),
        ("tasks=move&move_to=nope", "move_to"),
        ("tasks=delete&move_to=x", "move_to"),
    ],
)
def test_it_refuses_a_bad_delete_mode_naming_the_parameter(alice_client, query, field):
    work = _project(alice_client, "Work")

    response = alice_client.delete(f"/api/projects/{work['id']}?{query}")

    assert response.status_code == 400
    assert field in error_fields(response)


def test_it_refuses_to_move_tasks_into_the_project_being_deleted_or_someone_elses(
    alice_client, bob_client, bob
):
    work = _project(alice_client, "Work")
    alice_client.post("/api/tasks", {"title": "Report", "project_id": work["id"]}, format="json")
    bobs = _inbox(bob)

    into_itself = alice_client.delete(f"/api/projects/{work['id']}?tasks=move&move_to={work['id']}")
    into_bobs = alice_client.delete(f"/api/projects/{work['id']}?tasks=move&move_to={bobs.pk}")

    assert into_itself.status_code == 400
    assert "move_to" in error_fields(into_itself)
    assert into_bobs.status_code == 400
    assert "project_id" in error_fields(into_bobs)
    assert Task.objects.get().project_id == uuid.UUID(work["id"])


# --- listing tasks by project --------------------------------------------------------


def test_it_lists_a_projects_tasks_with_or_without_its_subprojects(alice_client):
    top = _project(alice_client, "Top")
    child = _project(alice_client, "Child", parent_id=top["id"])
    alice_client.post("/api/tasks", {"title": "In top", "project_id": top["id"]}, format="json")
    alice_client.post("/api/tasks", {"title": "In child", "project_id": child["id"]}, format="json")
    alice_client.post("/api/tasks", {"title": "In inbox"}, format="json")

    only_top = alice_client.get(f"/api/tasks?project={top['id']}").json()["results"]
    with_children = alice_client.get(f"/api/tasks?project={top['id']}&include_subprojects=true").json()[
        "results"
    ]
    inbox = alice_client.get("/api/tasks?project=inbox").json()["results"]

    assert [t["title"] for t in only_top] == ["In top"]
    assert sorted(t["title"] for t in with_children) == ["In child", "In top"]
    assert [t["title"] for t in inbox] == ["In inbox"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("project=nope", "project"),
        ("include_subprojects=true", "include_subprojects"),
        (f"project={uuid.UUID(int=1)}&include_subprojects=maybe", "include_subprojects"),
        ("section=x", "section"),
        ("parent=x", "parent"),
    ],
)
def test_it_refuses_bad_project_filters_naming_the_parameter(alice_client, query, field):
    response = alice_client.get(f"/api/tasks?{query}")

    assert response.status_code == 400
    assert field in error_fields(response)


def test_another_users_project_filter_lists_nothing(alice_client, bob_client):
    work = _project(alice_client, "Work")
    alice_client.post("/api/tasks", {"title": "Secret", "project_id": work["id"]}, format="json")

    response = bob_client.get(f"/api/tasks?project={work['id']}&include_subprojects=true")

    assert response.status_code == 200
    assert response.json()["results"] == []


def test_a_saved_filter_can_name_a_project(alice_client):
    work = _project(alice_client, "Work")
    alice_client.post("/api/tasks", {"title": "Report", "project_id": work["id"]}, format="json")
    alice_client.post("/api/tasks", {"title": "Milk"}, format="json")
    saved = alice_client.post(
        "/api/filters",
        {"name": "Work", "params": {"project": work["id"], "include_subprojects": True}},
        format="json",
    )
    bad = alice_client.post("/api/filters", {"name": "Bad", "params": {"project": "x"}}, format="json")

    listed = alice_client.get(f"/api/filters/{saved.json()['id']}/tasks").json()["results"]

    assert saved.status_code == 201
    assert [t["title"] for t in listed] == ["Report"]
    assert bad.status_code == 400
    assert "params.project" in error_fields(bad)


# --- sections ------------------------------------------------------------------------


def test_it_creates_lists_renames_and_reorders_sections(alice_client):
    work = _project(alice_client, "Work")
    url = f"/api/projects/{work['id']}/sections"
    first = alice_client.post(url, {"name": "Now"}, format="json").json()
    second = alice_client.post(url, {"name": "Later"}, format="json").json()

    renamed = alice_client.patch(f"/api/sections/{first['id']}", {"name": "Today"}, format="json")
    reordered = alice_client.post(
        url + "/reorder", {"section_ids": [second["id"], first["id"]]}, format="json"
    )
    listed = alice_client.get(url).json()["results"]

    assert renamed.status_code == 200
    assert renamed.json()["name"] == "Today"
    assert reordered.status_code == 200
    assert [s["name"] for s in listed] == ["Later", "Today"]
    assert [e.type for e in events() if e.type.startswith("section.")] == [
        "section.created",
        "section.created",
        "section.updated",
        "section.reordered",
    ]


def test_it_refuses_bad_section_input_and_other_users_sections(alice_client, bob_client):
    work = _project(alice_client, "Work")
    section = alice_client.post(f"/api/projects/{work['id']}/sections", {"name": "Now"}, format="json").json()

    blank = alice_client.post(f"/api/projects/{work['id']}/sections", {"name": ""}, format="json")
    bobs_rename = bob_client.patch(f"/api/sections/{section['id']}", {"name": "Mine"}, format="json")
    bobs_delete = bob_client.delete(f"/api/sections/{section['id']}")
    bobs_task = bob_client.post("/api/tasks", {"title": "x", "section_id": section["id"]}, format="json")

    assert blank.status_code == 400
    assert "name" in error_fields(blank)
    assert bobs_rename.status_code == 404
    assert bobs_delete.status_code == 404
    assert bobs_task.status_code == 400
    assert "section_id" in error_fields(bobs_task)


def test_a_task_in_a_section_is_in_the_sections_project(alice_client):
    work = _project(alice_client, "Work")
    other = _project(alice_client, "Other")
    section = alice_client.post(f"/api/projects/{work['id']}/sections", {"name": "Now"}, format="json").json()

    task = alice_client.post("/api/tasks", {"title": "x", "section_id": section["id"]}, format="json").json()
    mismatched = alice_client.post(
        "/api/tasks", {"title": "y", "section_id": section["id"], "project_id": other["id"]}, format="json"
    )

    assert (task["project_id"], task["section_id"]) == (work["id"], section["id"])
    assert mismatched.status_code == 400
    assert "section_id" in error_fields(mismatched)


def test_deleting_a_section_keeps_its_tasks_in_the_project(alice_client):
    work = _project(alice_client, "Work")
    section = alice_client.post(f"/api/projects/{work['id']}/sections", {"name": "Now"}, format="json").json()
    task = alice_client.post("/api/tasks", {"title": "x", "section_id": section["id"]}, format="json").json()
    clear_events()

    response = alice_client.delete(f"/api/sections/{section['id']}")

    assert response.status_code == 200
    assert response.json()["moved_task_ids"] == [task["id"]]
    kept = Task.objects.get(pk=task["id"])
    assert (str(kept.project_id), kept.section_id) == (work["id"], None)
    assert [e.type for e in events()] == ["task.moved", "section.deleted"]


def test_reordering_sections_refuses_another_users_or_another_projects_section(alice_client, bob_client):
    work = _project(alice_client, "Work")
    home = _project(alice_client, "Home")
    url = f"/api/projects/{work['id']}/sections"
    mine = alice_client.post(url, {"name": "Now"}, format="json").json()
    elsewhere = alice_client.post(
        f"/api/projects/{home['id']}/sections", {"name": "Later"}, format="json"
    ).json()
    bobs_project = _project(bob_client, "Bob's")
    bobs = bob_client.post(
        f"/api/projects/{bobs_project['id']}/sections", {"name": "Bob's"}, format="json"
    ).json()
    clear_events()

    foreign = alice_client.post(url + "/reorder", {"section_ids": [bobs["id"], mine["id"]]}, format="json")
    other_project = alice_client.post(
        url + "/reorder", {"section_ids": [elsewhere["id"], mine["id"]]}, format="json"
    )
    not_list = alice_client.post(url + "/reorder", {"section_ids": "nope"}, format="json")
    bobs_url = bob_client.post(url + "/reorder", {"section_ids": [mine["id"]]}, format="json")

    for refused in (foreign, other_project, not_list):
        assert refused.status_code == 400, refused.json()
        assert "section_ids" in error_fields(refused)
    assert bobs_url.status_code == 404
    assert [e.type for e in events()] == []
