"""Input fields shared by the apps: strict strings, and dates and datetimes in years 1000 to 9000.

``CharField`` takes a JSON string only (DRF's would turn 42 or true into
"42"/"True", accepting what the schema calls a string as something else).

Python's datetime ends at years 1 and 9999, so a value near either end
overflows as soon as it is shifted to UTC (``0001-01-01T00:00:00+14:00``) or
to the user's zone, or has a reminder offset (up to a year) subtracted: those
were 500s. No task needs a date outside this range, and the margin of
centuries keeps every later shift and offset inside the calendar.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from rest_framework import serializers

EARLIEST = date(1000, 1, 1)
LATEST = date(9000, 12, 31)
OUT_OF_RANGE = f"must be between {EARLIEST.isoformat()} and {LATEST.isoformat()}."


def in_range(value: date | datetime) -> bool:
    """True when ``value`` (a date, or a naive or aware datetime) is in the accepted years."""
    day = value.date() if isinstance(value, datetime) else value
    return EARLIEST <= day <= LATEST


class CharField(serializers.CharField):
    """A JSON string only."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class DateTimeField(serializers.DateTimeField):
    """DRF's DateTimeField, refusing values outside the accepted years (400, not 500)."""

    default_error_messages = {"out_of_range": f"Datetime {OUT_OF_RANGE}"}

    def enforce_timezone(self, value: datetime) -> datetime:
        if not in_range(value):
            self.fail("out_of_range")
        return super().enforce_timezone(value)

    def to_internal_value(self, value: Any) -> datetime:
        parsed = super().to_internal_value(value)
        if not in_range(parsed):
            self.fail("out_of_range")
        return parsed


class DateField(serializers.DateField):
    """DRF's DateField, refusing values outside the accepted years."""

    default_error_messages = {"out_of_range": f"Date {OUT_OF_RANGE}"}

    def to_internal_value(self, value: Any) -> date:
        parsed = super().to_internal_value(value)
        if not in_range(parsed):
            self.fail("out_of_range")
        return parsed
