"""Quick add phrases from Todoist's recurring-date vocabulary, in two zones across a DST change.

Berlin on Wednesday 25 March 2026 (CET; CEST from Sunday 29 March) and New
York on Saturday 7 March 2026 (EST; EDT from Sunday 8 March). Times of day as
words use Todoist's hours: morning 09:00, afternoon 12:00, evening 19:00,
night 22:00.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tasks_app.quickadd.parser import parse_quick_add
from todo_project.errors import DomainError

BERLIN = "Europe/Berlin"
NEW_YORK = "America/New_York"
BERLIN_NOW = datetime(2026, 3, 25, 10, 0, tzinfo=ZoneInfo(BERLIN))
NY_NOW = datetime(2026, 3, 7, 10, 0, tzinfo=ZoneInfo(NEW_YORK))
WORKDAYS = "BYDAY=MO,TU,WE,TH,FR"

CASES = [
    # (zone, now, text, title, due: a date or a UTC instant, rule)
    (BERLIN, BERLIN_NOW, "Stretch every morning", "Stretch", "2026-03-26T08:00:00Z", "FREQ=DAILY"),
    (BERLIN, BERLIN_NOW, "Lunch every afternoon", "Lunch", "2026-03-25T11:00:00Z", "FREQ=DAILY"),
    (BERLIN, BERLIN_NOW, "Walk every evening", "Walk", "2026-03-25T18:00:00Z", "FREQ=DAILY"),
    (BERLIN, BERLIN_NOW, "Read every night", "Read", "2026-03-25T21:00:00Z", "FREQ=DAILY"),
    (BERLIN, BERLIN_NOW, "Call Bob tomorrow morning", "Call Bob", "2026-03-26T08:00:00Z", None),
    (BERLIN, BERLIN_NOW, "Run Sunday morning", "Run", "2026-03-29T07:00:00Z", None),  # after the switch
    (BERLIN, BERLIN_NOW, "Review this evening", "Review", "2026-03-25T18:00:00Z", None),
    (BERLIN, BERLIN_NOW, "Tea tomorrow afternoon at 3", "Tea", "2026-03-26T14:00:00Z", None),
    (
        BERLIN,
        BERLIN_NOW,
        "Invoices every 15th workday",
        "Invoices",
        "2026-04-21",
        f"FREQ=MONTHLY;{WORKDAYS};BYSETPOS=15",
    ),
    (
        BERLIN,
        BERLIN_NOW,
        "Payroll every last workday",
        "Payroll",
        "2026-03-31",
        f"FREQ=MONTHLY;{WORKDAYS};BYSETPOS=-1",
    ),
    (
        BERLIN,
        BERLIN_NOW,
        "Report every first workday of the month",
        "Report",
        "2026-04-01",
        f"FREQ=MONTHLY;{WORKDAYS};BYSETPOS=1",
    ),
    (BERLIN, BERLIN_NOW, "Water every 2, 15, 27", "Water", "2026-03-27", "FREQ=MONTHLY;BYMONTHDAY=2,15,27"),
    (BERLIN, BERLIN_NOW, "Rent every 1st and 15th", "Rent", "2026-04-01", "FREQ=MONTHLY;BYMONTHDAY=1,15"),
    (BERLIN, BERLIN_NOW, "Call at 3", "Call", "2026-03-25T14:00:00Z", None),
    (BERLIN, BERLIN_NOW, "Call at 8", "Call", "2026-03-26T07:00:00Z", None),
    (BERLIN, BERLIN_NOW, "Call at 3am", "Call", "2026-03-26T02:00:00Z", None),
    (BERLIN, BERLIN_NOW, "Call at 18", "Call", "2026-03-25T17:00:00Z", None),
    (NEW_YORK, NY_NOW, "Stretch every morning", "Stretch", "2026-03-08T13:00:00Z", "FREQ=DAILY"),  # EDT
    (NEW_YORK, NY_NOW, "Walk every evening", "Walk", "2026-03-08T00:00:00Z", "FREQ=DAILY"),  # EST
    (NEW_YORK, NY_NOW, "Read every night", "Read", "2026-03-08T03:00:00Z", "FREQ=DAILY"),
    (NEW_YORK, NY_NOW, "Call Bob tomorrow morning", "Call Bob", "2026-03-08T13:00:00Z", None),
    (
        NEW_YORK,
        NY_NOW,
        "Payroll every last workday",
        "Payroll",
        "2026-03-31",
        f"FREQ=MONTHLY;{WORKDAYS};BYSETPOS=-1",
    ),
    (NEW_YORK, NY_NOW, "Water every 2, 15, 27", "Water", "2026-03-15", "FREQ=MONTHLY;BYMONTHDAY=2,15,27"),
    (NEW_YORK, NY_NOW, "Rent every 1st and 15th", "Rent", "2026-03-15", "FREQ=MONTHLY;BYMONTHDAY=1,15"),
    (NEW_YORK, NY_NOW, "Call at 3", "Call", "2026-03-07T20:00:00Z", None),
]


@pytest.mark.parametrize(
    ("tz", "now", "text", "title", "due", "rule"), CASES, ids=[f"{c[0]}-{c[2]}" for c in CASES]
)
def test_it_parses_the_todoist_phrase(tz, now, text, title, due, rule) -> None:
    result = parse_quick_add(text, now=now, tz=tz)
    assert result.title == title
    assert result.recurrence_rule == rule
    if "T" in due:
        assert result.due_date is None
        assert result.due_at is not None
        assert result.due_at.isoformat().replace("+00:00", "Z") == due
    else:
        assert result.due_at is None
        assert str(result.due_date) == due
    assert result.unrecognised == []


def test_every_morning_stays_at_nine_across_the_switch() -> None:
    from tasks_app.recurrence.rules import parse_rule

    result = parse_quick_add("Stretch every morning", now=BERLIN_NOW, tz=BERLIN)
    rule = parse_rule(result.recurrence_rule or "", dtstart=result.due_at, tz=BERLIN)
    local = [
        o.astimezone(ZoneInfo(BERLIN)).strftime("%d %H:%M")
        for o in rule.occurrences(after=BERLIN_NOW, count=5)
    ]
    assert local == ["26 09:00", "27 09:00", "28 09:00", "29 09:00", "30 09:00"]


@pytest.mark.parametrize("text", ["Invoices every 25th workday", "Water every 2, 35"])
def test_it_refuses_a_workday_or_day_a_month_cannot_have(text: str) -> None:
    with pytest.raises(DomainError) as refused:
        parse_quick_add(text, now=BERLIN_NOW, tz=BERLIN)
    assert refused.value.field == "text"


def test_a_word_after_the_day_part_keeps_its_meaning() -> None:
    # "tonight" still means 20:00; "every 2 weeks" is still an interval, not a list of days.
    tonight = parse_quick_add("Movie tonight", now=BERLIN_NOW, tz=BERLIN).due_at
    assert tonight is not None
    assert tonight.hour == 19  # 20:00 CET
    assert (
        parse_quick_add("Sync every 2 weeks", now=BERLIN_NOW, tz=BERLIN).recurrence_rule
        == "FREQ=WEEKLY;INTERVAL=2"
    )
