"""The iCalendar feed (RFC 5545) of a user's open tasks (docs/portability.md).

- every open task with a due date or time is a ``VTODO`` (``DUE``; a date-only
  task's is a ``DATE``), and a timed one is also a ``VEVENT`` (30 minutes from
  its due time) for calendar apps that ignore to-dos;
- an active series counted from its schedule ("every", not "every!") is one
  item for the whole series: ``DTSTART`` is the series' start in its zone and
  its ``RRULE`` lines follow, so a calendar expands it to exactly the times
  the API's preview lists; its other open occurrences are not repeated;
- times are local to the task's zone (the user's, or the series') with
  ``TZID`` and a ``VTIMEZONE`` for it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
from django.contrib.auth.models import User

from tasks_app.calendar.services import token_hash
from tasks_app.models import CalendarFeed, CompletionMode, Project, SeriesStatus, Task, TaskSeries
from tasks_app.selectors import user_timezone

PRODID = "-//Taskbeat//Tasks feed//EN"
EVENT_LENGTH = timedelta(minutes=30)
# RFC 5545 PRIORITY: 1 highest … 9 lowest.
_PRIORITY = {"high": 1, "medium": 5, "low": 9}


def calendar_feed_owner_id(*, token: str) -> int | None:
    """The user a feed token belongs to (None for an unknown or rotated token)."""
    if not token or len(token) > 200:
        return None
    return (
        CalendarFeed.objects.filter(token_hash=token_hash(token)).values_list("owner_id", flat=True).first()
    )


def calendar_feed_info(*, user: User) -> dict[str, Any]:
    feed = CalendarFeed.objects.filter(owner_id=user.pk).first()
    return {
        "enabled": feed is not None,
        "rotated_at": feed.rotated_at.isoformat().replace("+00:00", "Z") if feed else None,
    }


def _rrule_lines(rule: str) -> list[str]:
    lines = []
    for line in rule.splitlines():
        line = line.strip()
        if line.upper().startswith("RRULE:"):
            lines.append(line[6:])
        elif line.upper().startswith("FREQ="):
            lines.append(line)
    return lines


def _fill(component: icalendar.Component, task: Task, *, uid: str, stamp: datetime) -> None:
    component.add("uid", uid)
    component.add("dtstamp", stamp)
    component.add("summary", task.title)
    if task.description:
        component.add("description", task.description)
    component.add("priority", _PRIORITY.get(task.priority, 5))
    if task.tags:
        component.add("categories", list(task.tags))
    component.add("last-modified", task.updated_at)


def _series_item(series: TaskSeries, task: Task, *, stamp: datetime) -> list[icalendar.Component]:
    zone = ZoneInfo(series.timezone)
    start: Any = series.dtstart.astimezone(zone)
    if series.all_day:
        start = start.date()
    rules = _rrule_lines(series.rule)
    todo = icalendar.Todo()
    _fill(todo, task, uid=f"series-{series.pk}@taskbeat", stamp=stamp)
    todo.add("dtstart", start)
    todo.add("due", start)
    todo.add("status", "NEEDS-ACTION")
    items: list[icalendar.Component] = [todo]
    if not series.all_day:
        event = icalendar.Event()
        _fill(event, task, uid=f"series-{series.pk}-event@taskbeat", stamp=stamp)
        event.add("dtstart", start)
        event.add("duration", EVENT_LENGTH)
        items.append(event)
    for item in items:
        for line in rules:
            item.add("rrule", icalendar.vRecur.from_ical(line))
    return items


def _task_items(task: Task, zone: ZoneInfo, *, stamp: datetime) -> list[icalendar.Component]:
    todo = icalendar.Todo()
    _fill(todo, task, uid=f"{task.pk}@taskbeat", stamp=stamp)
    todo.add("status", "NEEDS-ACTION")
    if task.due_at is None:
        todo.add("due", task.due_date)
        return [todo]
    local = task.due_at.astimezone(zone)
    todo.add("dtstart", local)
    todo.add("due", local)
    event = icalendar.Event()
    _fill(event, task, uid=f"{task.pk}-event@taskbeat", stamp=stamp)
    event.add("dtstart", local)
    event.add("duration", EVENT_LENGTH)
    return [todo, event]


def calendar_feed_ics(*, user: User, now: datetime) -> bytes:
    """The feed document for one user."""
    zone = user_timezone(user)
    archived = list(Project.objects.filter(owner_id=user.pk, is_archived=True).values_list("pk", flat=True))
    tasks = (
        Task.objects.filter(owner_id=user.pk, is_completed=False, is_skipped=False)
        .exclude(due_at__isnull=True, due_date__isnull=True)
        .exclude(project_id__in=archived)
        .select_related("series")
        .order_by("occurrence_at", "due_at", "due_date", "id")
    )
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", "Taskbeat")
    calendar.add("x-wr-timezone", zone.key)
    seen_series: set[Any] = set()
    for task in tasks:
        series = task.series
        if (
            series is not None
            and series.status == SeriesStatus.ACTIVE
            and series.completion_mode == CompletionMode.SCHEDULED
            and _rrule_lines(series.rule)
        ):
            if series.pk in seen_series:
                continue
            seen_series.add(series.pk)
            items = _series_item(series, task, stamp=now)
        else:
            items = _task_items(task, zone, stamp=now)
        for item in items:
            calendar.add_component(item)
    calendar.add_missing_timezones()
    return calendar.to_ical()
