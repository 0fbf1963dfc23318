"""Quick add: a table of phrases with their expected parse, plus refusals.

Pure tests: no database. ``now`` is frozen by passing it in. Three clocks:
Berlin a few days before spring-forward (29 March 2026), Berlin the day
before fall-back (25 October 2026) and New York the day before its
spring-forward (8 March 2026), so "tomorrow at 9am" crosses a DST change.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from tasks_app.quickadd.parser import MAX_TEXT_LENGTH, parse_quick_add
from todo_project.errors import DomainError

BERLIN = "Europe/Berlin"
NEW_YORK = "America/New_York"
# Wednesday 10:00 CET; Berlin switches to CEST on Sunday 29 March.
BERLIN_SPRING = datetime(2026, 3, 25, 10, 0, tzinfo=ZoneInfo(BERLIN))
# Saturday 10:00 CEST; Berlin falls back to CET on Sunday 25 October.
BERLIN_AUTUMN = datetime(2026, 10, 24, 10, 0, tzinfo=ZoneInfo(BERLIN))
# Saturday 10:00 EST; New York switches to EDT on Sunday 8 March.
NY_SPRING = datetime(2026, 3, 7, 10, 0, tzinfo=ZoneInfo(NEW_YORK))

H, M, L = "high", "medium", "low"

# (text, title, due, rrule, priority, tags); due is a date (all-day) or a UTC instant.
BERLIN_SPRING_CASES = [
    ("Buy milk today", "Buy milk", "2026-03-25", None, None, []),
    ("Call mom tomorrow at 9am", "Call mom", "2026-03-26T08:00:00Z", None, None, []),
    ("Submit report next Friday", "Submit report", "2026-04-03", None, None, []),
    ("Submit report Friday", "Submit report", "2026-03-27", None, None, []),
    ("Submit report next Wednesday", "Submit report", "2026-04-01", None, None, []),
    ("Submit report this Wednesday", "Submit report", "2026-03-25", None, None, []),
    ("Tax return Apr 15", "Tax return", "2026-04-15", None, None, []),
    ("Tax return April 15th 2027", "Tax return", "2027-04-15", None, None, []),
    ("Dentist 04/15", "Dentist", "2026-04-15", None, None, []),
    ("Dentist 03/02", "Dentist", "2027-03-02", None, None, []),
    ("Check logs in 3 days", "Check logs", "2026-03-28", None, None, []),
    ("Pay rent end of month", "Pay rent", "2026-03-31", None, None, []),
    ("Meeting at 9:30", "Meeting", "2026-03-26T08:30:00Z", None, None, []),
    ("Gym 18:00", "Gym", "2026-03-25T17:00:00Z", None, None, []),
    ("Lunch at noon", "Lunch", "2026-03-25T11:00:00Z", None, None, []),
    ("Movie tonight", "Movie", "2026-03-25T19:00:00Z", None, None, []),
    ("Movie tonight at 9", "Movie", "2026-03-25T20:00:00Z", None, None, []),
    ("Standup every day at 9am", "Standup", "2026-03-26T08:00:00Z", "FREQ=DAILY", None, []),
    ("Water plants daily", "Water plants", "2026-03-25", "FREQ=DAILY", None, []),
    (
        "Team standup every weekday at 9am",
        "Team standup",
        "2026-03-26T08:00:00Z",
        "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
        None,
        [],
    ),
    ("Clean every weekend", "Clean", "2026-03-28", "FREQ=WEEKLY;BYDAY=SA,SU", None, []),
    ("Remind me to exercise every Monday", "exercise", "2026-03-30", "FREQ=WEEKLY;BYDAY=MO", None, []),
    (
        "Yoga every Mon, Wed and Fri at 7am",
        "Yoga",
        "2026-03-27T06:00:00Z",
        "FREQ=WEEKLY;BYDAY=MO,WE,FR",
        None,
        [],
    ),
    ("Review every other Thursday", "Review", "2026-03-26", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TH", None, []),
    ("Backup every 3 days", "Backup", "2026-03-25", "FREQ=DAILY;INTERVAL=3", None, []),
    (
        "Sprint planning every 2 weeks on Tuesday",
        "Sprint planning",
        "2026-03-31",
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU",
        None,
        [],
    ),
    ("Invoice every month on the 1st", "Invoice", "2026-04-01", "FREQ=MONTHLY;BYMONTHDAY=1", None, []),
    ("Pay bills on the 1st of every month", "Pay bills", "2026-04-01", "FREQ=MONTHLY;BYMONTHDAY=1", None, []),
    ("Retro every last Friday", "Retro", "2026-03-27", "FREQ=MONTHLY;BYDAY=-1FR", None, []),
    ("Rent every last day of the month", "Rent", "2026-03-31", "FREQ=MONTHLY;BYMONTHDAY=-1", None, []),
    ("Club every 3rd Tuesday", "Club", "2026-04-21", "FREQ=MONTHLY;BYDAY=3TU", None, []),
    (
        "Celebrate every year on Jan 1",
        "Celebrate",
        "2027-01-01",
        "FREQ=YEARLY;BYMONTH=1;BYMONTHDAY=1",
        None,
        [],
    ),
    ("Taxes every quarter", "Taxes", "2026-03-25", "FREQ=MONTHLY;INTERVAL=3", None, []),
    ("Drink water every hour", "Drink water", "2026-03-25T10:00:00Z", "FREQ=HOURLY", None, []),
    (
        "Meds every 12 hours starting at 7pm",
        "Meds",
        "2026-03-25T18:00:00Z",
        "FREQ=HOURLY;INTERVAL=12",
        None,
        [],
    ),
    ("Journal every day starting May 1", "Journal", "2026-05-01", "FREQ=DAILY", None, []),
    ("Run every day until Dec 31", "Run", "2026-03-25", "FREQ=DAILY;UNTIL=20261231", None, []),
    ("Pill every day for 10 times", "Pill", "2026-03-25", "FREQ=DAILY;COUNT=10", None, []),
    ("Water cactus every! 3 days", "Water cactus", "2026-03-25", "FREQ=DAILY;INTERVAL=3", None, []),
    ("Haircut 3 weeks after completion", "Haircut", "2026-03-25", "FREQ=WEEKLY;INTERVAL=3", None, []),
    ("Fix bug !high", "Fix bug", None, None, H, []),
    ("Fix bug !low", "Fix bug", None, None, L, []),
    ("Fix bug !", "Fix bug", None, None, L, []),
    ("Fix bug !!", "Fix bug", None, None, M, []),
    ("Fix bug !!!", "Fix bug", None, None, H, []),
    ("Fix bug p1", "Fix bug", None, None, H, []),
    ("Fix bug p3", "Fix bug", None, None, L, []),
    ("urgent fix server", "fix server", None, None, H, []),
    ("Fix the leak asap", "Fix the leak", None, None, H, []),
    ("Report #work #q4-2026", "Report", None, None, None, ["work", "q4-2026"]),
    ("Call #1 customer", "Call #1 customer", None, None, None, []),
    ('Read "The Day After Tomorrow" tomorrow', "Read The Day After Tomorrow", "2026-03-26", None, None, []),
    ("Book flights by next month", "Book flights", "2026-04-01", None, None, []),
    ("Plan trip next week", "Plan trip", "2026-03-30", None, None, []),
    ("Ship it day after tomorrow", "Ship it", "2026-03-27", None, None, []),
    ("Renew passport 2026-06-30", "Renew passport", "2026-06-30", None, None, []),
    ("Call Anna on Sat at 3pm", "Call Anna", "2026-03-28T14:00:00Z", None, None, []),
    ("Pay invoice in 2 weeks #finance p2", "Pay invoice", "2026-04-08", None, M, ["finance"]),
    ("Bake cake Feb 29", "Bake cake", "2028-02-29", None, None, []),
    ("Stretch every day at 8am !low #health", "Stretch", "2026-03-26T07:00:00Z", "FREQ=DAILY", L, ["health"]),
    # Monday is after the spring-forward: 10:00 CEST is 08:00 UTC.
    ("Sync every Monday at 10:00", "Sync", "2026-03-30T08:00:00Z", "FREQ=WEEKLY;BYDAY=MO", None, []),
    ("Daily log every day starting May 1", "Daily log", "2026-05-01", "FREQ=DAILY", None, []),
    ("Release every month on the last Friday", "Release", "2026-03-27", "FREQ=MONTHLY;BYDAY=-1FR", None, []),
    ("Backup weekly", "Backup", "2026-03-25", "FREQ=WEEKLY", None, []),
    (
        "Change filter every 2 months on the 15th",
        "Change filter",
        "2026-04-15",
        "FREQ=MONTHLY;INTERVAL=2;BYMONTHDAY=15",
        None,
        [],
    ),
    # 02:30 does not exist on 29 March in Berlin: it moves forward by the gap.
    ("Night check Mar 29 at 2:30am", "Night check", "2026-03-29T01:30:00Z", None, None, []),
    ("every day at 9am Standup", "Standup", "2026-03-26T08:00:00Z", "FREQ=DAILY", None, []),
]

BERLIN_AUTUMN_CASES: list[tuple[str, str, str, str | None, str | None, list[str]]] = [
    ("Call dad tomorrow at 9am", "Call dad", "2026-10-25T08:00:00Z", None, None, []),
    ("Standup every day at 9am", "Standup", "2026-10-25T08:00:00Z", "FREQ=DAILY", None, []),
    # 02:30 happens twice on 25 October; the first (CEST) is taken.
    ("Backup tomorrow at 2:30am", "Backup", "2026-10-25T00:30:00Z", None, None, []),
    ("Meeting Monday at 9am", "Meeting", "2026-10-26T08:00:00Z", None, None, []),
    ("Call mom today at 5pm", "Call mom", "2026-10-24T15:00:00Z", None, None, []),
]

NY_SPRING_CASES = [
    ("Brunch tomorrow at 11am", "Brunch", "2026-03-08T15:00:00Z", None, None, []),
    # 02:30 does not exist on 8 March in New York: 03:30 EDT.
    ("Early run tomorrow at 2:30am", "Early run", "2026-03-08T07:30:00Z", None, None, []),
    (
        "Standup every weekday at 9am",
        "Standup",
        "2026-03-09T13:00:00Z",
        "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
        None,
        [],
    ),
    ("Meds every day at 8pm", "Meds", "2026-03-08T01:00:00Z", "FREQ=DAILY", None, []),
    ("Call mom today at 5pm", "Call mom", "2026-03-07T22:00:00Z", None, None, []),
    ("Pay rent on the 1st of every month", "Pay rent", "2026-04-01", "FREQ=MONTHLY;BYMONTHDAY=1", None, []),
    ("Trash every Tuesday #home", "Trash", "2026-03-10", "FREQ=WEEKLY;BYDAY=TU", None, ["home"]),
    ("Taxes Apr 15 !!!", "Taxes", "2026-04-15", None, H, []),
    ("Pick up kids at 3:15pm", "Pick up kids", "2026-03-07T20:15:00Z", None, None, []),
    ("Vote Nov 3", "Vote", "2026-11-03", None, None, []),
    ("Report due Friday p1 #work", "Report", "2026-03-13", None, H, ["work"]),
    ("Dentist 04/15/2027", "Dentist", "2027-04-15", None, None, []),
    ("Garden every other week", "Garden", "2026-03-07", "FREQ=WEEKLY;INTERVAL=2", None, []),
    (
        "Check mail every 2 days at 6pm",
        "Check mail",
        "2026-03-07T23:00:00Z",
        "FREQ=DAILY;INTERVAL=2",
        None,
        [],
    ),
    ("Review every year on Mar 1", "Review", "2027-03-01", "FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=1", None, []),
    (
        "Standup every weekday at 9am until Apr 30",
        "Standup",
        "2026-03-09T13:00:00Z",
        "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;UNTIL=20260430",
        None,
        [],
    ),
    ("Dinner at 7pm tonight", "Dinner", "2026-03-08T00:00:00Z", None, None, []),
    (
        "Weekly sync every Thursday at 10am",
        "Weekly sync",
        "2026-03-12T14:00:00Z",
        "FREQ=WEEKLY;BYDAY=TH",
        None,
        [],
    ),
    ('Meet "next Friday" team', "Meet next Friday team", None, None, None, []),
    ("Call plumber in 3 hours", "Call plumber", "2026-03-07T18:00:00Z", None, None, []),
    ("Stretch every hour", "Stretch", "2026-03-07T16:00:00Z", "FREQ=HOURLY", None, []),
    ("Lunch with Sam noon tomorrow", "Lunch with Sam", "2026-03-08T16:00:00Z", None, None, []),
    (
        "Water plants every 2 weeks on Sat and Sun",
        "Water plants",
        "2026-03-07",
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=SA,SU",
        None,
        [],
    ),
    ("Clean gutters every 6 months", "Clean gutters", "2026-03-07", "FREQ=MONTHLY;INTERVAL=6", None, []),
    ("Board meeting every first Monday", "Board meeting", "2026-04-06", "FREQ=MONTHLY;BYDAY=1MO", None, []),
    (
        "Anniversary every Jun 12",
        "Anniversary",
        "2026-06-12",
        "FREQ=YEARLY;BYMONTH=6;BYMONTHDAY=12",
        None,
        [],
    ),
    (
        "Inventory every month on the 2nd Wednesday",
        "Inventory",
        "2026-03-11",
        "FREQ=MONTHLY;BYDAY=2WE",
        None,
        [],
    ),
]

ALL_CASES = (
    [(BERLIN, BERLIN_SPRING, *case) for case in BERLIN_SPRING_CASES]
    + [(BERLIN, BERLIN_AUTUMN, *case) for case in BERLIN_AUTUMN_CASES]
    + [(NEW_YORK, NY_SPRING, *case) for case in NY_SPRING_CASES]
)


def test_it_has_a_table_of_at_least_eighty_phrases() -> None:
    assert len(ALL_CASES) >= 80


@pytest.mark.parametrize(
    ("tz", "now", "text", "title", "due", "rrule", "priority", "tags"),
    ALL_CASES,
    ids=[f"{case[0].split('/')[1]}-{case[2]}" for case in ALL_CASES],
)
def test_it_parses_the_phrase(tz, now, text, title, due, rrule, priority, tags) -> None:
    result = parse_quick_add(text, now=now, tz=tz).as_dict()

    assert result["title"] == title
    assert (result["due_at"] or result["due_date"]) == due
    assert result["recurrence_rule"] == rrule
    assert result["is_recurring"] is (rrule is not None)
    assert result["priority"] == priority
    assert result["tags"] == tags
    assert result["unrecognised"] == []


# -- recurrence details ---------------------------------------------------------------


def test_it_marks_every_bang_as_counted_from_completion() -> None:
    bang = parse_quick_add("Water cactus every! 3 days", now=BERLIN_SPRING, tz=BERLIN)
    plain = parse_quick_add("Water cactus every 3 days", now=BERLIN_SPRING, tz=BERLIN)
    after = parse_quick_add("Haircut 3 weeks after completion", now=BERLIN_SPRING, tz=BERLIN)

    assert bang.completion_mode == "completion"
    assert plain.completion_mode == "scheduled"
    assert after.completion_mode == "completion"


@pytest.mark.parametrize(
    ("text", "summary"),
    [
        ("Standup every weekday at 9am", "every weekday at 09:00"),
        ("Exercise every Monday", "every Monday"),
        ("Yoga every Mon, Wed and Fri at 7am", "every Monday, Wednesday and Friday at 07:00"),
        ("Retro every last Friday", "every month on the last Friday"),
        ("Pill every day for 10 times", "every day, 10 times"),
        ("Meds every 12 hours starting at 7pm", "every 12 hours from 19:00"),
        ("Celebrate every year on Jan 1", "every year on January 1"),
    ],
)
def test_it_summarises_the_recurrence(text: str, summary: str) -> None:
    assert parse_quick_add(text, now=BERLIN_SPRING, tz=BERLIN).recurrence_summary == summary


def test_it_reports_the_recognised_spans_for_highlighting() -> None:
    text = "Pay bills on the 1st of every month #home !!!"

    result = parse_quick_add(text, now=BERLIN_SPRING, tz=BERLIN)

    spans = [(s.kind, s.text) for s in result.spans]
    assert spans == [("recurrence", "on the 1st of every month"), ("tag", "#home"), ("priority", "!!!")]
    for span in result.spans:
        assert text[span.start : span.end] == span.text


def test_it_reports_what_it_could_not_understand() -> None:
    result = parse_quick_add("Dance every fortnightish", now=BERLIN_SPRING, tz=BERLIN)

    assert result.unrecognised == ["every fortnightish"]
    assert result.recurrence_rule is None
    # Nothing is silently dropped: the words stay in the title too.
    assert result.title == "Dance every fortnightish"


def test_it_reports_an_unknown_priority_word() -> None:
    result = parse_quick_add("Fix bug !critical", now=BERLIN_SPRING, tz=BERLIN)

    assert result.unrecognised == ["!critical"]
    assert result.priority is None


# -- reminders ----------------------------------------------------------------------


def test_it_parses_a_reminder_offset_before_the_due_time() -> None:
    result = parse_quick_add(
        "Meeting tomorrow at 10am remind me 15 minutes before", now=BERLIN_SPRING, tz=BERLIN
    ).as_dict()

    assert result["title"] == "Meeting"
    assert result["due_at"] == "2026-03-26T09:00:00Z"
    assert result["reminder_offsets"] == [15]


def test_it_parses_an_hour_and_a_day_offset() -> None:
    result = parse_quick_add(
        "Flight Apr 2 at 7pm remind me 2 hours before remind me 1 day before", now=BERLIN_SPRING, tz=BERLIN
    )

    assert result.reminder_offsets == [120, 1440]


def test_it_parses_an_absolute_reminder_time_on_the_due_day() -> None:
    result = parse_quick_add("Flight tomorrow remind me at 8am", now=BERLIN_SPRING, tz=BERLIN).as_dict()

    assert result["due_date"] == "2026-03-26"
    assert result["reminder_times"] == ["2026-03-26T07:00:00Z"]


def test_it_reminds_at_the_due_time_for_remind_me_to() -> None:
    result = parse_quick_add("Remind me to call Bob at 5pm", now=BERLIN_SPRING, tz=BERLIN).as_dict()

    assert result["title"] == "call Bob"
    assert result["due_at"] == "2026-03-25T16:00:00Z"
    assert result["reminder_offsets"] == [0]


def test_it_keeps_remind_me_to_in_the_middle_as_title() -> None:
    result = parse_quick_add("Tell Bob remind me to sleep", now=BERLIN_SPRING, tz=BERLIN)

    assert result.title == "Tell Bob remind me to sleep"


# -- refusals -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("x" * (MAX_TEXT_LENGTH + 1), "longer than 500"),
        ("Stretch every 30 minutes", "more frequent than hourly"),
        ("Ping every minute", "more frequent than hourly"),
        ("Ping every 10 seconds", "more frequent than hourly"),
        ("Party Feb 30", "not a date that exists"),
        ("Call 04/31", "not a date that exists"),
        ("Call 2026-02-29", "not a date that exists"),
        ("Meet at 25:00", "not a valid time"),
        ("Meet at 13pm", "not a valid time"),
        ("Water every 0 days", "at least 1"),
        ("Water every 5000 days", "at most 1000"),
        ("Report every day every week", "two recurrences"),
        ("Report tomorrow Apr 15", "two different dates"),
        ("Pill for 10 times", "need a recurrence"),
        ("Call in 3 hours tomorrow", "cannot be combined"),
        ("Ping every 0 times", "at least once"),
    ],
)
def test_it_refuses_bad_text_naming_the_field(text: str, problem: str) -> None:
    with pytest.raises(DomainError) as caught:
        parse_quick_add(text, now=BERLIN_SPRING, tz=BERLIN)

    assert caught.value.field == "text"
    assert problem in caught.value.message


def test_it_accepts_exactly_500_characters() -> None:
    result = parse_quick_add("x" * MAX_TEXT_LENGTH, now=BERLIN_SPRING, tz=BERLIN)

    assert result.title == "x" * MAX_TEXT_LENGTH


def test_it_refuses_an_unknown_time_zone() -> None:
    with pytest.raises(DomainError) as caught:
        parse_quick_add("Buy milk today", now=BERLIN_SPRING, tz="Mars/Olympus")

    assert caught.value.field == "timezone"


def test_it_interprets_relative_words_in_the_callers_time_zone() -> None:
    # 23:30 UTC on 25 March is already 26 March in Berlin, still the 25th in New York.
    now = datetime(2026, 3, 25, 23, 30, tzinfo=UTC)

    berlin = parse_quick_add("Buy milk today", now=now, tz=BERLIN)
    new_york = parse_quick_add("Buy milk today", now=now, tz=NEW_YORK)

    assert berlin.as_dict()["due_date"] == "2026-03-26"
    assert new_york.as_dict()["due_date"] == "2026-03-25"
