"""The recurrence engine: RFC 5545 rule sets evaluated in the owner's wall time.

Pure Python (python-dateutil + zoneinfo), no models. See docs/recurrence.md
for the user-facing rules; the short version:

* A rule set is one or more ``RRULE`` lines (a bare ``FREQ=…`` line counts as
  an RRULE), plus optional ``RDATE`` / ``EXDATE`` lines and at most one
  ``DTSTART`` that must agree with the given start.
* Rules are built on *naive local* datetimes in the owner's IANA zone and only
  then localised, so "every day at 09:00 Europe/Berlin" stays 09:00 across
  DST. A local time inside a spring-forward gap moves forward by the gap
  (02:30 → 03:30); an ambiguous autumn time takes the first instant (fold=0).
* DTSTART is always the first occurrence: the given start is moved forward to
  the first date that matches the rule's pattern before INTERVAL counts, so
  "every other Monday" created on a Wednesday starts on the next Monday.
* Impossible dates follow the RFC: ``BYMONTHDAY=31`` skips shorter months,
  ``FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29`` fires on leap years only.
* More frequent than hourly is refused (SECONDLY, MINUTELY, or two
  occurrences of one RRULE less than an hour apart); HOURLY is allowed.
"""

from __future__ import annotations

import copy
import logging
import re
import types
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any, Literal, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dateutil.rrule as _dateutil_rrule
from dateutil.relativedelta import relativedelta
from dateutil.rrule import (
    DAILY,
    HOURLY,
    MONTHLY,
    WEEKLY,
    YEARLY,
    rrule,
    rrulestr,
)

from todo_project.errors import DomainError

logger = logging.getLogger(__name__)

CompletionMode = Literal["scheduled", "completion"]
COMPLETION_MODES: tuple[str, ...] = ("scheduled", "completion")

MAX_INTERVAL = 1000
MAX_COUNT = 10_000
MAX_RULE_LENGTH = 1000
MAX_PREVIEW = 50
# Values in one BY* list: more than any calendar rule needs, few enough that
# dateutil's per-day membership tests stay cheap.
MAX_BY_VALUES = 64
# Occurrences of one RRULE checked for the "more frequent than hourly" rule.
_FREQUENCY_PROBE = 48
_MIN_GAP = timedelta(hours=1)

RULE_FIELD = "recurrence_rule"

_KNOWN_PARTS = {
    "FREQ",
    "INTERVAL",
    "COUNT",
    "UNTIL",
    "BYSECOND",
    "BYMINUTE",
    "BYHOUR",
    "BYDAY",
    "BYMONTHDAY",
    "BYYEARDAY",
    "BYWEEKNO",
    "BYMONTH",
    "BYSETPOS",
    "WKST",
}
_FREQS = {"YEARLY": YEARLY, "MONTHLY": MONTHLY, "WEEKLY": WEEKLY, "DAILY": DAILY, "HOURLY": HOURLY}
_WEEKDAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_MONTH_MAX_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_BYDAY_RE = re.compile(r"^([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$")
_DT_RE = re.compile(r"^(\d{8})(T(\d{6})(Z?))?$")


def _error(message: str, field_name: str = RULE_FIELD) -> DomainError:
    return DomainError(message, field=field_name)


def get_zone(tz: str) -> ZoneInfo:
    """The IANA zone called ``tz``, or a DomainError naming ``timezone``."""
    if not isinstance(tz, str) or not tz or len(tz) > 64:
        raise _error("Unknown time zone.", "timezone")
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        # ValueError/OSError: malformed keys such as "../etc" or "Europe/".
        raise _error(f'Unknown time zone "{tz}".', "timezone") from exc


def localize(naive: datetime, zone: ZoneInfo) -> datetime:
    """Local wall time → aware UTC. Gap times move forward, ambiguous take fold=0.

    With fold=0, zoneinfo reads a gap time with the offset in force *before*
    the transition, which lands exactly "the gap" later in real time.
    """
    return naive.replace(tzinfo=zone, fold=0).astimezone(UTC)


