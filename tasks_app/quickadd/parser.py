"""Quick add: a deterministic, local parser for one line of task text.

``parse_quick_add("Pay bills on the 1st of every month #home !!!", now=…, tz=…)``
returns the title with the recognised parts removed, the due date or time,
an RRULE with its summary, priority, tags, reminders and the character spans
it recognised. No outside service, no library beyond the recurrence engine:
a hand-written phrase table of regular expressions, applied in order, each
consuming the text it matched so later phrases cannot reuse it. The grammar,
with examples, is in docs/quickadd.md.

Text inside double quotes ("…" or “…”) is never parsed: it is how a user
keeps a date-like word in the title.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from dateutil.relativedelta import relativedelta

from tasks_app.recurrence.rules import (
    CompletionMode,
    get_zone,
    localize,
    parse_rule,
    to_local,
)
from todo_project.errors import DomainError
from todo_project.timefmt import iso_utc

MAX_TEXT_LENGTH = 500
FIELD = "text"
# How a numeric date like 1/2 is read: a user preference (Profile.date_order).
DATE_ORDERS = ("MDY", "DMY", "YMD")
DEFAULT_DATE_ORDER = "MDY"
_ORDER_WORDS = {"MDY": "month/day/year", "DMY": "day/month/year", "YMD": "year/month/day"}
_MASK = "\x1f"  # consumed characters; not a word char, not whitespace

_WEEKDAYS = {
    "mo": 0,
    "tu": 1,
    "we": 2,
    "th": 3,
    "fr": 4,
    "sa": 5,
    "su": 6,
}
_WD_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_MONTHS = {
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "apr": 4,
    "may": 5,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
}
_NUMBER_WORDS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "twelve": 12,
}
_ORDINAL_WORDS = {
    "first": 1,
    "1st": 1,
    "second": 2,
    "2nd": 2,
    "third": 3,
    "3rd": 3,
    "fourth": 4,
    "4th": 4,
    "fifth": 5,
    "5th": 5,
    "last": -1,
}

# -- regex building blocks ----------------------------------------------------
WD_FULL = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)s?"
WD_ANY = (
    r"(?:mon(?:day)?|tue(?:s|sday)?|wed(?:nesday)?|thu(?:r|rs|rsday)?|fri(?:day)?|"
    r"sat(?:urday)?|sun(?:day)?)s?"
)
WD_LIST = rf"{WD_ANY}(?:\s*(?:,|and|&|,\s*and)\s*{WD_ANY})*"
MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t|tember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
DAYNUM = r"\d{1,2}(?:st|nd|rd|th)?"
NUM = r"(?:\d{1,4}|a|an|one|two|three|four|five|six|seven|eight|nine|ten|twelve)"
ORD = r"(?:first|second|third|fourth|fifth|last|1st|2nd|3rd|4th|5th)"
DATE_ALT = (
    r"(?:today|tod|tomorrow|tmrw?|day\s+after\s+tomorrow|"
    rf"(?:next|this|coming)\s+{WD_ANY}|{WD_FULL}|"
    r"next\s+(?:week|month|year)|end\s+of\s+(?:the\s+)?(?:week|month|year)|"
    rf"in\s+{NUM}\s+(?:days?|weeks?|months?|years?)|"
    rf"{MONTH}\s+{DAYNUM}(?:,?\s+\d{{4}})?|"
    rf"(?:the\s+)?{DAYNUM}\s+(?:of\s+)?{MONTH}(?:,?\s+\d{{4}})?|"
    r"\d{4}-\d{2}-\d{2}|\d{4}/\d{1,2}/\d{1,2}|\d{1,2}/\d{1,2}(?:/\d{2,4})?)"
)
TIME_ALT = r"(?:\d{1,2}(?::\d{2})?\s*(?:am|pm|a\.m\.|p\.m\.)|\d{1,2}:\d{2}|noon|midday|midnight)"
PREP_DATE = r"(?:(?:on|by|due(?:\s+on|\s+by)?|starting(?:\s+on|\s+from)?|beginning|from)\s+)?"
PREP_TIME = r"(?:(?:at|@|by|starting\s+at|starting|from)\s+)?"
EVERY = r"(?P<every>every!|every|each)\s+"
UNIT = r"(?P<unit>hours?|hrs?|days?|weeks?|months?|years?)"


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    kind: str
    text: str


@dataclass
class QuickAddResult:
    """What the text says. Datetimes are aware UTC; ``due_date`` is a plain date."""

    title: str
    due_date: date | None = None
    due_at: datetime | None = None
    recurrence_rule: str | None = None
    recurrence_summary: str | None = None
    completion_mode: CompletionMode = "scheduled"
    priority: str | None = None
    tags: list[str] = field(default_factory=list)
    reminder_offsets: list[int] = field(default_factory=list)  # minutes before due
    reminder_times: list[datetime] = field(default_factory=list)
    spans: list[Span] = field(default_factory=list)
    unrecognised: list[str] = field(default_factory=list)
    timezone: str = "UTC"

    @property
    def is_recurring(self) -> bool:
        return self.recurrence_rule is not None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: datetimes in ISO 8601 UTC with a Z."""
        data = asdict(self)
        data["is_recurring"] = self.is_recurring
        data["due_date"] = self.due_date.isoformat() if self.due_date else None
        data["due_at"] = _iso(self.due_at) if self.due_at else None
        data["reminder_times"] = [_iso(t) for t in self.reminder_times]
        return data


