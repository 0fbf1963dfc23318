"""The recurrence engine: rule shapes, DST, month ends, end conditions,
completion modes, summaries and every bad-input case. Pure tests: no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tasks_app.recurrence.rules import parse_rule, preview
from todo_project.errors import DomainError

BERLIN = "Europe/Berlin"
NEW_YORK = "America/New_York"


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def local_strings(moments: list[datetime], tz: str) -> list[str]:
    zone = ZoneInfo(tz)
    return [m.astimezone(zone).strftime("%a %Y-%m-%d %H:%M") for m in moments]


def first(text: str, start: datetime, count: int = 5, tz: str = BERLIN) -> list[str]:
    rule = parse_rule(text, dtstart=start, tz=tz)
    return local_strings(rule.occurrences(count=count), tz)


# -- rule shapes -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "start", "expected"),
    [
        (
            "FREQ=DAILY",
            datetime(2026, 1, 5, 9, 0),
            ["Mon 2026-01-05 09:00", "Tue 2026-01-06 09:00", "Wed 2026-01-07 09:00"],
        ),
        (
            "RRULE:FREQ=WEEKLY;BYDAY=MO,WE,FR",
            datetime(2026, 1, 6, 9, 0),
            ["Wed 2026-01-07 09:00", "Fri 2026-01-09 09:00", "Mon 2026-01-12 09:00"],
        ),
        (
            "FREQ=MONTHLY;BYMONTHDAY=15",
            datetime(2026, 1, 20, 8, 0),
            ["Sun 2026-02-15 08:00", "Sun 2026-03-15 08:00", "Wed 2026-04-15 08:00"],
        ),
        (
            "FREQ=YEARLY;BYMONTH=1;BYMONTHDAY=1",
            datetime(2026, 3, 1, 10, 0),
            ["Fri 2027-01-01 10:00", "Sat 2028-01-01 10:00", "Mon 2029-01-01 10:00"],
        ),
        (
            "FREQ=DAILY;INTERVAL=3",
            datetime(2026, 1, 1, 7, 0),
            ["Thu 2026-01-01 07:00", "Sun 2026-01-04 07:00", "Wed 2026-01-07 07:00"],
        ),
        # Second Tuesday of each month.
        (
            "FREQ=MONTHLY;BYDAY=2TU",
            datetime(2026, 1, 1, 9, 0),
            ["Tue 2026-01-13 09:00", "Tue 2026-02-10 09:00", "Tue 2026-03-10 09:00"],
        ),
        # Last Friday of each month.
        (
            "FREQ=MONTHLY;BYDAY=-1FR",
            datetime(2026, 1, 1, 9, 0),
            ["Fri 2026-01-30 09:00", "Fri 2026-02-27 09:00", "Fri 2026-03-27 09:00"],
        ),
        # The last day of the month, whatever its length.
        (
            "FREQ=MONTHLY;BYMONTHDAY=-1",
            datetime(2026, 1, 10, 9, 0),
            ["Sat 2026-01-31 09:00", "Sat 2026-02-28 09:00", "Tue 2026-03-31 09:00"],
        ),
        # RFC 5545: a 31st that does not exist is skipped, not moved.
        (
            "FREQ=MONTHLY;BYMONTHDAY=31",
            datetime(2026, 1, 10, 9, 0),
            ["Sat 2026-01-31 09:00", "Tue 2026-03-31 09:00", "Sun 2026-05-31 09:00"],
        ),
        # The last weekday of the month: BYSETPOS picks from the set.
        (
            "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
            datetime(2026, 1, 1, 9, 0),
            ["Fri 2026-01-30 09:00", "Fri 2026-02-27 09:00", "Tue 2026-03-31 09:00"],
        ),
        # BYMONTH restricts a weekly rule to some months.
        (
            "FREQ=WEEKLY;BYDAY=SA;BYMONTH=6,7",
            datetime(2026, 1, 1, 10, 0),
            ["Sat 2026-06-06 10:00", "Sat 2026-06-13 10:00", "Sat 2026-06-20 10:00"],
        ),
        # Leap day: only leap years have one.
        (
            "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
            datetime(2026, 1, 1, 9, 0),
            ["Tue 2028-02-29 09:00", "Sun 2032-02-29 09:00", "Fri 2036-02-29 09:00"],
        ),
        (
            "FREQ=HOURLY;INTERVAL=12",
            datetime(2026, 1, 1, 7, 0),
            ["Thu 2026-01-01 07:00", "Thu 2026-01-01 19:00", "Fri 2026-01-02 07:00"],
        ),
        # A quarter: every three months on the start's day.
        (
            "FREQ=MONTHLY;INTERVAL=3",
            datetime(2026, 1, 15, 9, 0),
            ["Thu 2026-01-15 09:00", "Wed 2026-04-15 09:00", "Wed 2026-07-15 09:00"],
        ),
    ],
)
def test_it_evaluates_the_rule_shape(text: str, start: datetime, expected: list[str]) -> None:
    assert first(text, start, count=3) == expected


def test_it_evaluates_byweekno_and_byyearday_on_a_yearly_rule() -> None:
    # Monday of ISO week 20, and the 100th day of the year (10 April, 9 April in leap years).
    assert first("FREQ=YEARLY;BYWEEKNO=20;BYDAY=MO", datetime(2026, 1, 1, 9), count=2) == [
        "Mon 2026-05-11 09:00",
        "Mon 2027-05-17 09:00",
    ]
    assert first("FREQ=YEARLY;BYYEARDAY=100", datetime(2027, 1, 1, 9), count=2) == [
        "Sat 2027-04-10 09:00",
        "Sun 2028-04-09 09:00",
    ]


def test_it_respects_wkst_as_in_the_rfc_example() -> None:
    # RFC 5545 §3.8.5.3: the same rule gives different days with WKST=MO and WKST=SU.
    start = datetime(1997, 8, 5, 9, 0)
    monday = "FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST=MO"
    sunday = "FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST=SU"

    assert [d[4:14] for d in first(monday, start, tz=NEW_YORK)] == [
        "1997-08-05",
        "1997-08-10",
        "1997-08-19",
        "1997-08-24",
    ]
    assert [d[4:14] for d in first(sunday, start, tz=NEW_YORK)] == [
        "1997-08-05",
        "1997-08-17",
        "1997-08-19",
        "1997-08-31",
    ]


def test_it_makes_dtstart_the_first_matching_date_before_counting_interval() -> None:
    # Created on Wednesday 7 January for "every other Monday": the series starts
    # on Monday 12 January, and the one after is two weeks later, not the 19th.
    start = datetime(2026, 1, 7, 9, 0)

    rule = parse_rule("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO", dtstart=start, tz=BERLIN)

    assert local_strings([rule.dtstart], BERLIN) == ["Mon 2026-01-12 09:00"]
    assert local_strings(rule.occurrences(count=3), BERLIN) == [
        "Mon 2026-01-12 09:00",
        "Mon 2026-01-26 09:00",
        "Mon 2026-02-09 09:00",
    ]


def test_it_combines_several_rrules_rdates_and_exdates() -> None:
    # "Jan 14, Apr 14, Jun 15, Sep 15": four yearly dates, not a cross product.
    text = "\n".join(
        [
            "RRULE:FREQ=YEARLY;BYMONTH=1,4;BYMONTHDAY=14",
            "RRULE:FREQ=YEARLY;BYMONTH=6,9;BYMONTHDAY=15",
            "EXDATE:20260414T090000",
            "RDATE:20260501T120000",
        ]
    )

    assert first(text, datetime(2026, 1, 1, 9, 0), count=5) == [
        "Wed 2026-01-14 09:00",
        "Fri 2026-05-01 12:00",
        "Mon 2026-06-15 09:00",
        "Tue 2026-09-15 09:00",
        "Thu 2027-01-14 09:00",
    ]


def test_it_accepts_rdate_alone_and_in_utc() -> None:
    rule = parse_rule("RDATE:20260301T080000Z,20260201T080000Z", dtstart=datetime(2026, 1, 1, 9), tz=BERLIN)

    assert rule.occurrences(count=5) == [utc(2026, 2, 1, 8), utc(2026, 3, 1, 8)]


def test_it_accepts_a_matching_dtstart_in_the_text() -> None:
    start = datetime(2026, 1, 5, 9, 0, tzinfo=ZoneInfo(BERLIN))

    rule = parse_rule(
        "DTSTART;TZID=Europe/Berlin:20260105T090000\nRRULE:FREQ=DAILY", dtstart=start, tz=BERLIN
    )

    assert rule.dtstart == utc(2026, 1, 5, 8)


def test_it_takes_the_start_from_the_text_when_none_is_given() -> None:
    rule = parse_rule("DTSTART:20260105T080000Z\nRRULE:FREQ=DAILY;COUNT=2", dtstart=None, tz=BERLIN)

    assert rule.occurrences(count=5) == [utc(2026, 1, 5, 8), utc(2026, 1, 6, 8)]


# -- daylight saving time --------------------------------------------------------------


@pytest.mark.parametrize(
    ("tz", "start", "expected_utc_hours"),
    [
        # Berlin springs forward on 29 March 2026: 09:00 CET = 08Z, 09:00 CEST = 07Z.
        (BERLIN, datetime(2026, 3, 27, 9, 0), [8, 8, 7, 7]),
        # Berlin falls back on 25 October 2026.
        (BERLIN, datetime(2026, 10, 23, 9, 0), [7, 7, 8, 8]),
        # New York springs forward on 8 March 2026: 09:00 EST = 14Z, EDT = 13Z.
        (NEW_YORK, datetime(2026, 3, 6, 9, 0), [14, 14, 13, 13]),
        # New York falls back on 1 November 2026.
        (NEW_YORK, datetime(2026, 10, 30, 9, 0), [13, 13, 14, 14]),
    ],
)
def test_it_keeps_the_local_time_across_dst(tz: str, start: datetime, expected_utc_hours: list[int]) -> None:
    rule = parse_rule("FREQ=DAILY", dtstart=start, tz=tz)

    occurrences = rule.occurrences(count=4)

    assert [o.hour for o in occurrences] == expected_utc_hours
    assert all(o.astimezone(ZoneInfo(tz)).hour == 9 for o in occurrences)


@pytest.mark.parametrize(
    ("tz", "start", "gap_day_utc"),
    [
        # 02:30 does not exist on 29 March in Berlin: it becomes 03:30 CEST.
        (BERLIN, datetime(2026, 3, 28, 2, 30), utc(2026, 3, 29, 1, 30)),
        # Nor on 8 March in New York: 03:30 EDT.
        (NEW_YORK, datetime(2026, 3, 7, 2, 30), utc(2026, 3, 8, 7, 30)),
    ],
)
def test_it_moves_a_time_in_the_spring_gap_forward_by_the_gap(
    tz: str, start: datetime, gap_day_utc: datetime
) -> None:
    occurrences = parse_rule("FREQ=DAILY", dtstart=start, tz=tz).occurrences(count=3)

    assert occurrences[1] == gap_day_utc
    assert occurrences[1].astimezone(ZoneInfo(tz)).strftime("%H:%M") == "03:30"
    # The day after, the rule is back at 02:30 local.
    assert occurrences[2].astimezone(ZoneInfo(tz)).strftime("%H:%M") == "02:30"


@pytest.mark.parametrize(
    ("tz", "start", "first_of_two"),
    [
        # 02:30 happens twice on 25 October in Berlin; the first is 00:30 UTC.
        (BERLIN, datetime(2026, 10, 24, 2, 30), utc(2026, 10, 25, 0, 30)),
        # 01:30 happens twice on 1 November in New York; the first is 05:30 UTC.
        (NEW_YORK, datetime(2026, 10, 31, 1, 30), utc(2026, 11, 1, 5, 30)),
    ],
)
def test_it_takes_the_first_of_an_ambiguous_autumn_time(
    tz: str, start: datetime, first_of_two: datetime
) -> None:
    occurrences = parse_rule("FREQ=DAILY", dtstart=start, tz=tz).occurrences(count=3)

    assert occurrences[1] == first_of_two


def test_it_does_not_repeat_an_hourly_occurrence_in_the_spring_gap() -> None:
    rule = parse_rule("FREQ=HOURLY", dtstart=datetime(2026, 3, 29, 0, 0), tz=BERLIN)

    occurrences = rule.occurrences(count=4)

    assert local_strings(occurrences, BERLIN) == [
        "Sun 2026-03-29 00:00",
        "Sun 2026-03-29 01:00",
        "Sun 2026-03-29 03:00",
        "Sun 2026-03-29 04:00",
    ]
    assert len(set(occurrences)) == 4


def test_it_finds_the_next_occurrence_after_an_instant_across_dst() -> None:
    rule = parse_rule("FREQ=DAILY", dtstart=datetime(2026, 3, 27, 9, 0), tz=BERLIN)

    # 07:30 UTC on the 29th is 09:30 CEST: that day's 09:00 has passed.
    assert rule.next_after(utc(2026, 3, 29, 7, 30)) == utc(2026, 3, 30, 7, 0)
    # 06:30 UTC is 08:30 CEST: that day's 09:00 is still ahead.
    assert rule.next_after(utc(2026, 3, 29, 6, 30)) == utc(2026, 3, 29, 7, 0)


# -- end conditions ----------------------------------------------------------------------


def test_it_ends_after_count_occurrences() -> None:
    rule = parse_rule("FREQ=DAILY;COUNT=3", dtstart=datetime(2026, 1, 1, 9), tz=BERLIN)

    occurrences = rule.occurrences(count=10)

    assert len(occurrences) == 3
    assert rule.next_after(occurrences[-1]) is None
    assert rule.is_finite


def test_it_includes_the_whole_until_day_when_until_is_a_date() -> None:
    rule = parse_rule("FREQ=DAILY;UNTIL=20260103", dtstart=datetime(2026, 1, 1, 21), tz=BERLIN)

    assert local_strings(rule.occurrences(count=10), BERLIN) == [
        "Thu 2026-01-01 21:00",
        "Fri 2026-01-02 21:00",
        "Sat 2026-01-03 21:00",
    ]


def test_it_reads_a_utc_until_as_an_instant() -> None:
    # 08:00 UTC is 09:00 in Berlin: the 3 January occurrence is exactly at UNTIL.
    rule = parse_rule("FREQ=DAILY;UNTIL=20260103T080000Z", dtstart=datetime(2026, 1, 1, 9), tz=BERLIN)

    assert rule.occurrences(count=10)[-1] == utc(2026, 1, 3, 8)
    assert len(rule.occurrences(count=10)) == 3


def test_it_never_ends_without_count_or_until() -> None:
    rule = parse_rule("FREQ=YEARLY", dtstart=datetime(2026, 1, 1, 9), tz=BERLIN)

    assert not rule.is_finite
    assert rule.next_after(utc(2200, 1, 1, 12)) == utc(2201, 1, 1, 8)


# -- next occurrence on completion ---------------------------------------------------------


def test_it_skips_missed_occurrences_when_completed_late_in_scheduled_mode() -> None:
    rule = parse_rule("FREQ=DAILY", dtstart=datetime(2026, 1, 1, 9), tz=BERLIN)
    scheduled = utc(2026, 1, 1, 8)
    now = utc(2026, 1, 4, 12)  # three days late, 13:00 local

    following = rule.next_on_completion(scheduled_at=scheduled, completed_at=now, now=now)

    assert following == utc(2026, 1, 5, 8)


def test_it_moves_past_the_scheduled_time_when_completed_early() -> None:
    rule = parse_rule("FREQ=WEEKLY;BYDAY=MO", dtstart=datetime(2026, 1, 5, 9), tz=BERLIN)
    scheduled = utc(2026, 1, 12, 8)
    now = utc(2026, 1, 8, 12)  # done on Thursday, before Monday's occurrence

    following = rule.next_on_completion(scheduled_at=scheduled, completed_at=now, now=now)

    assert following == utc(2026, 1, 19, 8)


def test_it_counts_from_the_completion_day_in_completion_mode() -> None:
    rule = parse_rule("FREQ=DAILY;INTERVAL=3", dtstart=datetime(2026, 1, 1, 9), tz=BERLIN)
    done = utc(2026, 1, 5, 17)  # 18:00 local on the 5th

    following = rule.next_on_completion(
        scheduled_at=utc(2026, 1, 1, 8), completed_at=done, now=done, mode="completion"
    )

    # 3 days after the 5th, at the rule's time of day.
    assert following == utc(2026, 1, 8, 8)


def test_it_snaps_to_the_rules_weekday_in_completion_mode() -> None:
    rule = parse_rule("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO", dtstart=datetime(2026, 1, 5, 9), tz=BERLIN)
    done = utc(2026, 1, 7, 10)  # Wednesday

    following = rule.next_on_completion(scheduled_at=None, completed_at=done, now=done, mode="completion")

    # Wednesday + 2 weeks = Wednesday 21st, then the first Monday on or after it.
    assert following is not None
    assert local_strings([following], BERLIN) == ["Mon 2026-01-26 09:00"]


def test_it_counts_completion_mode_in_local_time_across_dst() -> None:
    rule = parse_rule("FREQ=DAILY", dtstart=datetime(2026, 3, 20, 9), tz=BERLIN)
    done = utc(2026, 3, 28, 20)  # 21:00 CET on the 28th

    following = rule.next_on_completion(scheduled_at=None, completed_at=done, now=done, mode="completion")

    assert following == utc(2026, 3, 29, 7)  # 09:00 CEST


def test_it_ends_a_completion_mode_series_at_until_and_count() -> None:
    until = parse_rule("FREQ=DAILY;UNTIL=20260110", dtstart=datetime(2026, 1, 1, 9), tz=BERLIN)
    counted = parse_rule("FREQ=DAILY;COUNT=3", dtstart=datetime(2026, 1, 1, 9), tz=BERLIN)
    done = utc(2026, 1, 10, 12)

    assert until.next_on_completion(scheduled_at=None, completed_at=done, now=done, mode="completion") is None
    assert (
        counted.next_on_completion(
            scheduled_at=None, completed_at=done, now=done, mode="completion", generated_count=3
        )
        is None
    )
    assert counted.next_on_completion(
        scheduled_at=None, completed_at=done, now=done, mode="completion", generated_count=2
    ) == utc(2026, 1, 11, 8)


def test_it_ends_a_scheduled_series_when_count_is_used_up() -> None:
    rule = parse_rule("FREQ=DAILY;COUNT=2", dtstart=datetime(2026, 1, 1, 9), tz=BERLIN)
    now = utc(2026, 1, 2, 9)

    assert rule.next_on_completion(scheduled_at=utc(2026, 1, 2, 8), completed_at=now, now=now) is None


def test_it_refuses_an_unknown_completion_mode() -> None:
    rule = parse_rule("FREQ=DAILY", dtstart=datetime(2026, 1, 1, 9), tz=BERLIN)

    with pytest.raises(DomainError) as caught:
        rule.next_on_completion(
            scheduled_at=None,
            completed_at=utc(2026, 1, 1),
            now=utc(2026, 1, 1),
            mode="x",  # type: ignore[arg-type]  # the point of the test
        )

    assert caught.value.field == "completion_mode"


# -- summaries --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "start", "summary"),
    [
        ("FREQ=DAILY", datetime(2026, 1, 1, 9), "every day at 09:00"),
        ("FREQ=DAILY;INTERVAL=2", datetime(2026, 1, 1, 9), "every other day at 09:00"),
        ("FREQ=DAILY;INTERVAL=3", datetime(2026, 1, 1, 9), "every 3 days at 09:00"),
        ("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", datetime(2026, 1, 1, 9), "every weekday at 09:00"),
        ("FREQ=WEEKLY;BYDAY=SA,SU", datetime(2026, 1, 1, 10), "every weekend day at 10:00"),
        ("FREQ=WEEKLY;BYDAY=MO", datetime(2026, 1, 1, 9), "every Monday at 09:00"),
        ("FREQ=WEEKLY", datetime(2026, 1, 7, 9), "every Wednesday at 09:00"),
        (
            "FREQ=WEEKLY;BYDAY=MO,WE,FR",
            datetime(2026, 1, 1, 9),
            "every Monday, Wednesday and Friday at 09:00",
        ),
        ("FREQ=WEEKLY;INTERVAL=2;BYDAY=TH", datetime(2026, 1, 1, 9), "every other Thursday at 09:00"),
        ("FREQ=WEEKLY;INTERVAL=3;BYDAY=TU", datetime(2026, 1, 1, 9), "every 3 weeks on Tuesday at 09:00"),
        ("FREQ=MONTHLY;BYMONTHDAY=1", datetime(2026, 1, 1, 9), "every month on the 1st at 09:00"),
        ("FREQ=MONTHLY;BYMONTHDAY=-1", datetime(2026, 1, 1, 9), "every month on the last day at 09:00"),
        ("FREQ=MONTHLY;BYDAY=3TU", datetime(2026, 1, 1, 9), "every month on the 3rd Tuesday at 09:00"),
        ("FREQ=MONTHLY;BYDAY=-1FR", datetime(2026, 1, 1, 9), "every month on the last Friday at 09:00"),
        (
            "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
            datetime(2026, 1, 1, 9),
            "every month on the last weekday at 09:00",
        ),
        ("FREQ=MONTHLY;INTERVAL=3", datetime(2026, 1, 15, 9), "every quarter on the 15th at 09:00"),
        ("FREQ=YEARLY;BYMONTH=1;BYMONTHDAY=1", datetime(2026, 1, 1, 9), "every year on January 1 at 09:00"),
        ("FREQ=YEARLY", datetime(2026, 7, 4, 9), "every year on July 4 at 09:00"),
        ("FREQ=HOURLY", datetime(2026, 1, 1, 9), "every hour from 09:00"),
        ("FREQ=HOURLY;INTERVAL=12", datetime(2026, 1, 1, 19), "every 12 hours from 19:00"),
        ("FREQ=DAILY;COUNT=10", datetime(2026, 1, 1, 9), "every day at 09:00, 10 times"),
        ("FREQ=DAILY;UNTIL=20261231", datetime(2026, 1, 1, 9), "every day at 09:00, until 31 Dec 2026"),
    ],
)
def test_it_summarises_the_rule_in_english(text: str, start: datetime, summary: str) -> None:
    assert parse_rule(text, dtstart=start, tz=BERLIN).summary() == summary


def test_it_leaves_the_time_out_of_an_all_day_summary() -> None:
    rule = parse_rule("FREQ=WEEKLY;BYDAY=MO", dtstart=datetime(2026, 1, 1), tz=BERLIN)

    assert rule.summary(with_time=False) == "every Monday"


def test_it_summarises_a_set_with_extra_and_excluded_dates() -> None:
    text = "FREQ=DAILY\nRDATE:20260301T120000\nEXDATE:20260102T090000,20260103T090000"

    summary = parse_rule(text, dtstart=datetime(2026, 1, 1, 9), tz=BERLIN).summary()

    assert summary == "every day at 09:00, plus 1 extra date, except 2 dates"


# -- preview ----------------------------------------------------------------------------------


def test_it_previews_an_unsaved_rule_after_an_instant() -> None:
    occurrences = preview(
        "FREQ=WEEKLY;BYDAY=MO", dtstart=datetime(2026, 1, 5, 9), tz=BERLIN, count=2, after=utc(2026, 2, 1)
    )

    assert occurrences == [utc(2026, 2, 2, 8), utc(2026, 2, 9, 8)]


@pytest.mark.parametrize("count", [0, 51])
def test_it_refuses_a_preview_count_out_of_range(count: int) -> None:
    with pytest.raises(DomainError) as caught:
        preview("FREQ=DAILY", dtstart=datetime(2026, 1, 1, 9), tz=BERLIN, count=count)

    assert caught.value.field == "count"


# -- bad input --------------------------------------------------------------------------------

START = datetime(2026, 1, 5, 9, 0)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "empty"),
        ("not a rule", "Cannot parse"),
        ("FREQ=DAILY;FOO=1", "Unknown RRULE part"),
        ("FREQ=FORTNIGHTLY", "Unknown FREQ"),
        ("INTERVAL=2", "needs FREQ"),
        ("FREQ=WEEKLY;BYDAY=XX", "BYDAY"),
        ("FREQ=DAILY;INTERVAL=two", "whole number"),
        ("FREQ=MONTHLY;BYMONTHDAY=32", "out of range"),
        ("FREQ=MONTHLY;BYMONTHDAY=0", "cannot be 0"),
        ("FREQ=DAILY;BYHOUR=24", "out of range"),
        ("FREQ=WEEKLY;WKST=XX", "WKST"),
        # RFC 5545 §3.3.10 combinations; each would otherwise be a scan to year 9999.
        ("FREQ=DAILY;BYWEEKNO=1", "BYWEEKNO can only be used with FREQ=YEARLY"),
        ("FREQ=HOURLY;BYYEARDAY=100", "BYYEARDAY can only be used with FREQ=YEARLY"),
        ("FREQ=WEEKLY;BYMONTHDAY=1", "BYMONTHDAY cannot be used with FREQ=WEEKLY"),
        ("FREQ=WEEKLY;BYDAY=2TU", "numbered BYDAY"),
        ("FREQ=MONTHLY;BYDAY=6MO", "at most five"),
        ("FREQ=HOURLY;BYSETPOS=7", "BYSETPOS is beyond"),
        ("FREQ=MONTHLY;BYMONTHDAY=30;BYSETPOS=2", "BYSETPOS is beyond"),
        ("FREQ=YEARLY;BYYEARDAY=1;BYMONTH=3", "no BYYEARDAY falls in BYMONTH"),
        ("FREQ=DAILY;FREQ=WEEKLY", "twice"),
        ("FOO:BAR", "Unknown line"),
        ("RRULE:FREQ=DAILY;UNTIL=2026-12-31", "not an iCalendar date"),
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "no occurrence"),
        ("FREQ=MONTHLY;BYMONTH=4,6,9,11;BYMONTHDAY=31", "no occurrence"),
        ("FREQ=DAILY;COUNT=1\nEXDATE:20260105T090000", "no occurrence"),
        ("FREQ=DAILY;UNTIL=20260101", "UNTIL is before the start"),
        ("FREQ=DAILY;COUNT=0", "COUNT must be at least 1"),
        ("FREQ=DAILY;COUNT=-3", "COUNT must be at least 1"),
        ("FREQ=DAILY;COUNT=3;UNTIL=20261231", "either UNTIL or COUNT"),
        ("FREQ=DAILY;INTERVAL=1001", "at most 1000"),
        ("FREQ=DAILY;INTERVAL=0", "at least 1"),
        ("FREQ=SECONDLY", "more frequent than hourly"),
        ("FREQ=MINUTELY;INTERVAL=90", "more frequent than hourly"),
        ("FREQ=HOURLY;BYMINUTE=0,30", "more frequent than hourly"),
        ("DTSTART:20260106T090000\nRRULE:FREQ=DAILY", "conflicts"),
        ("EXRULE:FREQ=DAILY", "EXRULE"),
        ("x" * 1001, "longer than"),
    ],
)
def test_it_refuses_a_bad_rule_naming_the_field(text: str, problem: str) -> None:
    with pytest.raises(DomainError) as caught:
        parse_rule(text, dtstart=START, tz=BERLIN)

    assert caught.value.field == "recurrence_rule"
    assert problem in caught.value.message


def test_it_allows_hourly() -> None:
    rule = parse_rule("FREQ=HOURLY", dtstart=START, tz=BERLIN)

    occurrences = rule.occurrences(count=2)
    assert occurrences[1] - occurrences[0] == timedelta(hours=1)


@pytest.mark.parametrize("tz", ["Mars/Olympus", "", "../etc/passwd", "Europe/"])
def test_it_refuses_an_unknown_time_zone(tz: str) -> None:
    with pytest.raises(DomainError) as caught:
        parse_rule("FREQ=DAILY", dtstart=START, tz=tz)

    assert caught.value.field == "timezone"


def test_it_requires_a_start() -> None:
    with pytest.raises(DomainError) as caught:
        parse_rule("FREQ=DAILY", dtstart=None, tz=BERLIN)

    assert caught.value.field == "start"