def to_local(moment: datetime, zone: ZoneInfo) -> datetime:
    """Aware instant → naive local wall time (naive input is already local)."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(zone).replace(tzinfo=None)


def ordinal(n: int) -> str:
    if 10 <= n % 100 <= 20:
        suffix = "th"
    else:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


# -- the evaluation budget -------------------------------------------------
#
# dateutil walks a rule period by period (a year for YEARLY, a month for
# MONTHLY, a day for DAILY, an hour for HOURLY) and, when a period holds no
# occurrence, simply goes on to the next one, up to year 9999. A rule whose
# BY* parts never meet (FREQ=MONTHLY;BYDAY=5MO;BYMONTHDAY=1) cost about a
# second per evaluation that way, an hourly one minutes. So every evaluation
# here runs dateutil's own iterator under a meter: each period is charged
# roughly what dateutil spends on it (a fixed cost, plus the day slots it
# examines times the BY* lists it tests them against; one tick is about
# 0.1 µs on the machine the numbers were measured on), and a run that spends
# GAP_BUDGET ticks without producing an occurrence stops. Input (an unsaved
# rule) is refused then; a stored rule's line ends there, with a warning in
# the log.

# Ticks one RRULE may spend between two occurrences (~ 8 ms). Generous enough
# for the sparsest rules people write: Feb 29 as a DAILY rule, 8 years apart
# across 2100, costs about 61,000; as a YEARLY rule 3,000.
GAP_BUDGET = 80_000
# Ticks the checks on an unsaved rule set may spend in total finding each
# RRULE's first occurrence (shared, so ten hopeless lines cost one budget);
# 4 years of a DAILY rule. Smaller than GAP_BUDGET so that refusing the
# worst rule stays well under 20 ms on a loaded machine.
VALIDATION_BUDGET = 40_000
# Ticks the "more frequent than hourly" probe may spend per RRULE before it
# stops looking (a sparse rule is not sub-hourly; the dense ones show it at
# once: 48 occurrences of a DAILY rule cost ~1,000, of a MONTHLY one ~2,500).
PROBE_BUDGET = 4_000
# Ticks one evaluation of an unsaved rule (a preview of up to 50 occurrences,
# quick add's next occurrence) may spend in total.
EVALUATION_BUDGET = 300_000

NO_OCCURRENCE = "The rule yields no occurrence within a bounded search (it never or almost never matches)."


class RecurrenceBudgetExceeded(Exception):  # noqa: N818 - a budget, not an error in the caller
    """One metered evaluation spent its budget without producing an occurrence."""


class _Allowance:
    """Ticks left for a whole evaluation (several RRULE streams share it)."""

    __slots__ = ("left",)

    def __init__(self, ticks: int) -> None:
        self.left = ticks


class _Meter:
    """The budget of one RRULE stream: a gap limit and an optional shared allowance."""

    __slots__ = ("allowance", "gap_limit", "since_last", "spent")

    def __init__(self, gap_limit: int = GAP_BUDGET, allowance: _Allowance | None = None) -> None:
        self.gap_limit = gap_limit
        self.allowance = allowance
        self.since_last = 0
        self.spent = 0

    def charge(self, ticks: int) -> None:
        self.since_last += ticks
        self.spent += ticks
        if self.allowance is not None:
            self.allowance.left -= ticks
            if self.allowance.left < 0:
                raise RecurrenceBudgetExceeded(f"evaluation allowance spent ({self.spent} ticks)")
        if self.since_last > self.gap_limit:
            raise RecurrenceBudgetExceeded(f"{self.since_last} ticks without an occurrence")


class _MeteredIterinfo(_dateutil_rrule._iterinfo):
    """dateutil's per-period helper, charging the run's meter for every period."""

    # No __slots__ of its own: dateutil's __init__ resets ``self.__slots__``.

    def __init__(self, rr: rrule) -> None:
        super().__init__(rr)
        self._meter: _Meter = rr.__dict__["_taskbeat_meter"]
        # dateutil's private fields (the stubs know the public API only).
        r: Any = rr
        tested = sum(
            len(getattr(rr, name) or ())
            for name in ("_bymonth", "_byyearday", "_bymonthday", "_bynmonthday", "_byweekday")
        )
        # Measured on dateutil 2.9 (benchmarks/recurrence/README.md): a period
        # costs ~2 µs (HOURLY ~3.5-6, a MONTHLY or WEEKLY rebuild ~3), each day slot ~0.07 µs more, times the
        # BY* lists it is tested against; BYSETPOS scans the set once per
        # position; BYWEEKNO is rebuilt per year, ~0.5 µs per week number.
        fixed = {HOURLY: 60, WEEKLY: 30, MONTHLY: 30}.get(r._freq, 20)
        # DAILY, WEEKLY and HOURLY steps walk calendar.monthrange once per
        # month crossed (~3.5 µs each): INTERVAL=1000 weeks crosses 230.
        step_days = {DAILY: 1, WEEKLY: 7}.get(r._freq, 0) * r._interval
        if r._freq == HOURLY:
            step_days = r._interval // 24
        self._per_period = fixed + 6 * len(r._byweekno or ()) + 40 * (step_days // 28)
        self._per_slot = 1 + tested // 4 + len(r._bysetpos or ()) // 4

    def _charged(self, found: tuple[Any, int, int]) -> tuple[list[Any], int, int]:
        self._meter.charge(self._per_period + (found[2] - found[1]) * self._per_slot)
        return found

    def ydayset(self, year: int, month: int, day: int) -> tuple[list[Any], int, int]:
        return self._charged(super().ydayset(year, month, day))

    def mdayset(self, year: int, month: int, day: int) -> tuple[list[Any], int, int]:
        return self._charged(super().mdayset(year, month, day))

    def wdayset(self, year: int, month: int, day: int) -> tuple[list[Any], int, int]:
        return self._charged(super().wdayset(year, month, day))

    def ddayset(self, year: int, month: int, day: int) -> tuple[list[Any], int, int]:
        return self._charged(super().ddayset(year, month, day))


# dateutil's own rrule iterator (python-dateutil is pinned), with its global
# ``_iterinfo`` resolved to the metered one: the same code, the same answers,
# a bounded cost. tasks_app/tests/test_recurrence_budget.py pins that it meters.
_metered_rrule_iter = types.FunctionType(
    cast(Any, _dateutil_rrule.rrule)._iter.__code__,
    {**vars(_dateutil_rrule), "_iterinfo": _MeteredIterinfo},
    "_metered_rrule_iter",
)


def metered(rule: rrule, start: datetime, meter: _Meter) -> Iterator[datetime]:
    """``rule``'s occurrences at or after naive ``start``, charged to ``meter``.

    Raises RecurrenceBudgetExceeded when the meter runs out.
    """
    run = copy.copy(rule)  # the meter rides on a private copy: rules are shared
    run.__dict__["_taskbeat_meter"] = meter
    for value in _metered_rrule_iter(run):
        meter.since_last = 0
        if value >= start:
            yield value


def _first(rule: rrule, start: datetime, meter: _Meter) -> datetime | None:
    return next(metered(rule, start, meter), None)


@dataclass(frozen=True)
class _RuleLine:
    """One RRULE line, parsed and validated; ``parts`` keeps the input order."""

    parts: dict[str, str]
    until_local: datetime | None

    @property
    def freq(self) -> str:
        return self.parts["FREQ"]

    @property
    def interval(self) -> int:
        return int(self.parts.get("INTERVAL", "1"))

    @property
    def count(self) -> int | None:
        return int(self.parts["COUNT"]) if "COUNT" in self.parts else None

    def text(self) -> str:
        return "RRULE:" + ";".join(f"{k}={v}" for k, v in self.parts.items())

    def build(self, dtstart: datetime, *, pattern_only: bool = False) -> rrule:
        """A dateutil rule on naive local ``dtstart``.

        ``pattern_only`` drops INTERVAL and COUNT (keeping UNTIL): "the dates
        that match the BY* parts", used to find the first matching date.
        """
        skip = {"UNTIL"} | ({"INTERVAL", "COUNT"} if pattern_only else set())
        body = ";".join(f"{k}={v}" for k, v in self.parts.items() if k not in skip)
        built = rrulestr("RRULE:" + body, dtstart=dtstart, cache=False)
        assert isinstance(built, rrule)
        if self.until_local is not None:
            built = built.replace(until=self.until_local)
        return built


def _parse_value_datetime(
    raw: str, *, zone: ZoneInfo, params: dict[str, str], default_time: time
) -> datetime:
    """An iCalendar DATE or DATE-TIME → naive local wall time in ``zone``."""
    match = _DT_RE.match(raw.strip())
    if not match:
        raise _error(f'"{raw}" is not an iCalendar date or date-time (YYYYMMDD or YYYYMMDDTHHMMSS[Z]).')
    try:
        day = datetime.strptime(match.group(1), "%Y%m%d")  # noqa: DTZ007 - naive on purpose: local wall time
        if match.group(3):
            clock = datetime.strptime(match.group(3), "%H%M%S").time()  # noqa: DTZ007
        else:
            clock = default_time
    except ValueError as exc:
        raise _error(f'"{raw}" is not a valid date.') from exc
    value = datetime.combine(day.date(), clock)
    if match.group(4):  # trailing Z: a UTC instant
        return to_local(value.replace(tzinfo=UTC), zone)
    if "TZID" in params:
        return to_local(value.replace(tzinfo=get_zone(params["TZID"]), fold=0), zone)
    return value


def _split_property(line: str) -> tuple[str, dict[str, str], str]:
    """``NAME;P=V:value`` → (NAME, {P: V}, value)."""
    head, sep, value = line.partition(":")
    if not sep:
        raise _error(f'Cannot parse "{line}": expected NAME:VALUE.')
    name, *raw_params = head.split(";")
    params: dict[str, str] = {}
    for raw in raw_params:
        key, eq, val = raw.partition("=")
        if not eq:
            raise _error(f'Cannot parse parameter "{raw}" in "{line}".')
        params[key.strip().upper()] = val.strip()
    return name.strip().upper(), params, value.strip()


# BY* parts that count from the end with negative values (-1 = last).
_SIGNED = {"BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYSETPOS"}


def _check_int(parts: dict[str, str], key: str, low: int, high: int) -> None:
    if key not in parts:
        return
    for raw in parts[key].split(","):
        try:
            number = int(raw)
        except ValueError as exc:
            raise _error(f'{key} must be a whole number, not "{raw}".') from exc
        if key in _SIGNED:
            if number == 0:
                raise _error(f"{key} cannot be 0.")
            in_range = low <= abs(number) <= high
        else:
            in_range = low <= number <= high
        if not in_range:
            raise _error(f"{key} value {number} is out of range.")


def _parse_rrule_line(value: str, *, zone: ZoneInfo, start_local: datetime) -> _RuleLine:
    parts: dict[str, str] = {}
    for chunk in value.strip().strip(";").split(";"):
        key, eq, val = chunk.partition("=")
        key = key.strip().upper()
        if not eq or not key or not val.strip():
            raise _error(f'Cannot parse RRULE part "{chunk}": expected KEY=VALUE.')
        if key not in _KNOWN_PARTS:
            raise _error(f'Unknown RRULE part "{key}".')
        if key in parts:
            raise _error(f"RRULE part {key} is given twice.")
        parts[key] = val.strip().upper()

    freq = parts.get("FREQ")
    if freq is None:
        raise _error("RRULE needs FREQ (DAILY, WEEKLY, MONTHLY, YEARLY or HOURLY).")
    if freq in {"SECONDLY", "MINUTELY"}:
        raise _error(f"FREQ={freq} is more frequent than hourly; the most frequent allowed is FREQ=HOURLY.")
    if freq not in _FREQS:
        raise _error(f'Unknown FREQ "{freq}".')
    if "UNTIL" in parts and "COUNT" in parts:
        raise _error("Give either UNTIL or COUNT, not both.")
    if "COUNT" in parts:
        try:
            count = int(parts["COUNT"])
        except ValueError as exc:
            raise _error(f'COUNT must be a whole number, not "{parts["COUNT"]}".') from exc
        if count < 1:
            raise _error("COUNT must be at least 1.")
        if count > MAX_COUNT:
            raise _error(f"COUNT must be at most {MAX_COUNT}.")
    if "INTERVAL" in parts:
        try:
            interval = int(parts["INTERVAL"])
        except ValueError as exc:
            raise _error(f'INTERVAL must be a whole number, not "{parts["INTERVAL"]}".') from exc
        if interval < 1:
            raise _error("INTERVAL must be at least 1.")
        if interval > MAX_INTERVAL:
            raise _error(f"INTERVAL must be at most {MAX_INTERVAL}.")
    _check_int(parts, "BYMONTH", 1, 12)
    _check_int(parts, "BYMONTHDAY", 1, 31)
    _check_int(parts, "BYYEARDAY", 1, 366)
    _check_int(parts, "BYWEEKNO", 1, 53)
    _check_int(parts, "BYSETPOS", 1, 366)
    _check_int(parts, "BYHOUR", 0, 23)
    _check_int(parts, "BYMINUTE", 0, 59)
    _check_int(parts, "BYSECOND", 0, 59)
    if "WKST" in parts and parts["WKST"] not in _WEEKDAY_CODES:
        raise _error(f"WKST must be one of {', '.join(_WEEKDAY_CODES)}.")
    if "BYDAY" in parts:
        for item in parts["BYDAY"].split(","):
            match = _BYDAY_RE.match(item)
            if not match:
                raise _error(f'BYDAY value "{item}" is not a weekday such as MO, 2TU or -1FR.')
            if match.group(1) and (int(match.group(1)) == 0 or abs(int(match.group(1))) > 53):
                raise _error(f'BYDAY value "{item}" has an impossible position.')

    for key, value in parts.items():
        if key.startswith("BY") and len(value.split(",")) > MAX_BY_VALUES:
            raise _error(f"{key} has more than {MAX_BY_VALUES} values.")
    for key in ("BYMINUTE", "BYSECOND"):
        # Two minutes (or seconds) of one hour are less than an hour apart.
        if key in parts and len(set(parts[key].split(","))) > 1:
            raise _error(
                f"{key} takes one value: the rule is more frequent than hourly; "
                "the most frequent allowed is once an hour."
            )

    _check_rfc_combinations(parts, freq)
    _check_possible_month_days(parts)
    _check_nth_weekday(parts, freq)
    _check_setpos(parts, freq)
    _check_yeardays(parts)

    until_local: datetime | None = None
    if "UNTIL" in parts:
        # A date-only UNTIL includes that whole local day.
        until_local = _parse_value_datetime(
            parts["UNTIL"], zone=zone, params={}, default_time=time(23, 59, 59)
        )
        if until_local < start_local:
            raise _error("UNTIL is before the start of the series.")
    return _RuleLine(parts=parts, until_local=until_local)


def _check_rfc_combinations(parts: dict[str, str], freq: str) -> None:
    """RFC 5545 §3.3.10 restrictions (plus BYYEARDAY off HOURLY, which a task list never needs).

    Besides being invalid, these combinations are how a rule ends up with no
    occurrence that dateutil only proves by scanning to year 9999.
    """
    if "BYWEEKNO" in parts and freq != "YEARLY":
        raise _error("BYWEEKNO can only be used with FREQ=YEARLY.")
    if "BYYEARDAY" in parts and freq != "YEARLY":
        raise _error("BYYEARDAY can only be used with FREQ=YEARLY.")
    if "BYMONTHDAY" in parts and freq == "WEEKLY":
        raise _error("BYMONTHDAY cannot be used with FREQ=WEEKLY.")
    numbered = any(
        (m := _BYDAY_RE.match(item)) and m.group(1) for item in parts.get("BYDAY", "").split(",") if item
    )
    if numbered and (freq not in {"MONTHLY", "YEARLY"} or (freq == "YEARLY" and "BYWEEKNO" in parts)):
        raise _error("A numbered BYDAY (2TU, -1FR) needs FREQ=MONTHLY or FREQ=YEARLY (without BYWEEKNO).")


def _check_nth_weekday(parts: dict[str, str], freq: str) -> None:
    """A month has at most five of a weekday: MONTHLY (or YEARLY;BYMONTH) 6MO never happens."""
    if "BYDAY" not in parts or not (freq == "MONTHLY" or (freq == "YEARLY" and "BYMONTH" in parts)):
        return
    for item in parts["BYDAY"].split(","):
        match = _BYDAY_RE.match(item)
        if match and match.group(1) and abs(int(match.group(1))) > 5:
            raise _error(f'BYDAY value "{item}": a month has at most five of each weekday.')


def _count(parts: dict[str, str], key: str, default: int) -> int:
    return len(parts[key].split(",")) if key in parts else default


def _check_setpos(parts: dict[str, str], freq: str) -> None:
    """Refuse a BYSETPOS beyond the largest set one period can hold.

    dateutil would otherwise scan every period to year 9999 looking for it
    (minutes for an hourly rule), so the bound is checked up front.
    """
    if "BYSETPOS" not in parts:
        return
    per_time = _count(parts, "BYMINUTE", 1) * _count(parts, "BYSECOND", 1)
    hours = 1 if freq == "HOURLY" else _count(parts, "BYHOUR", 1)
    byday = [m for item in parts.get("BYDAY", "").split(",") if item and (m := _BYDAY_RE.match(item))]
    months = _count(parts, "BYMONTH", 12 if freq == "YEARLY" else 1)
    # An upper bound on the dates in one period, from the parts that pick dates.
    if freq in {"HOURLY", "DAILY"}:
        days = 1
    elif freq == "WEEKLY":
        days = len(byday) or 1
    else:
        per_month_byday = sum(1 if m.group(1) else 5 for m in byday)
        if freq == "YEARLY" and "BYYEARDAY" in parts:
            days = _count(parts, "BYYEARDAY", 1)
        elif freq == "YEARLY" and "BYWEEKNO" in parts:
            days = 7 * _count(parts, "BYWEEKNO", 1)
        elif "BYMONTHDAY" in parts:
            days = _count(parts, "BYMONTHDAY", 1) * months
        elif byday:
            days = per_month_byday * (months if freq == "YEARLY" else 1)
        else:
            days = months if freq == "YEARLY" and "BYMONTH" in parts else 1
    largest = days * hours * per_time
    if any(abs(int(p)) > largest for p in parts["BYSETPOS"].split(",")):
        raise _error("The rule yields no occurrence: BYSETPOS is beyond the number of dates in one period.")


def _check_yeardays(parts: dict[str, str]) -> None:
    """BYYEARDAY × BYMONTH pairs that never meet (day 1 is never in March)."""
    if "BYYEARDAY" not in parts or "BYMONTH" not in parts:
        return
    months = {int(m) for m in parts["BYMONTH"].split(",")}
    for year in (2027, 2028):  # a common and a leap year
        first = datetime(year, 1, 1)  # noqa: DTZ001 - calendar arithmetic only
        length = 366 if year == 2028 else 365
        for raw in parts["BYYEARDAY"].split(","):
            day = int(raw)
            index = day - 1 if day > 0 else length + day
            if 0 <= index < length and (first + timedelta(days=index)).month in months:
                return
    raise _error("The rule yields no occurrence: no BYYEARDAY falls in BYMONTH.")


def _check_possible_month_days(parts: dict[str, str]) -> None:
    """Refuse BYMONTH × BYMONTHDAY pairs that never exist (Feb 30, Apr 31).

    dateutil would scan to year 9999 before reporting "no occurrence", so the
    impossible combinations are caught here, cheaply.
    """
    if "BYMONTHDAY" not in parts:
        return
    months = [int(m) for m in parts["BYMONTH"].split(",")] if "BYMONTH" in parts else list(range(1, 13))
    days = [int(d) for d in parts["BYMONTHDAY"].split(",")]
    for month in months:
        longest = _MONTH_MAX_DAYS[month - 1]
        if any(abs(day) <= longest for day in days):
            return
    raise _error("The rule yields no occurrence: no month in BYMONTH has that BYMONTHDAY.")


@dataclass(frozen=True)
class RecurrenceRule:
    """A validated rule set anchored at its first occurrence.

    ``dtstart_local`` is the naive local wall time of the first occurrence
    (after normalisation); every public datetime is aware UTC.
    """

    zone: ZoneInfo
    dtstart_local: datetime
    rules: tuple[_RuleLine, ...]
    rdates: tuple[datetime, ...] = ()
    exdates: tuple[datetime, ...] = ()
    _built: tuple[rrule, ...] = field(default=(), repr=False, compare=False)
    # An unsaved rule (input): running out of budget is a 400 naming the
    # rule, and one evaluation is capped at EVALUATION_BUDGET in total. A
    # stored rule (``trusted``): the stream that ran out just ends, logged.
    strict: bool = field(default=False, compare=False)

    @property
    def tz(self) -> str:
        return self.zone.key

    @property
    def dtstart(self) -> datetime:
        """The first occurrence, aware UTC."""
        return localize(self.dtstart_local, self.zone)

    @property
    def text(self) -> str:
        """The canonical rule text (no DTSTART: start and zone are stored apart)."""
        lines = [line.text() for line in self.rules]
        if self.rdates:
            lines.append("RDATE:" + ",".join(d.strftime("%Y%m%dT%H%M%S") for d in self.rdates))
        if self.exdates:
            lines.append("EXDATE:" + ",".join(d.strftime("%Y%m%dT%H%M%S") for d in self.exdates))
        return "\n".join(lines)

    @property
    def is_finite(self) -> bool:
        return all(line.count is not None or line.until_local is not None for line in self.rules)

    @property
    def primary(self) -> _RuleLine | None:
        return self.rules[0] if self.rules else None

    # -- evaluation -----------------------------------------------------

    def _iter_local_from(self, start_local: datetime) -> Iterator[datetime]:
        """Merged naive local occurrences at or after ``start_local``, ascending."""
        excluded = set(self.exdates)
        allowance = _Allowance(EVALUATION_BUDGET) if self.strict else None
        streams: list[Iterator[datetime]] = [
            metered(built, start_local, _Meter(allowance=allowance)) for built in self._built
        ]
        streams.append(iter([d for d in self.rdates if d >= start_local]))
        heads: list[datetime | None] = [self._advance(s) for s in streams]
        last: datetime | None = None
        while True:
            candidates = [(h, i) for i, h in enumerate(heads) if h is not None]
            if not candidates:
                return
            value, index = min(candidates)
            if value != last and value not in excluded:
                last = value
                yield value
            # Only now: the next occurrence of this stream may be far away
            # (or out of budget), and the caller may not want it.
            heads[index] = self._advance(streams[index])

    def _advance(self, stream: Iterator[datetime]) -> datetime | None:
        """The stream's next occurrence; None when it ended or ran out of budget."""
        try:
            return next(stream, None)
        except RecurrenceBudgetExceeded as exc:
            if self.strict:
                raise _error(NO_OCCURRENCE) from exc
            logger.warning("recurrence rule %r: evaluation stopped, %s", self.text, exc)
            return None

    def iter_after(self, after: datetime | None = None, *, inclusive: bool = False) -> Iterator[datetime]:
        """Aware UTC occurrences strictly after ``after`` (or at it, if inclusive)."""
        if after is None:
            after, inclusive = self.dtstart, True
        if after.tzinfo is None:
            raise ValueError("after must be an aware datetime")
        # Start the local scan a few hours early: around DST the local clock
        # and UTC disagree on what "after" means, so filter on the UTC value.
        scan_from = max(to_local(after, self.zone) - timedelta(hours=3), self.dtstart_local)
        previous: datetime | None = None
        for local in self._iter_local_from(scan_from):
            moment = localize(local, self.zone)
            # Two gap times (02:00 and 03:00 on spring-forward day) can land on
            # the same instant; report it once.
            if moment == previous:
                continue
            previous = moment
            if moment > after or (inclusive and moment == after):
                yield moment

    def occurrences(
        self, *, after: datetime | None = None, count: int = 5, inclusive: bool = False
    ) -> list[datetime]:
        """Up to ``count`` occurrences after ``after`` (default: from the first)."""
        result: list[datetime] = []
        if count <= 0:
            return result
        for moment in self.iter_after(after, inclusive=inclusive):
            result.append(moment)
            if len(result) >= count:
                break
        return result

    def next_after(self, moment: datetime) -> datetime | None:
        """The first occurrence strictly after ``moment``, or None when the series ended."""
        return next(self.iter_after(moment), None)

    def next_on_completion(
        self,
        *,
        scheduled_at: datetime | None,
        completed_at: datetime,
        now: datetime,
        mode: CompletionMode = "scheduled",
        generated_count: int | None = None,
    ) -> datetime | None:
        """The occurrence that follows completing (or skipping) one.

        * ``scheduled`` (Todoist "every"): the first occurrence strictly after
          max(scheduled_at, now). Late completion never produces catch-up
          occurrences; the skipped ones count against COUNT.
        * ``completion`` (Todoist "every!"): the completion instant's local
          *date* at the rule's time of day (for HOURLY: the completion hour at
          the rule's minute), plus one INTERVAL of FREQ, then moved forward to
          the first date matching the rule's BY* pattern. UNTIL still ends the
          series; COUNT is honoured through ``generated_count`` (occurrences
          the series already has), since the dates drift off the rule's grid.
        """
        if mode not in COMPLETION_MODES:
            raise _error(f'Unknown completion mode "{mode}".', "completion_mode")
        if mode == "scheduled" or not self.rules:
            anchor = max(scheduled_at, now) if scheduled_at is not None else now
            return self.next_after(anchor)

        line = self.rules[0]
        if line.count is not None and generated_count is not None and generated_count >= line.count:
            return None
        local_done = to_local(completed_at, self.zone)
        clock = self.dtstart_local.time()
        if line.freq == "HOURLY":
            base = local_done.replace(minute=clock.minute, second=clock.second, microsecond=0)
        else:
            base = datetime.combine(local_done.date(), clock)
        step = {
            "HOURLY": relativedelta(hours=line.interval),
            "DAILY": relativedelta(days=line.interval),
            "WEEKLY": relativedelta(weeks=line.interval),
            "MONTHLY": relativedelta(months=line.interval),
            "YEARLY": relativedelta(years=line.interval),
        }[line.freq]
        target = base + step
        pattern = line.build(target, pattern_only=True)
        found = self._advance(metered(pattern, target, _Meter()))
        if found is None:
            return None
        return localize(found, self.zone)

    def summary(self, *, with_time: bool = True) -> str:
        return summarize(self, with_time=with_time)