_iso = iso_utc


def _refuse(message: str) -> DomainError:
    return DomainError(message, field=FIELD)


# ``_State`` has a field named ``date``; inside the class that name is the field.
_Date = date


@dataclass
class _State:
    now_local: datetime
    date_order: str = DEFAULT_DATE_ORDER
    date: date | None = None
    explicit_date: bool = False
    clock: time | None = None
    default_clock: time | None = None  # "tonight" → 20:00 unless a time is given
    evening: bool = False
    relative_due: datetime | None = None  # "in 3 hours": an exact instant
    freq: str | None = None
    interval: int = 1
    byday: list[str] = field(default_factory=list)
    bymonthday: list[int] = field(default_factory=list)
    bymonth: list[int] = field(default_factory=list)
    bysetpos: list[int] = field(default_factory=list)
    completion: bool = False
    until: _Date | None = None
    count: int | None = None
    priority: str | None = None
    tags: list[str] = field(default_factory=list)
    offsets: list[int] = field(default_factory=list)
    reminder_clocks: list[time] = field(default_factory=list)
    remind_prefix: bool = False

    @property
    def today(self) -> _Date:
        return self.now_local.date()

    def set_recurrence(self, freq: str, *, interval: int = 1, byday: list[str] | None = None) -> None:
        if self.freq is not None:
            raise _refuse("The text has two recurrences; give one.")
        if interval < 1:
            raise _refuse("A recurrence interval must be at least 1.")
        if interval > 1000:
            raise _refuse("A recurrence interval must be at most 1000.")
        self.freq, self.interval = freq, interval
        self.byday = list(byday or [])

    def set_date(self, value: _Date) -> None:
        if self.date is not None and self.date != value:
            raise _refuse("The text has two different dates; give one.")
        self.date, self.explicit_date = value, True

    def set_clock(self, value: time) -> None:
        if self.clock is not None and self.clock != value:
            raise _refuse("The text has two different times; give one.")
        self.clock = value


# -- value parsers -----------------------------------------------------------------


def _number(raw: str) -> int:
    raw = raw.lower()
    return _NUMBER_WORDS[raw] if raw in _NUMBER_WORDS else int(raw)


def _weekday(raw: str) -> int:
    return _WEEKDAYS[raw.strip().lower()[:2]]


def _weekday_list(raw: str) -> list[int]:
    found = re.findall(WD_ANY, raw, flags=re.IGNORECASE)
    days: list[int] = []
    for item in found:
        day = _weekday(item)
        if day not in days:
            days.append(day)
    return sorted(days)


def _month(raw: str) -> int:
    return _MONTHS[raw.strip().lower().rstrip(".")[:3]]


def _safe_date(year: int, month: int, day: int, raw: str) -> date:
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise _refuse(f'"{raw}" is not a date that exists.') from exc


def _day_month(month: int, day: int, year: int | None, raw: str, today: date) -> date:
    """A month-day without a year is the next one on or after today."""
    if year is not None:
        return _safe_date(year, month, day, raw)
    # Feb 29 without a year: the next leap year's, not an error.
    if month == 2 and day == 29:
        candidate_year = today.year
        while True:
            try:
                candidate = date(candidate_year, 2, 29)
            except ValueError:
                candidate_year += 1
                continue
            if candidate >= today:
                return candidate
            candidate_year += 1
    candidate = _safe_date(2000, month, day, raw).replace(year=today.year)
    if candidate < today:
        candidate = candidate.replace(year=today.year + 1)
    return candidate


def _next_weekday(today: date, weekday: int, *, strictly_after: bool) -> date:
    ahead = (weekday - today.weekday()) % 7
    if ahead == 0 and strictly_after:
        ahead = 7
    return today + timedelta(days=ahead)


