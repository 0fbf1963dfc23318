"""Series reads: the series block of a task, previews and per-occurrence history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Max, Min, Q, QuerySet
from django.utils import timezone

from tasks_app.models import SeriesId, SeriesStatus, Task, TaskId, TaskSeries
from tasks_app.recurrence.rules import MAX_PREVIEW, RULE_FIELD, parse_rule
from tasks_app.recurrence.services import _own_series, series_rule
from tasks_app.selectors import task_get, task_to_dict, user_timezone
from todo_project.errors import DomainError
from todo_project.timefmt import iso_utc_or_none

_iso = iso_utc_or_none


def series_to_dict(
    series: TaskSeries, *, now: datetime | None = None, sole_occurrence: Task | None = None
) -> dict[str, Any]:
    """What a client shows about a series: rule, summary, next occurrence, status.

    ``sole_occurrence``: the series' only occurrence row (a series just
    started by creating it), so the next occurrence needs no look-up.
    """
    now = now or timezone.now()
    rule = series_rule(series)
    following = series_next_occurrence(series, rule=rule, now=now, sole_occurrence=sole_occurrence)
    return {
        "id": str(series.pk),
        "rule": series.rule,
        "summary": rule.summary(with_time=not series.all_day),
        "dtstart": _iso(series.dtstart),
        "timezone": series.timezone,
        "all_day": series.all_day,
        "completion_mode": series.completion_mode,
        "lookahead_days": series.lookahead_days,
        "status": series.status,
        "is_active": series.status == SeriesStatus.ACTIVE,
        "ended_at": _iso(series.ended_at),
        "next_occurrence": _iso(following),
        "title": series.title,
        "description": series.description,
        "priority": series.priority,
        "tags": list(series.tags),
        "reminder_offsets": list(series.reminder_offsets),
        "created_at": _iso(series.created_at),
        "updated_at": _iso(series.updated_at),
    }


def series_next_occurrence(
    series: TaskSeries, *, rule: Any, now: datetime, sole_occurrence: Task | None = None
) -> datetime | None:
    """The next open occurrence, or the next one to be generated.

    Not simply "the rule's next time after now": an open occurrence may be
    overdue (it is still the next one to do), and a completed or skipped one
    later than now is done (the next is after it). One query on
    task_series_open_idx / the (series, occurrence_at) constraint's index;
    none with ``sole_occurrence`` (the series' only row: what the query
    would find).
    """
    if series.status != SeriesStatus.ACTIVE:
        return None
    if sole_occurrence is not None:
        at = sole_occurrence.occurrence_at
        is_open = not sole_occurrence.is_completed and not sole_occurrence.is_skipped
        rows = {"open_at": at if is_open else None, "latest": at}
    else:
        rows = Task.objects.filter(series_id=series.pk).aggregate(
            open_at=Min("occurrence_at", filter=Q(is_completed=False, is_skipped=False)),
            latest=Max("occurrence_at"),
        )
    open_at: datetime | None = rows["open_at"]
    if open_at is not None:
        return open_at
    latest: datetime | None = rows["latest"]
    following: datetime | None = rule.next_after(max(latest, now) if latest is not None else now)
    return following


def occurrence_to_dict(task: Task) -> dict[str, Any]:
    """The task representation plus its place in the series."""
    out = task_to_dict(task)
    out["series_id"] = str(task.series_id) if task.series_id else None
    out["occurrence_at"] = _iso(task.occurrence_at)
    out["is_skipped"] = task.is_skipped
    out["occurrence_status"] = (
        "skipped" if task.is_skipped else ("completed" if task.is_completed else "open")
    )
    return out


def task_series_info(*, task: Task, first_occurrence: bool = False) -> dict[str, Any] | None:
    """The ``series`` block for a task response (None for a one-off task).

    ``first_occurrence``: the task was just created and started its series,
    so it is the series' only occurrence (see ``series_to_dict``).
    """
    series = task.series  # no query when series_id is null
    if series is None:
        return None
    return series_to_dict(series, sole_occurrence=task if first_occurrence else None)


def task_occurrence_preview(
    *, user: User, task_id: TaskId, count: int = 5, now: datetime | None = None
) -> dict[str, Any]:
    """Upcoming occurrence times of the task's series after now, without creating rows."""
    if count < 1 or count > MAX_PREVIEW:
        raise DomainError(f"count must be between 1 and {MAX_PREVIEW}.", field="count")
    now = now or timezone.now()
    task = task_get(user=user, task_id=task_id)
    series = task.series
    if series is not None:
        rule = series_rule(series)
        active = series.status == SeriesStatus.ACTIVE
        all_day = series.all_day
    elif task.is_recurring and task.recurrence_rule:
        # Not attached yet (its task.created handler has not run): preview the stored rule.
        zone = user_timezone(user)
        start = task.due_at or now
        rule = parse_rule(task.recurrence_rule, dtstart=start, tz=zone.key)
        active, all_day = True, task.due_at is None
    else:
        raise DomainError("This task is not recurring.", field="task_id", code="not_recurring")
    moments = rule.occurrences(after=now, count=count) if active else []
    return {
        "task_id": str(task.pk),
        "series_id": str(task.series_id) if task.series_id else None,
        "summary": rule.summary(with_time=not all_day),
        "timezone": rule.tz,
        "occurrences": [_iso(m) for m in moments],
    }


def recurrence_preview(
    *,
    user: User,
    rule: str,
    start: datetime | None,
    tz: str | None,
    count: int = 5,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Preview an unsaved rule (for a form); ``tz`` defaults to the user's zone."""
    if count < 1 or count > MAX_PREVIEW:
        raise DomainError(f"count must be between 1 and {MAX_PREVIEW}.", field="count")
    now = now or timezone.now()
    zone_name = tz or user_timezone(user).key
    try:
        parsed = parse_rule(rule, dtstart=start or now, tz=zone_name)
        occurrences = parsed.occurrences(count=count)
    except DomainError as exc:
        # The engine names the task field; here the rule travels as ``rule``.
        if exc.field == RULE_FIELD:
            exc.field = "rule"
        raise
    return {
        "rule": parsed.text,
        "summary": parsed.summary(),
        "dtstart": _iso(parsed.dtstart),
        "timezone": parsed.tz,
        "occurrences": [_iso(m) for m in occurrences],
    }


def series_get(*, user: User, series_id: SeriesId) -> TaskSeries:
    return _own_series(user=user, series_id=series_id)


def series_history(*, user: User, series_id: SeriesId) -> QuerySet[Task]:
    """Every occurrence row of the series, oldest first: completed, skipped and open."""
    series = _own_series(user=user, series_id=series_id)
    return Task.objects.filter(series=series).order_by("occurrence_at", "created_at")