def parse_rule(
    text: str,
    *,
    dtstart: datetime | None,
    tz: str,
    trusted: bool = False,
) -> RecurrenceRule:
    """Parse and validate a rule set; raise DomainError naming the bad field.

    ``dtstart`` is aware (any zone) or naive local wall time in ``tz``; it may
    be None only when the text carries its own DTSTART. ``trusted``: the rule
    is a stored series' rule, validated when it was saved, so the checks that
    only refuse (frequency probe, "yields no occurrence") are skipped; they
    were a third of the time of generating an occurrence.
    """
    zone = get_zone(tz)
    if not isinstance(text, str) or not text.strip():
        raise _error("The recurrence rule is empty.")
    if len(text) > MAX_RULE_LENGTH:
        raise _error(f"The recurrence rule is longer than {MAX_RULE_LENGTH} characters.")

    raw_lines = [ln.strip() for ln in re.split(r"[\r\n]+", text) if ln.strip()]
    start_local = to_local(dtstart, zone).replace(microsecond=0) if dtstart is not None else None

    # DTSTART first: every other line is interpreted relative to it.
    text_start: datetime | None = None
    for line in raw_lines:
        if line.upper().startswith("DTSTART"):
            name, params, value = _split_property(line)
            if text_start is not None:
                raise _error("DTSTART is given twice.")
            text_start = _parse_value_datetime(value, zone=zone, params=params, default_time=time(0, 0))
    if text_start is not None:
        if start_local is not None and localize(text_start, zone) != localize(start_local, zone):
            raise _error("DTSTART in the rule conflicts with the task's start/due time.")
        start_local = text_start
    if start_local is None:
        raise _error("A start (the first occurrence's date and time) is required.", "start")

    rule_lines: list[_RuleLine] = []
    rdates: list[datetime] = []
    exdates: list[datetime] = []
    for line in raw_lines:
        upper = line.upper()
        if upper.startswith("DTSTART"):
            continue
        if upper.startswith("FREQ=") or (":" not in line and "=" in line.split(";")[0]):
            # A bare "FREQ=…;…" line (or a bare line missing FREQ) is an RRULE.
            rule_lines.append(_parse_rrule_line(line, zone=zone, start_local=start_local))
            continue
        name, params, value = _split_property(line)
        if name == "RRULE":
            rule_lines.append(_parse_rrule_line(value, zone=zone, start_local=start_local))
        elif name in {"RDATE", "EXDATE"}:
            if params.get("VALUE", "DATE-TIME").upper() not in {"DATE", "DATE-TIME"}:
                raise _error(f"{name} supports VALUE=DATE or DATE-TIME only.")
            values = [
                _parse_value_datetime(v, zone=zone, params=params, default_time=start_local.time())
                for v in value.split(",")
                if v.strip()
            ]
            (rdates if name == "RDATE" else exdates).extend(values)
        elif name == "EXRULE":
            raise _error("EXRULE is deprecated by RFC 5545 and not supported; use EXDATE.")
        else:
            raise _error(f'Unknown line "{name}": expected RRULE, RDATE, EXDATE or DTSTART.')
    if not rule_lines and not rdates:
        raise _error("The recurrence rule needs at least one RRULE or RDATE.")
    if len(rule_lines) > 10 or len(rdates) + len(exdates) > 500:
        raise _error("The recurrence rule has too many lines or dates.")

    built: list[rrule] = []
    firsts: list[datetime] = []
    # One allowance for the whole set, so ten hopeless lines cost no more to
    # refuse than one. A stored rule was checked when it was saved: its
    # lines only get the per-gap limit, and one that runs out is left empty.
    allowance = None if trusted else _Allowance(VALIDATION_BUDGET)
    found: list[tuple[_RuleLine, datetime]] = []
    for line in rule_lines:
        try:
            probe = line.build(start_local, pattern_only=True)
            first = _first(probe, start_local, _Meter(allowance=allowance))
        except RecurrenceBudgetExceeded as exc:
            if not trusted:
                raise _error(NO_OCCURRENCE) from exc
            logger.warning("stored recurrence rule %r: no first occurrence within budget", line.text())
            continue
        except (ValueError, TypeError, OverflowError, IndexError) as exc:
            raise _error(f"Cannot evaluate the RRULE: {exc}.") from exc
        if first is not None:  # else only this RRULE is empty; the set may have others
            found.append((line, first))
    # The frequency probes only after every line has a first occurrence, so
    # a hopeless line is refused before the valid ones pay for their probes.
    for line, first in found:
        # RFC 5545: DTSTART is the first occurrence, so INTERVAL counts from
        # the first matching date, not from the day the series was created.
        rule = line.build(first)
        if not trusted:
            _check_frequency(rule, first)
        built.append(rule)
        firsts.append(first)

    future_rdates = sorted({d for d in rdates if d >= start_local})
    if future_rdates:
        firsts.append(future_rdates[0])
    candidates = sorted(f for f in firsts if f not in set(exdates))
    result = RecurrenceRule(
        zone=zone,
        dtstart_local=candidates[0] if candidates else start_local,
        rules=tuple(rule_lines),
        rdates=tuple(future_rdates),
        exdates=tuple(sorted(set(exdates))),
        _built=tuple(built),
        strict=not trusted,
    )
    if not trusted and not result.occurrences(count=1, inclusive=True):
        raise _error("The rule yields no occurrence.")
    return result