def _parse_date(raw: str, today: date, order: str = DEFAULT_DATE_ORDER) -> date:
    text = re.sub(r"\s+", " ", raw.strip().lower())
    if text in {"today", "tod"}:
        return today
    if text in {"tomorrow", "tmr", "tmrw"}:
        return today + timedelta(days=1)
    if text.startswith("day after tomorrow"):
        return today + timedelta(days=2)
    if text == "next week":
        return _next_weekday(today, 0, strictly_after=True)
    if text == "next month":
        return (today + relativedelta(months=1)).replace(day=1)
    if text == "next year":
        return date(today.year + 1, 1, 1)
    if m := re.fullmatch(r"end of (?:the )?(week|month|year)", text):
        unit = m.group(1)
        if unit == "week":
            return _next_weekday(today, 4, strictly_after=False)  # Friday: the end of the work week
        if unit == "month":
            return today + relativedelta(day=31)
        return date(today.year, 12, 31)
    if m := re.fullmatch(rf"in ({NUM}) (day|week|month|year)s?", text):
        n = _number(m.group(1))
        return today + relativedelta(**{m.group(2) + "s": n})  # type: ignore[arg-type]  # days/weeks/months/years
    if m := re.fullmatch(rf"(next|this|coming) ({WD_ANY})", text):
        # "this/coming Friday": the coming one, today included. "next Friday" is
        # Todoist's: the second Friday to occur, i.e. the one after the coming
        # one (said on a Thursday it is 8 days ahead, not tomorrow).
        coming = _next_weekday(today, _weekday(m.group(2)), strictly_after=False)
        return coming + timedelta(days=7) if m.group(1) == "next" else coming
    if re.fullmatch(WD_ANY, text):
        return _next_weekday(today, _weekday(text), strictly_after=False)
    if m := re.fullmatch(rf"({MONTH}) (\d{{1,2}})(?:st|nd|rd|th)?(?:,? (\d{{4}}))?", text):
        year = int(m.group(3)) if m.group(3) else None
        return _day_month(_month(m.group(1)), int(m.group(2)), year, raw, today)
    if m := re.fullmatch(rf"(?:the )?(\d{{1,2}})(?:st|nd|rd|th)? (?:of )?({MONTH})(?:,? (\d{{4}}))?", text):
        year = int(m.group(3)) if m.group(3) else None
        return _day_month(_month(m.group(2)), int(m.group(1)), year, raw, today)
    if m := re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text):
        return _safe_date(int(m.group(1)), int(m.group(2)), int(m.group(3)), raw)
    if re.fullmatch(r"\d{1,4}/\d{1,2}(?:/\d{2,4})?", text):
        return _numeric_date(text, raw, today, order)
    raise _refuse(f'"{raw}" is not a date I understand.')


def _numeric_date(text: str, raw: str, today: date, order: str) -> date:
    """``1/2``, ``1/2/27`` in the user's date order; ``2027/1/2`` is year first in any.

    Two numbers are month/day (MDY, YMD) or day/month (DMY); three are read
    in the order's full form. A date that does not fit the user's order is
    refused with a message that names the order and the preference.
    """
    parts = [int(p) for p in text.split("/")]
    year: int | None
    if len(text.split("/")[0]) == 4:
        year, month, day = parts
    elif order == "YMD":
        if len(parts) == 3:
            year, month, day = parts
        else:
            (month, day), year = parts, None
    else:
        month, day = (parts[0], parts[1]) if order == "MDY" else (parts[1], parts[0])
        year = parts[2] if len(parts) == 3 else None
    if year is not None and year < 100:
        year += 2000
    if not 1 <= month <= 12 or not 1 <= day <= 31:
        raise _refuse(
            f'"{raw}" is not a date in your date order, {_ORDER_WORDS[order]} ({order}). '
            "Change date_order in your profile (MDY, DMY or YMD) or write 2027-04-15."
        )
    return _day_month(month, day, year, raw, today)


def _parse_time(raw: str, *, evening: bool = False) -> time:
    text = raw.strip().lower().replace(".", "")
    if text in {"noon", "midday"}:
        return time(12, 0)
    if text == "midnight":
        return time(0, 0)
    m = re.fullmatch(r"(\d{1,2})(?::(\d{2}))?\s*(am|pm)?", text)
    if not m:
        raise _refuse(f'"{raw}" is not a time I understand.')
    hour, minute, meridiem = int(m.group(1)), int(m.group(2) or 0), m.group(3)
    if minute > 59:
        raise _refuse(f'"{raw}" is not a valid time.')
    if meridiem:
        if not 1 <= hour <= 12:
            raise _refuse(f'"{raw}" is not a valid time.')
        hour = hour % 12 + (12 if meridiem == "pm" else 0)
    elif hour > 23:
        raise _refuse(f'"{raw}" is not a valid time.')
    elif evening and 1 <= hour < 12:
        hour += 12
    return time(hour, minute)


def _unit_minutes(unit: str) -> int:
    unit = unit.lower()
    if unit.startswith(("min", "m")) and not unit.startswith("mo"):
        return 1
    if unit.startswith("h"):
        return 60
    if unit.startswith("d"):
        return 60 * 24
    if unit.startswith("w"):
        return 60 * 24 * 7
    raise _refuse(f'"{unit}" is not a reminder unit (minutes, hours, days, weeks).')


def _freq_of(unit: str) -> str:
    unit = unit.lower()
    if unit.startswith("h"):
        return "HOURLY"
    return {"d": "DAILY", "w": "WEEKLY", "m": "MONTHLY", "y": "YEARLY"}[unit[0]]


# -- the phrase table ----------------------------------------------------------------
# Each handler gets the match and the state and returns the span kind. Order
# matters: longer, more specific phrases first, so "every 2 weeks on Tuesday"
# is one recurrence rather than a recurrence plus a date.

Handler = Callable[[re.Match[str], _State], str]
_TABLE: list[tuple[re.Pattern[str], Handler]] = []


