"""GET /api/tags and the saved filters at /api/filters."""

from __future__ import annotations

import pytest

from tasks_app.models import SavedFilter

pytestmark = pytest.mark.django_db


# --- tags ------------------------------------------------------------------------------


def test_it_counts_the_callers_tags_most_used_first(alice_client, bob, make_task):
    make_task(tags=["Work", "finance"])
    make_task(tags=["work"])
    make_task(tags=["WORK", "home"])
    make_task(owner=bob, tags=["secret", "work"])

    response = alice_client.get("/api/tags")

    assert response.status_code == 200
    # "work" in three casings is one tag, shown in its most frequent casing... ties → first in order
    results = response.json()["results"]
    assert [(tag["name"].lower(), tag["count"]) for tag in results] == [
        ("work", 3),
        ("finance", 1),
        ("home", 1),
    ]


def test_it_shows_the_most_used_casing_of_a_tag(alice_client, make_task):
    make_task(tags=["Work"])
    make_task(tags=["Work"])
    make_task(tags=["work"])

    assert alice_client.get("/api/tags").json()["results"] == [{"name": "Work", "count": 3}]


def test_it_suggests_tags_by_prefix_case_insensitively(alice_client, make_task):
    make_task(tags=["Finance", "fitness", "work"])

    names = [tag["name"] for tag in alice_client.get("/api/tags?prefix=FI").json()["results"]]

    assert names == ["Finance", "fitness"]


def test_it_treats_like_wildcards_in_a_prefix_literally(alice_client, make_task):
    make_task(tags=["50% off", "500"])

    names = [tag["name"] for tag in alice_client.get("/api/tags?prefix=50%25").json()["results"]]

    assert names == ["50% off"]


@pytest.mark.parametrize("limit", ["0", "101", "x"])
def test_it_refuses_a_bad_tag_limit(alice_client, limit):
    response = alice_client.get(f"/api/tags?limit={limit}")

    assert response.status_code == 400
    assert "limit" in response.json()["error"]["fields"]


# --- saved filters --------------------------------------------------------------------


def test_it_saves_a_filter_normalising_its_params(alice_client):
    response = alice_client.post(
        "/api/filters",
        {
            "name": "Work this week",
            "params": {"tags": ["work", "urgent"], "is_recurring": False, "status": "active"},
        },
        format="json",
    )

    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "Work this week"
    assert body["params"] == {"tags": "work,urgent", "is_recurring": "false", "status": "active"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "params": {"status": "open"}}, "params.status"),
        ({"name": "x", "params": {"sort_by": "owner"}}, "params.sort_by"),
        ({"name": "x", "params": {"limit": "10"}}, "params.limit"),
        ({"name": "x", "params": {"colour": "red"}}, "params.colour"),
        ({"name": "x", "params": {"priority": 3}}, "params.priority"),
        ({"name": "", "params": {}}, "name"),
        ({"params": {}}, "name"),
        ({"name": "x", "params": "status=active"}, "params"),
        ({"name": "x", "extra": 1}, "extra"),
    ],
)
def test_it_refuses_a_bad_saved_filter(alice_client, body, field):
    response = alice_client.post("/api/filters", body, format="json")

    assert response.status_code == 400
    assert field in response.json()["error"]["fields"], response.json()
    assert not SavedFilter.objects.exists()


def test_it_refuses_a_duplicate_name_case_insensitively(alice_client, bob_client):
    alice_client.post("/api/filters", {"name": "Work"}, format="json")

    response = alice_client.post("/api/filters", {"name": "WORK"}, format="json")

    assert response.status_code == 409
    assert "name" in response.json()["error"]["fields"]
    # another user may use the same name
    assert bob_client.post("/api/filters", {"name": "Work"}, format="json").status_code == 201


def test_it_lists_gets_updates_and_deletes_saved_filters(alice_client):
    created = alice_client.post(
        "/api/filters", {"name": "B", "params": {"status": "active"}}, format="json"
    ).json()
    alice_client.post("/api/filters", {"name": "A"}, format="json")
    url = f"/api/filters/{created['id']}"

    assert [f["name"] for f in alice_client.get("/api/filters").json()["results"]] == ["A", "B"]
    assert alice_client.get(url).json()["params"] == {"status": "active"}

    patched = alice_client.patch(url, {"name": "C"}, format="json").json()
    assert patched["name"] == "C"
    assert patched["params"] == {"status": "active"}

    replaced = alice_client.put(url, {"name": "D"}, format="json").json()
    assert replaced["params"] == {}

    assert alice_client.delete(url).status_code == 204
    assert alice_client.get(url).status_code == 404


def test_it_hides_another_users_saved_filter(alice_client, bob_client):
    saved = alice_client.post("/api/filters", {"name": "Mine"}, format="json").json()
    url = f"/api/filters/{saved['id']}"

    assert bob_client.get(url).status_code == 404
    assert bob_client.get(f"{url}/tasks").status_code == 404
    assert bob_client.patch(url, {"name": "Stolen"}, format="json").status_code == 404
    assert bob_client.delete(url).status_code == 404
    assert alice_client.get(url).json()["name"] == "Mine"


def test_it_lists_tasks_through_a_saved_filter_with_explicit_params_overriding(alice_client, make_task):
    make_task(title="work high", tags=["work"], priority="high")
    make_task(title="work low", tags=["work"], priority="low")
    make_task(title="home high", tags=["home"], priority="high")
    saved = alice_client.post(
        "/api/filters", {"name": "Work", "params": {"tags": "work", "sort_by": "title"}}, format="json"
    ).json()
    url = f"/api/filters/{saved['id']}/tasks"

    titles = [t["title"] for t in alice_client.get(url).json()["results"]]
    overridden = [t["title"] for t in alice_client.get(f"{url}?tags=home").json()["results"]]
    paged = alice_client.get(f"{url}?limit=1").json()

    assert titles == ["work high", "work low"]
    assert overridden == ["home high"]
    assert paged["count"] == 2
    assert len(paged["results"]) == 1