def _check_frequency(rule: rrule, start: datetime) -> None:
    """Refuse rules with two occurrences less than an hour apart.

    Looks at the first _FREQUENCY_PROBE occurrences, or as many as
    PROBE_BUDGET finds: a rule dense enough to matter shows it at once.
    """
    previous: datetime | None = None
    try:
        for index, occurrence in enumerate(metered(rule, start, _Meter(allowance=_Allowance(PROBE_BUDGET)))):
            if previous is not None and occurrence - previous < _MIN_GAP:
                raise _error(
                    "The rule is more frequent than hourly; the most frequent allowed is once an hour."
                )
            previous = occurrence
            if index >= _FREQUENCY_PROBE:
                return
    except RecurrenceBudgetExceeded:
        return


def preview(
    text: str,
    *,
    dtstart: datetime | None,
    tz: str,
    count: int = 5,
    after: datetime | None = None,
) -> list[datetime]:
    """The next ``count`` (≤ 50) occurrences of an unsaved rule, aware UTC."""
    if count < 1 or count > MAX_PREVIEW:
        raise _error(f"count must be between 1 and {MAX_PREVIEW}.", "count")
    rule = parse_rule(text, dtstart=dtstart, tz=tz)
    return rule.occurrences(after=after, count=count, inclusive=after is None)


