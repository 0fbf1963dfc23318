"""Times as the API and the events write them, and zone names as profiles hold them.

One home for what several apps did each in their own words: an instant as
RFC 3339 text in UTC with a ``Z`` (``2026-03-01T09:00:00Z``), and a profile's
zone name read leniently (unknown or blank → UTC).
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime

_UTC_ZONE = zoneinfo.ZoneInfo("UTC")


def iso_utc(moment: datetime) -> str:
    """``moment`` in UTC as RFC 3339 with a ``Z`` suffix."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def iso_utc_or_none(moment: datetime | None) -> str | None:
    return iso_utc(moment) if moment is not None else None


def zone_or_utc(name: str | None) -> zoneinfo.ZoneInfo:
    """The IANA zone ``name``; UTC when it is blank or unknown (a profile written before validation)."""
    try:
        return zoneinfo.ZoneInfo(name) if name else _UTC_ZONE
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return _UTC_ZONE
