"""Rule evaluation has a hard, small budget everywhere (issue 11, finding 1).

A rule whose BY* parts never (or almost never) meet used to make dateutil scan
period by period to year 9999: ~1 s per evaluation for the issue's
``FREQ=MONTHLY;BYDAY=5MO;BYMONTHDAY=1``, paid again on every read, in the
worker and in the repair sweep. No timing asserts here: the tests count the
periods dateutil examines (its per-period helpers, patched to count) and
check that such rules are refused at input.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from dateutil import rrule as dateutil_rrule
from dateutil.rrule import rrulestr

from tasks_app.models import Task, TaskSeries
from tasks_app.recurrence import rules as recurrence
from tasks_app.recurrence import services as recurrence_services
from todo_project.errors import DomainError

# The issue's rule: the 5th Monday of a month that is also its 1st day.
ISSUE_RULE = "FREQ=MONTHLY;BYDAY=5MO;BYMONTHDAY=1"
NEVER = [
    ISSUE_RULE,
    # Week 1 is never in June.
    "FREQ=YEARLY;BYWEEKNO=1;BYMONTH=6",
    # Day 1 of the year is January 1st, never the 2nd.
    "FREQ=YEARLY;BYYEARDAY=1;BYMONTHDAY=2",
    # Only two dates per month pass (the first Monday and Tuesday): no 3rd.
    "FREQ=MONTHLY;BYDAY=MO,TU;BYMONTHDAY=1,2,3,4,5,6,7;BYSETPOS=3",
    # The same, hourly-cheap per period but yearly: no 15th pick of a set of 14.
    "FREQ=YEARLY;BYDAY=MO;BYMONTHDAY=1,2,3,4,5,6,7;BYMONTH=1,2,3,4,5,6,7,8,9,10,11,12;BYSETPOS=15",
    # Every weekday of February 29th... in a month that has 28 days when it is a Monday.
    "FREQ=MONTHLY;BYMONTH=2;BYMONTHDAY=-29;BYDAY=-1MO,-1TU,-1WE,-1TH,-1FR,-1SA,-1SU;BYSETPOS=-2",
    # Feb 30 (refused by the static check, cheaply, before and after the fix).
    "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
]
# Match, but so rarely (Feb 29 that is a Monday: 2044, 2072, ...) that each
# occurrence costs decades of daily or hourly periods.
ALMOST_NEVER = [
    "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO",
    "FREQ=HOURLY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO;BYHOUR=9",
]
# A bound on the periods one request may examine. Before the fix the issue's
# rule alone took ~96,000 (every month to 9999) per evaluation.
MAX_PERIODS = 6_000

START = datetime(2026, 1, 5, 9, tzinfo=UTC)
DAILY_TASK = {
    "title": "x",
    "due_at": "2030-01-07T08:00:00Z",
    "is_recurring": True,
    "recurrence_rule": "FREQ=DAILY",
}


@pytest.fixture
def periods(monkeypatch):
    """Counts the periods dateutil examines (calls of its per-period day-set helpers)."""
    counter = {"n": 0}
    for name in ("ydayset", "mdayset", "wdayset", "ddayset"):
        original = getattr(dateutil_rrule._iterinfo, name)

        def counting(self, *args, _original=original):
            counter["n"] += 1
            return _original(self, *args)

        monkeypatch.setattr(dateutil_rrule._iterinfo, name, counting)
    return counter


# -- the engine -----------------------------------------------------------------------------


@pytest.mark.parametrize("rule", NEVER + ALMOST_NEVER)
def test_it_refuses_a_rule_that_yields_nothing_within_a_bounded_search(rule, periods):
    with pytest.raises(DomainError) as caught:
        recurrence.parse_rule(rule, dtstart=START, tz="Europe/Berlin")

    assert caught.value.field == "recurrence_rule"
    assert periods["n"] < MAX_PERIODS


def test_ten_hopeless_lines_cost_no_more_than_one(periods):
    text = "\n".join(["RRULE:FREQ=DAILY"] + [f"RRULE:{ISSUE_RULE}"] * 9)

    with pytest.raises(DomainError):
        recurrence.parse_rule(text, dtstart=START, tz="UTC")

    assert periods["n"] < MAX_PERIODS


def test_the_meter_stops_dateutil_after_its_budget():
    rule = rrulestr(f"RRULE:{ISSUE_RULE}", dtstart=datetime(2026, 1, 5, 9), cache=False)
    meter = recurrence._Meter()

    with pytest.raises(recurrence.RecurrenceBudgetExceeded):
        next(recurrence.metered(rule, datetime(2026, 1, 5), meter))

    # Stopped at the gap limit, plus at most one period's charge past it.
    assert recurrence.GAP_BUDGET < meter.spent < recurrence.GAP_BUDGET + 1_000


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=DAILY",
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH",
        "FREQ=MONTHLY;BYDAY=-1FR",
        "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
        "FREQ=YEARLY;BYWEEKNO=20;BYDAY=MO",
        "FREQ=HOURLY;INTERVAL=5;BYHOUR=5,10,15",
    ],
)
def test_the_metered_evaluator_gives_dateutils_answers(rule):
    built = rrulestr(f"RRULE:{rule}", dtstart=datetime(2026, 1, 5, 9), cache=False)
    expected = list(built.xafter(datetime(2026, 3, 1), count=30, inc=True))

    got = []
    for moment in recurrence.metered(built, datetime(2026, 3, 1), recurrence._Meter()):
        got.append(moment)
        if len(got) == 30:
            break

    assert got == expected


def test_the_sparsest_everyday_rules_still_work():
    # Feb 29 as a daily rule crosses 2100 (8 years without one) within budget.
    rule = recurrence.parse_rule(
        "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=29", dtstart=datetime(2095, 3, 1, 9, tzinfo=UTC), tz="UTC"
    )
    assert rule.dtstart == datetime(2096, 2, 29, 9, tzinfo=UTC)
    assert rule.next_after(datetime(2096, 3, 1, tzinfo=UTC)) == datetime(2104, 2, 29, 9, tzinfo=UTC)
    yearly = recurrence.parse_rule("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", dtstart=START, tz="UTC")
    assert len(yearly.occurrences(count=50)) == 50


def test_a_stored_rule_that_runs_out_just_ends_its_line(periods):
    # A row saved before the fix: its hopeless line is skipped, the valid one runs.
    text = f"RRULE:FREQ=DAILY\nRRULE:{ISSUE_RULE}"
    rule = recurrence.parse_rule(text, dtstart=START, tz="UTC", trusted=True)

    assert rule.occurrences(count=3) == [
        datetime(2026, 1, 5, 9, tzinfo=UTC),
        datetime(2026, 1, 6, 9, tzinfo=UTC),
        datetime(2026, 1, 7, 9, tzinfo=UTC),
    ]
    assert periods["n"] < MAX_PERIODS


@pytest.mark.parametrize("rule", ["FREQ=DAILY;BYHOUR=9;BYMINUTE=0,30", "FREQ=WEEKLY;BYSECOND=0,1"])
def test_it_refuses_several_minutes_or_seconds_as_sub_hourly(rule):
    with pytest.raises(DomainError, match="more frequent than hourly"):
        recurrence.parse_rule(rule, dtstart=START, tz="UTC")


def test_it_refuses_an_overlong_by_list():
    days = ",".join(str(d) for d in range(1, 101))
    with pytest.raises(DomainError, match="more than 64 values"):
        recurrence.parse_rule(f"FREQ=YEARLY;BYYEARDAY={days}", dtstart=START, tz="UTC")


# -- the API, the generator and the repair sweep ------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "rule", [ISSUE_RULE, NEVER[3], ALMOST_NEVER[1], f"RRULE:FREQ=DAILY\nRRULE:{ISSUE_RULE}"]
)
def test_the_task_api_refuses_it_naming_recurrence_rule(alice_client, periods, rule):
    response = alice_client.post(
        "/api/tasks",
        {"title": "x", "due_at": "2030-01-07T08:00:00Z", "is_recurring": True, "recurrence_rule": rule},
        format="json",
    )

    assert response.status_code == 400, response.json()
    assert "recurrence_rule" in response.json()["error"]["fields"]
    assert periods["n"] < MAX_PERIODS
    assert not Task.objects.exists()


@pytest.mark.django_db
def test_a_task_update_refuses_it(alice_client, make_task, periods):
    task = make_task(title="x")

    response = alice_client.patch(
        f"/api/tasks/{task.pk}", {"is_recurring": True, "recurrence_rule": ISSUE_RULE}, format="json"
    )

    assert response.status_code == 400
    assert "recurrence_rule" in response.json()["error"]["fields"]
    assert periods["n"] < MAX_PERIODS


@pytest.mark.django_db
def test_the_preview_refuses_it_naming_rule(alice_client, periods):
    text = "\n".join(f"RRULE:{ISSUE_RULE}" for _ in range(10))

    response = alice_client.post("/api/recurrence/preview", {"rule": text, "count": 50}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["fields"].keys() == {"rule"}
    assert periods["n"] < MAX_PERIODS


@pytest.mark.django_db
def test_a_series_rule_change_refuses_it(alice_client, django_capture_on_commit_callbacks, periods):
    with django_capture_on_commit_callbacks(execute=True):
        created = alice_client.post(
            "/api/tasks",
            DAILY_TASK,
            format="json",
        )
    response = alice_client.patch(
        f"/api/tasks/{created.json()['id']}/series",
        {"scope": "future", "recurrence_rule": ISSUE_RULE},
        format="json",
    )

    assert response.status_code == 400, response.json()
    assert "recurrence_rule" in response.json()["error"]["fields"]
    assert TaskSeries.objects.get().rule == "RRULE:FREQ=DAILY"
    assert periods["n"] < MAX_PERIODS


@pytest.mark.django_db
def test_a_stored_hopeless_line_costs_little_to_read_generate_and_repair(
    alice_client, django_capture_on_commit_callbacks, periods
):
    # given a daily series whose row also carries a hopeless line (saved before the fix)
    with django_capture_on_commit_callbacks(execute=True):
        created = alice_client.post(
            "/api/tasks",
            DAILY_TASK,
            format="json",
        )
    task = Task.objects.get(pk=created.json()["id"])
    TaskSeries.objects.update(rule=f"RRULE:FREQ=DAILY\nRRULE:{ISSUE_RULE}")
    periods["n"] = 0

    # when it is read, completed (the generator runs) and repaired
    read = alice_client.get(f"/api/tasks/{task.pk}")
    listed = alice_client.get("/api/tasks?limit=1")
    with django_capture_on_commit_callbacks(execute=True):
        done = alice_client.patch(f"/api/tasks/{task.pk}", {"is_completed": True}, format="json")
    recurrence_services.series_repair(now=datetime(2030, 1, 9, tzinfo=UTC))

    # then each answer is right and the whole lot examined a bounded number of periods
    assert (read.status_code, listed.status_code, done.status_code) == (200, 200, 200)
    following = Task.objects.exclude(pk=task.pk).get()
    assert following.occurrence_at == datetime(2030, 1, 8, 8, tzinfo=UTC)
    assert periods["n"] < 4 * MAX_PERIODS
