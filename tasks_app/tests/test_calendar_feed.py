"""The secret iCalendar feed: parsed with a real parser, recurring dates matching the preview."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
from dateutil.rrule import rrulestr
from django.utils import timezone

from tasks_app import services
from tasks_app.tests.helpers import events

pytestmark = pytest.mark.django_db


def _feed_url(client) -> str:
    response = client.post("/api/calendar/feed")
    assert response.status_code == 201, response.json()
    return response.json()["url"]


def _get_feed(anon_client, url: str) -> icalendar.Calendar:
    response = anon_client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    return icalendar.Calendar.from_ical(response.content)


def test_the_feed_lists_open_tasks_as_todos_and_timed_ones_as_events_too(alice_client, alice, anon_client):
    due = (timezone.now() + timedelta(days=2)).replace(microsecond=0, second=0)
    timed = services.task_create(owner=alice, title="Dentist", due_at=due, priority="high", tags=["health"])
    dated = services.task_create(owner=alice, title="Pay rent", due_date=date(2030, 1, 1))
    services.task_create(owner=alice, title="No date")
    services.task_create(owner=alice, title="Done", due_date=date(2030, 1, 2), is_completed=True)

    calendar = _get_feed(anon_client, _feed_url(alice_client))

    todos = {str(c["summary"]): c for c in calendar.walk("VTODO")}
    events_ = {str(c["summary"]): c for c in calendar.walk("VEVENT")}
    assert set(todos) == {"Dentist", "Pay rent"}
    assert set(events_) == {"Dentist"}
    berlin = ZoneInfo("Europe/Berlin")
    assert todos["Dentist"].decoded("due") == due.astimezone(berlin)
    assert todos["Dentist"]["due"].params["TZID"] == "Europe/Berlin"
    assert todos["Dentist"]["priority"] == 1
    assert todos["Pay rent"].decoded("due") == date(2030, 1, 1)
    assert str(todos["Dentist"]["uid"]) == f"{timed.pk}@taskbeat"
    assert str(todos["Pay rent"]["uid"]) == f"{dated.pk}@taskbeat"
    assert [str(tz["tzid"]) for tz in calendar.walk("VTIMEZONE")] == ["Europe/Berlin"]


def test_a_recurring_series_expands_to_the_same_dates_as_the_preview(
    alice_client, anon_client, django_capture_on_commit_callbacks
):
    # 09:00 Berlin every Monday and Thursday, across the March DST change
    start = datetime(2030, 3, 18, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    with django_capture_on_commit_callbacks(execute=True):
        task = alice_client.post(
            "/api/tasks",
            {
                "title": "Gym",
                "due_at": start.astimezone(UTC).isoformat(),
                "recurrence_rule": "FREQ=WEEKLY;BYDAY=MO,TH;COUNT=8",
            },
            format="json",
        ).json()
    preview = alice_client.get(f"/api/tasks/{task['id']}/occurrences?count=8").json()

    calendar = _get_feed(anon_client, _feed_url(alice_client))

    [event] = [e for e in calendar.walk("VEVENT") if str(e["summary"]) == "Gym"]
    [todo] = [t for t in calendar.walk("VTODO") if str(t["summary"]) == "Gym"]
    assert todo["rrule"].to_ical() == event["rrule"].to_ical()
    dtstart = event.decoded("dtstart")
    expanded = list(rrulestr(event["rrule"].to_ical().decode(), dtstart=dtstart))
    as_utc = [moment.astimezone(UTC).isoformat().replace("+00:00", "Z") for moment in expanded]
    assert as_utc == preview["occurrences"]
    assert {moment.astimezone(ZoneInfo("Europe/Berlin")).hour for moment in expanded} == {9}


def test_the_feed_needs_its_token_and_rotating_kills_the_old_url(alice_client, anon_client):
    first = _feed_url(alice_client)
    second = _feed_url(alice_client)

    assert anon_client.get(first).status_code == 404
    assert anon_client.get(second).status_code == 200
    assert anon_client.get("/api/calendar/feed/not-a-token.ics").status_code == 404
    assert [e.data["created"] for e in events("calendar.feed.rotated")] == [True, False]
    assert all("token" not in str(e.data) for e in events("calendar.feed.rotated"))


def test_the_feed_shows_only_its_owners_tasks(alice_client, bob_client, alice, bob, anon_client):
    services.task_create(owner=alice, title="Alice's", due_date=date(2030, 1, 1))
    services.task_create(owner=bob, title="Bob's", due_date=date(2030, 1, 1))

    calendar = _get_feed(anon_client, _feed_url(bob_client))

    assert [str(c["summary"]) for c in calendar.walk("VTODO")] == ["Bob's"]


def test_turning_the_feed_off(alice_client, anon_client):
    url = _feed_url(alice_client)

    off = alice_client.delete("/api/calendar/feed")
    again = alice_client.delete("/api/calendar/feed")
    info = alice_client.get("/api/calendar/feed").json()

    assert off.status_code == 204
    assert again.status_code == 404
    assert anon_client.get(url).status_code == 404
    assert info == {"enabled": False, "rotated_at": None}
    assert len(events("calendar.feed.disabled")) == 1


def test_managing_the_feed_needs_authentication(anon_client):
    assert anon_client.post("/api/calendar/feed").status_code == 401
    assert anon_client.get("/api/calendar/feed").status_code == 401