def phrase(pattern: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        _TABLE.append((re.compile(rf"(?<![\w#!@]){pattern}(?![\w])", re.IGNORECASE), handler))
        return handler

    return register


def _completion(match: re.Match[str], state: _State) -> None:
    every = match.groupdict().get("every")
    if every and every.endswith("!"):
        state.completion = True


@phrase(r"(?:remind\s+me\s+to|remember\s+to|reminder\s*:)")
def _remind_prefix(match: re.Match[str], state: _State) -> str:
    if match.start() != 0:
        # Only as the opening words ("Remind me to call Bob"); elsewhere it is title.
        return ""
    state.remind_prefix = True
    return "reminder"


@phrase(
    r"remind\s+me\s+(?P<n>"
    + NUM
    + r")\s*(?P<unit>minutes?|mins?|m|hours?|hrs?|h|days?|d|weeks?|w)\s+(?:before|early|earlier|ahead)"
)
def _remind_offset(match: re.Match[str], state: _State) -> str:
    state.offsets.append(_number(match.group("n")) * _unit_minutes(match.group("unit")))
    return "reminder"


@phrase(r"remind\s+me\s+(?:at\s+)?(?P<t>" + TIME_ALT + r")")
def _remind_clock(match: re.Match[str], state: _State) -> str:
    state.reminder_clocks.append(_parse_time(match.group("t")))
    return "reminder"


@phrase(EVERY + r"(?:(?P<n>" + NUM + r")\s+)?(?P<unit>minutes?|mins?|seconds?|secs?)")
def _too_frequent(match: re.Match[str], state: _State) -> str:
    raise _refuse(
        f'"{match.group(0)}" is more frequent than hourly; the most frequent allowed is every hour.'
    )


@phrase(
    r"(?:every\s+)?(?P<n>"
    + NUM
    + r")\s+"
    + UNIT
    + r"\s+after\s+(?:completion|completing|it(?:'s| is)\s+done|done)"
)
def _after_completion(match: re.Match[str], state: _State) -> str:
    state.set_recurrence(_freq_of(match.group("unit")), interval=_number(match.group("n")))
    state.completion = True
    return "recurrence"


@phrase(EVERY + r"(?P<n>" + NUM + r")\s+weeks?\s+on\s+(?P<days>" + WD_LIST + r")")
def _every_n_weeks_on(match: re.Match[str], state: _State) -> str:
    days = [_WD_CODES[d] for d in _weekday_list(match.group("days"))]
    state.set_recurrence("WEEKLY", interval=_number(match.group("n")), byday=days)
    _completion(match, state)
    return "recurrence"


@phrase(
    EVERY
    + r"(?:(?P<n>"
    + NUM
    + r")\s+)?months?\s+on\s+the\s+(?P<d>\d{1,2})(?:st|nd|rd|th)?(?!\s*"
    + WD_ANY
    + r")"
)
def _every_month_on_day(match: re.Match[str], state: _State) -> str:
    day = int(match.group("d"))
    if not 1 <= day <= 31:
        raise _refuse(f'"{match.group(0)}": a month has no day {day}.')
    state.set_recurrence("MONTHLY", interval=_number(match.group("n") or "1"))
    state.bymonthday = [day]
    _completion(match, state)
    return "recurrence"


@phrase(EVERY + r"(?:(?P<n>" + NUM + r")\s+)?months?\s+on\s+the\s+last\s+day")
def _every_month_last_day(match: re.Match[str], state: _State) -> str:
    state.set_recurrence("MONTHLY", interval=_number(match.group("n") or "1"))
    state.bymonthday = [-1]
    _completion(match, state)
    return "recurrence"


@phrase(
    EVERY + r"(?:(?P<n>" + NUM + r")\s+)?months?\s+on\s+the\s+(?P<ord>" + ORD + r")\s+(?P<wd>" + WD_ANY + r")"
)
def _every_month_on_nth(match: re.Match[str], state: _State) -> str:
    nth = _ORDINAL_WORDS[match.group("ord").lower()]
    state.set_recurrence(
        "MONTHLY",
        interval=_number(match.group("n") or "1"),
        byday=[f"{nth}{_WD_CODES[_weekday(match.group('wd'))]}"],
    )
    _completion(match, state)
    return "recurrence"


@phrase(
    EVERY
    + r"years?\s+on\s+(?P<date>"
    + MONTH
    + r"\s+\d{1,2}(?:st|nd|rd|th)?|\d{1,2}(?:st|nd|rd|th)?\s+(?:of\s+)?"
    + MONTH
    + r")"
)
def _every_year_on(match: re.Match[str], state: _State) -> str:
    return _yearly_on(match, state)


@phrase(
    EVERY
    + r"(?P<date>"
    + MONTH
    + r"\s+\d{1,2}(?:st|nd|rd|th)?|\d{1,2}(?:st|nd|rd|th)?\s+(?:of\s+)?"
    + MONTH
    + r")"
)
def _every_month_day(match: re.Match[str], state: _State) -> str:
    return _yearly_on(match, state)


def _yearly_on(match: re.Match[str], state: _State) -> str:
    raw = match.group("date")
    month_match = re.search(MONTH, raw, re.IGNORECASE)
    day_match = re.search(r"\d{1,2}", raw)
    assert month_match
    assert day_match
    month, day = _month(month_match.group(0)), int(day_match.group(0))
    _safe_date(2000, month, day, raw)  # 2000 is a leap year: Feb 29 is allowed
    state.set_recurrence("YEARLY")
    state.bymonth, state.bymonthday = [month], [day]
    _completion(match, state)
    return "recurrence"


# Times of day as words, at Todoist's hours ("every morning" = every day at 9am).
DAY_PARTS = {"morning": time(9, 0), "afternoon": time(12, 0), "evening": time(19, 0), "night": time(22, 0)}
DAY_PART = r"(?P<part>morning|afternoon|evening|night)"


@phrase(EVERY + DAY_PART)
def _every_day_part(match: re.Match[str], state: _State) -> str:
    part = match.group("part").lower()
    state.set_recurrence("DAILY")
    state.default_clock, state.evening = DAY_PARTS[part], part in ("evening", "night")
    _completion(match, state)
    return "recurrence"


@phrase(r"(?P<day>today|tomorrow|tmrw|this|" + WD_FULL + r")\s+" + DAY_PART)
def _day_part(match: re.Match[str], state: _State) -> str:
    day = match.group("day").lower()
    part = match.group("part").lower()
    state.set_date(state.today if day == "this" else _parse_date(day, state.today, state.date_order))
    state.default_clock, state.evening = DAY_PARTS[part], part in ("evening", "night")
    return "date"


@phrase(
    EVERY
    + r"(?P<nth>"
    + ORD
    + r"|\d{1,2}(?:st|nd|rd|th))\s+(?:work\s*day|business\s+day|week\s*day)"
    + r"(?:\s+of\s+(?:the\s+|every\s+)?month)?"
)
def _every_nth_workday(match: re.Match[str], state: _State) -> str:
    raw = match.group("nth").lower()
    nth = _ORDINAL_WORDS[raw] if raw in _ORDINAL_WORDS else int(re.sub(r"\D", "", raw))
    if nth != -1 and not 1 <= nth <= 20:
        # Every month has at least 20 workdays; a 21st would skip some months.
        raise _refuse(f'"{match.group(0)}": give a workday from the 1st to the 20th, or the last.')
    state.set_recurrence("MONTHLY", byday=["MO", "TU", "WE", "TH", "FR"])
    state.bysetpos = [nth]
    _completion(match, state)
    return "recurrence"


_LIST_DAY = r"(?:the\s+)?\d{1,2}(?:st|nd|rd|th)?"


@phrase(
    EVERY
    + r"(?P<days>"
    + _LIST_DAY
    + r"(?:\s*(?:,\s*(?:and\s+)?|and\s+|&\s*)"
    + _LIST_DAY
    + r")+)(?:\s+(?:day\s+)?of\s+(?:the\s+|every\s+)?month)?"
    + r"(?!\s*(?:"
    + MONTH
    + r"|hours?|hrs?|days?|weeks?|months?|years?|times)\b)"
)
def _every_month_days(match: re.Match[str], state: _State) -> str:
    days = sorted({int(d) for d in re.findall(r"\d{1,2}", match.group("days"))})
    bad = [d for d in days if not 1 <= d <= 31]
    if bad:
        raise _refuse(f'"{match.group(0)}": a month has no day {bad[0]}.')
    state.set_recurrence("MONTHLY")
    state.bymonthday = days
    _completion(match, state)
    return "recurrence"


@phrase(EVERY + r"other\s+(?P<what>day|week|month|year|" + WD_ANY + r")")
def _every_other(match: re.Match[str], state: _State) -> str:
    what = match.group("what").lower()
    if what in {"day", "week", "month", "year"}:
        state.set_recurrence(_freq_of(what), interval=2)
    else:
        state.set_recurrence("WEEKLY", interval=2, byday=[_WD_CODES[_weekday(what)]])
    _completion(match, state)
    return "recurrence"


@phrase(EVERY + r"(?:work\s*day|week\s*day|business\s+day)s?")
def _every_weekday(match: re.Match[str], state: _State) -> str:
    state.set_recurrence("WEEKLY", byday=["MO", "TU", "WE", "TH", "FR"])
    _completion(match, state)
    return "recurrence"


@phrase(EVERY + r"week\s*ends?")
def _every_weekend(match: re.Match[str], state: _State) -> str:
    state.set_recurrence("WEEKLY", byday=["SA", "SU"])
    _completion(match, state)
    return "recurrence"


@phrase(EVERY + r"(?:quarter|3\s+months)")
def _every_quarter(match: re.Match[str], state: _State) -> str:
    state.set_recurrence("MONTHLY", interval=3)
    _completion(match, state)
    return "recurrence"


@phrase(EVERY + r"fortnight")
def _every_fortnight(match: re.Match[str], state: _State) -> str:
    state.set_recurrence("WEEKLY", interval=2)
    _completion(match, state)
    return "recurrence"


@phrase(EVERY + r"last\s+day(?:\s+of\s+(?:the\s+|every\s+)?month)?")
def _every_last_day(match: re.Match[str], state: _State) -> str:
    state.set_recurrence("MONTHLY")
    state.bymonthday = [-1]
    _completion(match, state)
    return "recurrence"


@phrase(EVERY + r"(?P<ord>" + ORD + r")\s+(?P<wd>" + WD_ANY + r")(?:\s+of\s+(?:the\s+|every\s+)?month)?")
def _every_nth_weekday(match: re.Match[str], state: _State) -> str:
    nth = _ORDINAL_WORDS[match.group("ord").lower()]
    state.set_recurrence("MONTHLY", byday=[f"{nth}{_WD_CODES[_weekday(match.group('wd'))]}"])
    _completion(match, state)
    return "recurrence"


@phrase(EVERY + r"(?P<d>\d{1,2})(?:st|nd|rd|th)(?:\s+(?:day\s+)?of\s+(?:the\s+|every\s+)?month)?")
def _every_nth_day(match: re.Match[str], state: _State) -> str:
    day = int(match.group("d"))
    if not 1 <= day <= 31:
        raise _refuse(f'"{match.group(0)}": a month has no day {day}.')
    state.set_recurrence("MONTHLY")
    state.bymonthday = [day]
    _completion(match, state)
    return "recurrence"


@phrase(r"on\s+the\s+(?P<d>\d{1,2})(?:st|nd|rd|th)?\s+(?:day\s+)?of\s+(?:every|each)\s+month")
def _on_nth_of_every_month(match: re.Match[str], state: _State) -> str:
    day = int(match.group("d"))
    if not 1 <= day <= 31:
        raise _refuse(f'"{match.group(0)}": a month has no day {day}.')
    state.set_recurrence("MONTHLY")
    state.bymonthday = [day]
    return "recurrence"


@phrase(r"on\s+the\s+last\s+day\s+of\s+(?:every|each)\s+month")
def _on_last_day_of_every_month(match: re.Match[str], state: _State) -> str:
    state.set_recurrence("MONTHLY")
    state.bymonthday = [-1]
    return "recurrence"


@phrase(r"on\s+the\s+(?P<ord>" + ORD + r")\s+(?P<wd>" + WD_ANY + r")\s+of\s+(?:every|each)\s+month")
def _on_nth_weekday_of_every_month(match: re.Match[str], state: _State) -> str:
    nth = _ORDINAL_WORDS[match.group("ord").lower()]
    state.set_recurrence("MONTHLY", byday=[f"{nth}{_WD_CODES[_weekday(match.group('wd'))]}"])
    return "recurrence"


@phrase(EVERY + r"(?:(?P<n>" + NUM + r")\s+)?" + UNIT)
def _every_n_units(match: re.Match[str], state: _State) -> str:
    state.set_recurrence(_freq_of(match.group("unit")), interval=_number(match.group("n") or "1"))
    _completion(match, state)
    return "recurrence"


@phrase(EVERY + r"(?P<days>" + WD_LIST + r")")
def _every_weekdays(match: re.Match[str], state: _State) -> str:
    days = [_WD_CODES[d] for d in _weekday_list(match.group("days"))]
    state.set_recurrence("WEEKLY", byday=days)
    _completion(match, state)
    return "recurrence"


@phrase(r"(?P<word>daily|weekly|monthly|yearly|annually|hourly|quarterly|fortnightly|weekdays)")
def _adverb(match: re.Match[str], state: _State) -> str:
    word = match.group("word").lower()
    if state.freq is not None:
        # "Daily log every day": the adverb is part of the title.
        return ""
    if word == "weekdays":
        state.set_recurrence("WEEKLY", byday=["MO", "TU", "WE", "TH", "FR"])
    elif word == "quarterly":
        state.set_recurrence("MONTHLY", interval=3)
    elif word == "fortnightly":
        state.set_recurrence("WEEKLY", interval=2)
    else:
        freq = {"daily": "DAILY", "weekly": "WEEKLY", "monthly": "MONTHLY", "hourly": "HOURLY"}.get(
            word, "YEARLY"
        )
        state.set_recurrence(freq)
    return "recurrence"


@phrase(r"(?:after\s+completion|from\s+completion)")
def _completion_suffix(match: re.Match[str], state: _State) -> str:
    state.completion = True
    return "recurrence"


@phrase(r"until\s+(?P<date>" + DATE_ALT + r")")
def _until(match: re.Match[str], state: _State) -> str:
    state.until = _parse_date(match.group("date"), state.today, state.date_order)
    return "recurrence_end"


@phrase(r"(?:for\s+)?(?P<n>\d{1,4})\s+(?:times|occurrences)")
def _count(match: re.Match[str], state: _State) -> str:
    state.count = int(match.group("n"))
    if state.count < 1:
        raise _refuse("A recurrence must happen at least once (for 1 time or more).")
    return "recurrence_end"


@phrase(r"tonight")
def _tonight(match: re.Match[str], state: _State) -> str:
    state.set_date(state.today)
    state.default_clock, state.evening = time(20, 0), True
    return "date"


@phrase(r"in\s+(?P<n>" + NUM + r")\s+(?P<unit>hours?|hrs?|minutes?|mins?)")
def _in_hours(match: re.Match[str], state: _State) -> str:
    minutes = _number(match.group("n")) * (60 if match.group("unit").lower().startswith("h") else 1)
    state.relative_due = state.now_local + timedelta(minutes=minutes)
    return "date"


@phrase(PREP_DATE + r"(?P<date>" + DATE_ALT + r")")
def _date(match: re.Match[str], state: _State) -> str:
    state.set_date(_parse_date(match.group("date"), state.today, state.date_order))
    return "date"


@phrase(r"(?:on|by|due|this|coming)\s+(?P<wd>" + WD_ANY + r")")
def _on_weekday(match: re.Match[str], state: _State) -> str:
    state.set_date(_next_weekday(state.today, _weekday(match.group("wd")), strictly_after=False))
    return "date"


@phrase(PREP_TIME + r"(?P<t>" + TIME_ALT + r")")
def _time(match: re.Match[str], state: _State) -> str:
    state.set_clock(_parse_time(match.group("t"), evening=state.evening))
    return "time"


@phrase(r"(?:at|@)\s+(?P<h>\d{1,2})")
def _at_hour(match: re.Match[str], state: _State) -> str:
    # A bare hour is read within business hours (08:00-19:59), as Todoist does:
    # "at 3" is 15:00, "at 8" is 08:00, "at 18" is 18:00. Say "3am" for 03:00.
    hour = int(match.group("h"))
    evening = state.evening or 1 <= hour <= 7
    state.set_clock(_parse_time(match.group("h"), evening=evening))
    return "time"


@phrase(r"!(?P<p>high|medium|med|normal|low|h|m|l)")
def _bang_word(match: re.Match[str], state: _State) -> str:
    word = match.group("p").lower()
    state.priority = {"h": "high", "m": "medium", "med": "medium", "normal": "medium", "l": "low"}.get(
        word, word
    )
    return "priority"


@phrase(r"(?P<bangs>!{1,3})(?=\s|$)")
def _bangs(match: re.Match[str], state: _State) -> str:
    # Like Apple Reminders: ! low, !! medium, !!! high.
    state.priority = {1: "low", 2: "medium", 3: "high"}[len(match.group("bangs"))]
    return "priority"


@phrase(r"(?P<p>p[1-4])")
def _p_level(match: re.Match[str], state: _State) -> str:
    # Todoist's p1 (highest) … p4 (none); p4 is our default, medium.
    state.priority = {"p1": "high", "p2": "medium", "p3": "low", "p4": "medium"}[match.group("p").lower()]
    return "priority"


@phrase(r"(?:urgent|asap)")
def _urgent(match: re.Match[str], state: _State) -> str:
    state.priority = "high"
    return "priority"


@phrase(r"#(?P<tag>(?=[\w-]*[^\W\d_])[\w][\w-]{0,49})")
def _tag(match: re.Match[str], state: _State) -> str:
    tag = match.group("tag")
    if tag.lower() not in {t.lower() for t in state.tags}:
        state.tags.append(tag)
    return "tag"


# Leftovers that look like an instruction but matched nothing: reported back.
_UNRECOGNISED = [
    re.compile(r"(?<![\w])every!?\s+[^\s\x1f]+(?:\s+[^\s\x1f]+)?", re.IGNORECASE),
    re.compile(r"(?<![\w])remind\s+me\b[^\x1f]*", re.IGNORECASE),
    re.compile(r"(?<!\S)![A-Za-z]+\b"),
    re.compile(r"(?<![\w])(?:until|starting)\s+[^\s\x1f]+", re.IGNORECASE),
]
_QUOTED = re.compile(r"\"[^\"]*\"|“[^”]*”")
_DANGLING = re.compile(
    r"^(?:(?:on|at|by|due|from|starting|and|,|-|:|;)\s+)+|(?:\s+(?:on|at|by|due|from|starting|and|,|-|:|;))+$",
    re.IGNORECASE,
)


def parse_quick_add(
    text: str, *, now: datetime, tz: str, date_order: str = DEFAULT_DATE_ORDER
) -> QuickAddResult:
    """Parse one line of task text, interpreted in ``tz`` relative to ``now``.

    ``date_order`` (``MDY``, ``DMY`` or ``YMD``, the user's preference) says
    how a numeric date such as ``1/2`` is read.

    Raises DomainError naming ``text`` for empty or over-long text, a
    recurrence more frequent than hourly, a date that does not exist, or
    contradictory parts (two dates, two recurrences); ``timezone`` for an
    unknown zone.
    """
    zone = get_zone(tz)
    if not isinstance(text, str) or not text.strip():
        raise _refuse("The text is empty.")
    if len(text) > MAX_TEXT_LENGTH:
        raise _refuse(f"The text is longer than {MAX_TEXT_LENGTH} characters.")
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")

    if date_order not in DATE_ORDERS:
        raise ValueError(f"date_order must be one of {DATE_ORDERS}")
    state = _State(now_local=to_local(now, zone).replace(microsecond=0), date_order=date_order)
    # Quoted text is masked so no phrase can match inside it.
    work = list(text)
    quote_marks: set[int] = set()
    for quoted in _QUOTED.finditer(text):
        for i in range(quoted.start(), quoted.end()):
            work[i] = _MASK
        quote_marks.update({quoted.start(), quoted.end() - 1})
    working = "".join(work)

    spans: list[Span] = []
    consumed: set[int] = set()
    for pattern, handler in _TABLE:
        for match in pattern.finditer(working):
            if any(i in consumed for i in range(match.start(), match.end())):
                continue
            kind = handler(match, state)
            if not kind:
                continue
            spans.append(Span(match.start(), match.end(), kind, text[match.start() : match.end()]))
            consumed.update(range(match.start(), match.end()))
        if consumed:
            working = "".join(_MASK if i in consumed else ch for i, ch in enumerate(working))

    unrecognised: list[str] = []
    for pattern in _UNRECOGNISED:
        for match in pattern.finditer(working):
            unrecognised.append(match.group(0).strip())

    title_chars = [ch for i, ch in enumerate(text) if i not in consumed and i not in quote_marks]
    title = re.sub(r"\s+", " ", "".join(title_chars)).strip()
    title = _DANGLING.sub("", title).strip(" ,;:-")
    title = re.sub(r"\s+([,;:.!?])", r"\1", title)

    result = QuickAddResult(
        title=title,
        priority=state.priority,
        tags=state.tags,
        spans=sorted(spans, key=lambda s: s.start),
        unrecognised=unrecognised,
        completion_mode="completion" if state.completion else "scheduled",
        timezone=zone.key,
    )
    _resolve_when(state, result, now=now, tz=zone.key)
    _resolve_reminders(state, result)
    return result


def _resolve_when(state: _State, result: QuickAddResult, *, now: datetime, tz: str) -> None:
    zone = get_zone(tz)
    if state.relative_due is not None:
        if state.date is not None or state.clock is not None:
            raise _refuse('"in N hours" cannot be combined with another date or time.')
        if state.freq is None:
            result.due_at = localize(state.relative_due, zone)
            return
        state.date, state.clock = state.relative_due.date(), state.relative_due.time()

    clock = state.clock or state.default_clock
    if state.freq is None:
        if state.until is not None or state.count is not None:
            raise _refuse('"until …" and "N times" need a recurrence such as "every day".')
        if state.completion:
            raise _refuse('"after completion" needs a recurrence such as "every! 3 days".')
        if state.date is not None and clock is not None:
            result.due_at = localize(datetime.combine(state.date, clock), zone)
        elif state.date is not None:
            result.due_date = state.date
        elif clock is not None:
            # A time without a date: the next time the clock shows it.
            candidate = datetime.combine(state.today, clock)
            if candidate <= state.now_local:
                candidate += timedelta(days=1)
            result.due_at = localize(candidate, zone)
        return

    has_time = clock is not None or state.freq == "HOURLY"
    if state.freq == "HOURLY" and clock is None:
        clock = (state.now_local + timedelta(hours=1)).time().replace(minute=0, second=0)
        if state.date is None:
            state.date = (state.now_local + timedelta(hours=1)).date()
    start = datetime.combine(state.date or state.today, clock or time(0, 0))
    parts = [f"FREQ={state.freq}"]
    if state.interval != 1:
        parts.append(f"INTERVAL={state.interval}")
    if state.bymonth:
        parts.append("BYMONTH=" + ",".join(str(m) for m in state.bymonth))
    if state.bymonthday:
        parts.append("BYMONTHDAY=" + ",".join(str(d) for d in state.bymonthday))
    if state.byday:
        parts.append("BYDAY=" + ",".join(state.byday))
    if state.bysetpos:
        parts.append("BYSETPOS=" + ",".join(str(n) for n in state.bysetpos))
    if state.until is not None:
        parts.append("UNTIL=" + state.until.strftime("%Y%m%d"))
    if state.count is not None:
        parts.append(f"COUNT={state.count}")
    rule_text = ";".join(parts)
    try:
        rule = parse_rule(rule_text, dtstart=start, tz=tz)
        first = rule.dtstart
        # Without an explicit start, "every day at 9am" typed at 14:00 starts
        # tomorrow: the first occurrence is the next one that is still ahead.
        if not state.explicit_date:
            passed = first <= now if has_time else to_local(first, zone).date() < state.today
            if passed:
                following = rule.next_after(now if has_time else localize(start, zone))
                if following is None:
                    raise _refuse("The recurrence has no occurrence left.")
                rule = parse_rule(rule_text, dtstart=to_local(following, zone), tz=tz)
    except DomainError as exc:
        if exc.field == FIELD:
            raise
        raise _refuse(exc.message) from exc
    result.recurrence_rule = rule.text.removeprefix("RRULE:")
    result.recurrence_summary = rule.summary(with_time=has_time)
    if has_time:
        result.due_at = rule.dtstart
    else:
        result.due_date = rule.dtstart_local.date()


def _resolve_reminders(state: _State, result: QuickAddResult) -> None:
    zone = get_zone(result.timezone)
    offsets = sorted(set(state.offsets))
    if (offsets or state.reminder_clocks) and result.due_at is None and result.due_date is None:
        if offsets:
            raise _refuse('"remind me … before" needs a due date or time.')
    if state.remind_prefix and not offsets and not state.reminder_clocks and result.due_at is not None:
        offsets = [0]  # "Remind me to X at 5pm": remind at the due time
    result.reminder_offsets = offsets
    for clock in state.reminder_clocks:
        if result.due_at is not None:
            day = to_local(result.due_at, zone).date()
        elif result.due_date is not None:
            day = result.due_date
        else:
            day = state.today
            if datetime.combine(day, clock) <= state.now_local:
                day += timedelta(days=1)
        result.reminder_times.append(localize(datetime.combine(day, clock), zone))