# -- summaries -------------------------------------------------------------


def _join(items: Iterable[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _byday(parts: dict[str, str]) -> list[tuple[int | None, int]]:
    out: list[tuple[int | None, int]] = []
    for item in parts.get("BYDAY", "").split(","):
        match = _BYDAY_RE.match(item)
        if match:
            out.append(
                (int(match.group(1)) if match.group(1) else None, _WEEKDAY_CODES.index(match.group(2)))
            )
    return out


def _nth(n: int) -> str:
    if n == -1:
        return "last"
    if n < -1:
        return f"{ordinal(-n)} to last"
    return ordinal(n)


def _day_list(days: list[tuple[int | None, int]]) -> str:
    plain = sorted(d for _, d in days)
    if plain == [0, 1, 2, 3, 4]:
        return "weekday"
    if plain == [5, 6]:
        return "weekend day"
    return _join(_WEEKDAY_NAMES[d] for d in plain)


def _month_days(parts: dict[str, str]) -> str:
    days = [int(d) for d in parts["BYMONTHDAY"].split(",")]
    return _join("last day" if d == -1 else (f"{_nth(d)} day" if d < 0 else ordinal(d)) for d in days)


def _clock(parts: dict[str, str], start: datetime) -> str:
    hours = [int(h) for h in parts["BYHOUR"].split(",")] if "BYHOUR" in parts else [start.hour]
    minutes = [int(m) for m in parts["BYMINUTE"].split(",")] if "BYMINUTE" in parts else [start.minute]
    return _join(f"{h:02d}:{m:02d}" for h in sorted(hours) for m in sorted(minutes))


def _summarize_line(line: _RuleLine, start: datetime, *, with_time: bool = True) -> str:
    parts = line.parts
    n = line.interval
    days = _byday(parts)
    freq = line.freq
    at = f" at {_clock(parts, start)}" if with_time else ""

    if freq == "HOURLY":
        text = "every hour" if n == 1 else f"every {n} hours"
        if "BYHOUR" in parts:
            text += " between " + _join(
                f"{int(h):02d}:00" for h in sorted(parts["BYHOUR"].split(","), key=int)
            )
            at = ""
        elif with_time:
            at = f" from {start.strftime('%H:%M')}"
    elif freq == "DAILY":
        if days and all(p is None for p, _ in days) and n == 1:
            label = _day_list(days)
            text = f"every {label}" if label in {"weekday", "weekend day"} else f"every {label}"
        else:
            text = "every day" if n == 1 else ("every other day" if n == 2 else f"every {n} days")
    elif freq == "WEEKLY":
        label = _day_list(days) if days else _WEEKDAY_NAMES[start.weekday()]
        if n == 1:
            text = f"every {label}"
        elif n == 2 and len(days) <= 1:
            text = f"every other {label}"
        else:
            text = f"every {n} weeks on {label}"
    elif freq == "MONTHLY":
        every = "every month" if n == 1 else ("every other month" if n == 2 else f"every {n} months")
        if n == 3 and not days and "BYMONTHDAY" not in parts:
            every = "every quarter"
        if "BYSETPOS" in parts and days:
            pos = [int(p) for p in parts["BYSETPOS"].split(",")]
            text = f"{every} on the {_join(_nth(p) for p in pos)} {_day_list(days)}"
        elif days and any(p is not None for p, _ in days):
            text = f"{every} on the " + _join(
                f"{_nth(p)} {_WEEKDAY_NAMES[d]}" if p is not None else f"every {_WEEKDAY_NAMES[d]}"
                for p, d in days
            )
        elif days:
            text = f"{every} on every {_day_list(days)}"
        elif "BYMONTHDAY" in parts:
            text = f"{every} on the {_month_days(parts)}"
        else:
            text = f"{every} on the {ordinal(start.day)}"
    else:  # YEARLY
        every = "every year" if n == 1 else f"every {n} years"
        months = [int(m) for m in parts["BYMONTH"].split(",")] if "BYMONTH" in parts else [start.month]
        month_names = _join(_MONTH_NAMES[m - 1] for m in months)
        if "BYMONTHDAY" in parts:
            text = f"{every} on {month_names} " + _month_days(parts).replace("last day", "last day")
            if all(int(d) > 0 for d in parts["BYMONTHDAY"].split(",")):
                text = f"{every} on " + _join(
                    f"{_MONTH_NAMES[m - 1]} {int(d)}" for m in months for d in parts["BYMONTHDAY"].split(",")
                )
        elif days and any(p is not None for p, _ in days):
            text = f"{every} on the " + _join(f"{_nth(p or 1)} {_WEEKDAY_NAMES[d]}" for p, d in days)
            text += f" of {month_names}"
        elif "BYMONTH" not in parts and not days:
            text = f"{every} on {_MONTH_NAMES[start.month - 1]} {start.day}"
        else:
            text = f"{every} in {month_names}"
    text += at
    if line.count is not None:
        text += ", once" if line.count == 1 else f", {line.count} times"
    elif line.until_local is not None:
        text += f", until {line.until_local.strftime('%-d %b %Y')}"
    return text


def summarize(rule: RecurrenceRule, *, with_time: bool = True) -> str:
    """Human-readable English for the common shapes, e.g. "every weekday at 09:00".

    ``with_time=False`` leaves the time of day out, for all-day series.
    """
    pieces = [_summarize_line(line, rule.dtstart_local, with_time=with_time) for line in rule.rules]
    text = "; ".join(pieces)
    if rule.rdates:
        extra = f"{len(rule.rdates)} extra date" + ("s" if len(rule.rdates) != 1 else "")
        if not pieces:
            dates = _join(d.strftime("%-d %b %Y %H:%M") for d in rule.rdates[:4])
            text = f"on {dates}" if len(rule.rdates) <= 4 else f"on {len(rule.rdates)} dates"
        else:
            text += f", plus {extra}"
    if rule.exdates:
        text += f", except {len(rule.exdates)} date" + ("s" if len(rule.exdates) != 1 else "")
    return text


__all__ = [
    "COMPLETION_MODES",
    "MAX_PREVIEW",
    "CompletionMode",
    "RecurrenceRule",
    "get_zone",
    "localize",
    "parse_rule",
    "preview",
    "summarize",
    "to_local",
]
