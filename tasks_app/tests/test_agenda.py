"""GET /api/views/… (docs/projects.md): Today, Upcoming, Overdue, Inbox, counts — in the user's zone."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import time_machine

from tasks_app import services
from tasks_app.projects import services as project_services
from tasks_app.tests.helpers import events

pytestmark = pytest.mark.django_db

# 23:30 UTC on 10 March is already 11 March, 00:30, in Berlin (alice's zone):
# her "today" is the 11th while UTC's is still the 10th.
NOW = datetime(2026, 3, 10, 23, 30, tzinfo=UTC)


def _at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def _make(owner, title, **values):
    return services.task_create(owner=owner, title=title, **values)


def _titles(tasks) -> list[str]:
    return [task["title"] for task in tasks]


def test_today_lists_overdue_then_todays_tasks_in_todoist_order(clock, alice_client, alice):
    _make(alice, "Old bill", due_date=date(2026, 3, 1))
    _make(alice, "Yesterday evening", due_at=_at(2026, 3, 10, 18, 0))  # 19:00 on the 10th in Berlin
    _make(alice, "Date only, low", due_date=date(2026, 3, 11), priority="low")
    _make(alice, "Date only, high", due_date=date(2026, 3, 11), priority="high")
    _make(alice, "Lunch", due_at=_at(2026, 3, 11, 11, 0))
    _make(alice, "Breakfast", due_at=_at(2026, 3, 11, 7, 0))
    _make(alice, "Just after midnight", due_at=_at(2026, 3, 10, 23, 15))  # 00:15 on the 11th, Berlin
    _make(alice, "Tomorrow", due_date=date(2026, 3, 12))
    _make(alice, "Done", due_date=date(2026, 3, 11), is_completed=True)
    _make(alice, "No date")

    body = alice_client.get("/api/views/today").json()

    assert body["date"] == "2026-03-11"
    assert body["timezone"] == "Europe/Berlin"
    assert _titles(body["overdue"]) == ["Old bill", "Yesterday evening"]
    assert _titles(body["today"]) == [
        "Just after midnight",
        "Breakfast",
        "Lunch",
        "Date only, high",
        "Date only, low",
    ]
    assert events("task.updated") == []


def test_upcoming_groups_tasks_by_local_day(clock, alice_client, alice):
    _make(alice, "Today", due_date=date(2026, 3, 11))
    _make(alice, "Friday late", due_at=_at(2026, 3, 13, 22, 30))  # 23:30 Friday, Berlin
    _make(alice, "Saturday early", due_at=_at(2026, 3, 13, 23, 30))  # 00:30 Saturday, Berlin
    _make(alice, "Too far", due_date=date(2026, 3, 14))
    _make(alice, "Overdue", due_date=date(2026, 3, 1))

    body = alice_client.get("/api/views/upcoming?days=3").json()

    assert (body["start"], body["end"]) == ("2026-03-11", "2026-03-13")
    assert [(day["date"], _titles(day["tasks"])) for day in body["days"]] == [
        ("2026-03-11", ["Today"]),
        ("2026-03-12", []),
        ("2026-03-13", ["Friday late"]),
    ]
    assert body["truncated"] is False


def test_overdue_lists_only_tasks_due_before_today(clock, alice_client, alice):
    _make(alice, "Older", due_date=date(2026, 2, 1))
    _make(alice, "Old", due_at=_at(2026, 3, 9, 12, 0))
    _make(alice, "Earlier today is not overdue", due_at=_at(2026, 3, 10, 23, 5))

    body = alice_client.get("/api/views/overdue").json()

    assert _titles(body["results"]) == ["Older", "Old"]


def test_the_inbox_view_lists_open_inbox_tasks_in_manual_order(clock, alice_client, alice):
    work = project_services.project_create(owner=alice, name="Work")
    _make(alice, "First")
    _make(alice, "In work", project_id=work.pk)
    _make(alice, "Second")
    _make(alice, "Finished", is_completed=True)

    body = alice_client.get("/api/views/inbox").json()

    assert _titles(body["results"]) == ["First", "Second"]
    assert body["project_id"] == str(project_services.inbox_ensure(user_id=alice.pk))


def test_views_leave_out_archived_projects_and_skipped_occurrences(clock, alice_client, alice):
    work = project_services.project_create(owner=alice, name="Work")
    _make(alice, "Archived away", project_id=work.pk, due_date=date(2026, 3, 11))
    project_services.project_archive(user=alice, project_id=work.pk)
    _make(alice, "Visible", due_date=date(2026, 3, 11))

    body = alice_client.get("/api/views/today").json()
    counts = alice_client.get("/api/views/counts").json()

    assert _titles(body["today"]) == ["Visible"]
    assert counts["today"] == 1
    assert str(work.pk) not in counts["projects"]


def test_the_sidebar_counts_come_in_one_call(clock, alice_client, alice):
    work = project_services.project_create(owner=alice, name="Work")
    _make(alice, "Overdue", due_date=date(2026, 3, 1))
    _make(alice, "Today in work", due_at=_at(2026, 3, 11, 9, 0), project_id=work.pk)
    _make(alice, "In six days", due_date=date(2026, 3, 17))
    _make(alice, "In seven days", due_date=date(2026, 3, 18))
    _make(alice, "Done", due_date=date(2026, 3, 11), is_completed=True)

    counts = alice_client.get("/api/views/counts").json()

    assert counts["date"] == "2026-03-11"
    assert (counts["inbox"], counts["today"], counts["overdue"], counts["upcoming"]) == (3, 1, 1, 2)
    assert counts["projects"] == {
        str(project_services.inbox_ensure(user_id=alice.pk)): 3,
        str(work.pk): 1,
    }


def test_views_show_only_the_callers_tasks(clock, alice_client, bob_client, alice):
    _make(alice, "Alice's", due_date=date(2026, 3, 11))
    _make(alice, "Alice's old", due_date=date(2026, 3, 1))

    today = bob_client.get("/api/views/today").json()
    upcoming = bob_client.get("/api/views/upcoming").json()
    overdue = bob_client.get("/api/views/overdue").json()
    inbox = bob_client.get("/api/views/inbox").json()
    counts = bob_client.get("/api/views/counts").json()

    assert today["overdue"] == today["today"] == []
    assert all(day["tasks"] == [] for day in upcoming["days"])
    assert overdue["results"] == inbox["results"] == []
    assert (counts["inbox"], counts["today"], counts["overdue"], counts["upcoming"]) == (0, 0, 0, 0)


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/views/today?limit=0", "limit"),
        ("/api/views/today?limit=abc", "limit"),
        ("/api/views/overdue?limit=1001", "limit"),
        ("/api/views/inbox?limit=-1", "limit"),
        ("/api/views/upcoming?days=0", "days"),
        ("/api/views/upcoming?days=31", "days"),
        ("/api/views/upcoming?days=week", "days"),
    ],
)
def test_views_refuse_bad_parameters_naming_them(alice_client, url, field):
    response = alice_client.get(url)

    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_views_need_authentication(anon_client):
    assert anon_client.get("/api/views/today").status_code == 401
