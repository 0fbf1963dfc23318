"""The everyday views (docs/projects.md): Today, Upcoming, Overdue, Inbox and the sidebar counts.

All of them show open tasks only (not completed, not skipped) outside
archived projects, with "today" meaning the user's local calendar day.

- **Overdue**: due before today — a timed task whose ``due_at`` is before
  00:00 today local time, a date-only task whose ``due_date`` is before today.
  A timed task due earlier today is not overdue but today's (Todoist's rule).
- **Today**: due today. Ordered as Todoist orders it: timed tasks by time,
  then date-only ones; ties by priority (high first), then manual order.
- **Upcoming**: today through ``days - 1`` days ahead, grouped by local day.

Queries go through ``task_open_due_idx`` (open tasks of one owner in due
order, ``DUE_SORT_EXPR``): each view is a range of that index. A date-only task
sorts there at 00:00 UTC of its date, so the range is widened to cover both
the local bounds and the UTC-midnight ones and the exact condition is checked
on top (see ``_due_window``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User
from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone

from tasks_app.models import DUE_SORT_EXPR, PRIORITY_RANK_EXPR, Project, Task
from tasks_app.selectors import TASK_FIELDS, user_timezone

MAX_UPCOMING_DAYS = 30
# A screenful; a client wanting every overdue task asks for more (rendering rows,
# not the SQL, is most of a view's cost: benchmarks/task_list/README.md).
DEFAULT_VIEW_LIMIT = 50
MAX_VIEW_LIMIT = 1000
_UTC = ZoneInfo("UTC")


@dataclass(frozen=True)
class LocalDay:
    """A user's calendar day and its bounds as instants."""

    day: date
    start: datetime  # 00:00 local, aware
    end: datetime  # 00:00 local the next day


def local_today(user: User, *, now: datetime | None = None) -> tuple[ZoneInfo, date]:
    tz = user_timezone(user)
    return tz, (now or timezone.now()).astimezone(tz).date()


def _local_start(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=tz)


def _open_tasks(user_id: int) -> QuerySet:
    """Open tasks of the user outside archived projects, as the partial index spells it."""
    archived = list(Project.objects.filter(owner_id=user_id, is_archived=True).values_list("pk", flat=True))
    qs = Task.objects.filter(owner_id=user_id, is_completed=False, is_skipped=False)
    if archived:
        qs = qs.exclude(project_id__in=archived)
    return qs


def _due_window(first: date, last: date, tz: ZoneInfo) -> Q:
    """Due on a local day from ``first`` through ``last`` (inclusive).

    The DUE_SORT_EXPR range makes it an index range scan; the two exact
    conditions decide.
    """
    start, end = _local_start(first, tz), _local_start(last + timedelta(days=1), tz)
    utc_start, utc_end = _local_start(first, _UTC), _local_start(last + timedelta(days=1), _UTC)
    return (
        Q(due_sort__gte=min(start, utc_start))
        & Q(due_sort__lt=max(end, utc_end))
        & (
            Q(due_at__gte=start, due_at__lt=end)
            | Q(due_at__isnull=True, due_date__gte=first, due_date__lte=last)
        )
    )


def _overdue_filter(today: date, tz: ZoneInfo) -> Q:
    start, utc_start = _local_start(today, tz), _local_start(today, _UTC)
    return Q(due_sort__lt=max(start, utc_start)) & (
        Q(due_at__lt=start) | Q(due_at__isnull=True, due_date__lt=today)
    )


def _with_due_sort(qs: QuerySet) -> QuerySet:
    return qs.annotate(due_sort=DUE_SORT_EXPR)


def _index_order(qs: QuerySet) -> QuerySet:
    # Exactly task_open_due_idx's order, so a LIMIT stops early.
    return qs.order_by(
        DUE_SORT_EXPR.asc(nulls_last=True),
        PRIORITY_RANK_EXPR.desc(nulls_last=True),
        "created_at",
        "id",
    )


def _todoist_day_key(row: dict[str, Any]) -> tuple[Any, ...]:
    # Timed tasks by time, then date-only ones; ties: priority, manual order.
    rank = {"high": 0, "medium": 1, "low": 2}[row["priority"]]
    timed = row["due_at"] is not None
    return (0 if timed else 1, row["due_at"] or datetime.min.replace(tzinfo=_UTC), rank, row["position"])


def overdue_tasks(*, user: User, limit: int, now: datetime | None = None) -> list[dict[str, Any]]:
    """Overdue tasks, oldest due first, then priority."""
    tz, today = local_today(user, now=now)
    qs = _with_due_sort(_open_tasks(user.pk)).filter(_overdue_filter(today, tz))
    return list(_index_order(qs).values(*TASK_FIELDS)[:limit])


def due_on_days(*, user: User, first: date, last: date, limit: int) -> list[dict[str, Any]]:
    tz = user_timezone(user)
    qs = _with_due_sort(_open_tasks(user.pk)).filter(_due_window(first, last, tz))
    rows = list(_index_order(qs).values(*TASK_FIELDS)[:limit])
    return rows


def local_day_of(row: dict[str, Any], tz: ZoneInfo) -> date:
    if row["due_at"] is not None:
        return row["due_at"].astimezone(tz).date()
    return row["due_date"]


def today_view(*, user: User, limit: int, now: datetime | None = None) -> dict[str, Any]:
    tz, today = local_today(user, now=now)
    overdue = overdue_tasks(user=user, limit=limit, now=now)
    due_today = sorted(due_on_days(user=user, first=today, last=today, limit=limit), key=_todoist_day_key)
    return {"date": today, "timezone": tz.key, "overdue": overdue, "today": due_today}


def upcoming_view(*, user: User, days: int, limit: int, now: datetime | None = None) -> dict[str, Any]:
    tz, today = local_today(user, now=now)
    last = today + timedelta(days=days - 1)
    rows = due_on_days(user=user, first=today, last=last, limit=limit)
    by_day: dict[date, list[dict[str, Any]]] = {today + timedelta(days=n): [] for n in range(days)}
    for row in rows:
        by_day.setdefault(local_day_of(row, tz), []).append(row)
    return {
        "start": today,
        "end": last,
        "timezone": tz.key,
        "days": [
            {"date": day, "tasks": sorted(tasks, key=_todoist_day_key)} for day, tasks in by_day.items()
        ],
        "truncated": len(rows) >= limit,
    }


def inbox_tasks(*, user: User, inbox_id: uuid.UUID, limit: int) -> list[dict[str, Any]]:
    """Open Inbox tasks in manual order (rows written around the services, with no project, too)."""
    # Two index-ordered scans of task_open_project_idx merged here: an OR of
    # the two conditions would make PostgreSQL sort the whole Inbox instead.
    qs = Task.objects.filter(owner_id=user.pk, is_completed=False, is_skipped=False)
    order = ("position", "created_at", "id")
    rows = list(qs.filter(project_id=inbox_id).order_by(*order).values(*TASK_FIELDS)[:limit])
    rows += list(qs.filter(project_id__isnull=True).order_by(*order).values(*TASK_FIELDS)[:limit])
    rows.sort(key=lambda row: (row["position"], row["created_at"], row["id"]))
    return rows[:limit]


_COUNTS_SQL = """
    SELECT
        (SELECT count(*) FROM tasks_app_task
          WHERE owner_id = %(owner)s AND NOT is_completed AND NOT is_skipped
            AND {due_sort} < %(overdue_bound)s
            AND (due_at < %(today_start)s OR (due_at IS NULL AND due_date < %(today)s))
            AND NOT COALESCE(project_id = ANY(%(archived)s::uuid[]), false)) AS overdue,
        (SELECT count(*) FROM tasks_app_task
          WHERE owner_id = %(owner)s AND NOT is_completed AND NOT is_skipped
            AND {due_sort} >= %(today_lo)s AND {due_sort} < %(today_hi)s
            AND ((due_at >= %(today_start)s AND due_at < %(tomorrow_start)s)
                 OR (due_at IS NULL AND due_date = %(today)s))
            AND NOT COALESCE(project_id = ANY(%(archived)s::uuid[]), false)) AS today,
        (SELECT count(*) FROM tasks_app_task
          WHERE owner_id = %(owner)s AND NOT is_completed AND NOT is_skipped
            AND {due_sort} >= %(today_lo)s AND {due_sort} < %(week_hi)s
            AND ((due_at >= %(today_start)s AND due_at < %(week_start)s)
                 OR (due_at IS NULL AND due_date >= %(today)s AND due_date < %(week)s))
            AND NOT COALESCE(project_id = ANY(%(archived)s::uuid[]), false)) AS upcoming
"""
_DUE_SORT_SQL = "COALESCE(due_at, (due_date::timestamp AT TIME ZONE 'UTC'))"

# One index-only scan of task_open_project_idx; the Inbox's count is its row
# plus the rows with no project (written around the services).
_PROJECT_COUNTS_SQL = """
    SELECT project_id, count(*) FROM tasks_app_task
    WHERE owner_id = %s AND NOT is_completed AND NOT is_skipped
    GROUP BY project_id
"""


def sidebar_counts(*, user: User, inbox_id: uuid.UUID, now: datetime | None = None) -> dict[str, Any]:
    """Open-task counts for a sidebar: Inbox, Today (due today, overdue not included),
    Overdue, Upcoming (the next 7 days, today included), and per project."""
    tz, today = local_today(user, now=now)
    archived = list(Project.objects.filter(owner_id=user.pk, is_archived=True).values_list("pk", flat=True))
    tomorrow, week = today + timedelta(days=1), today + timedelta(days=7)
    args: dict[str, Any] = {
        "owner": user.pk,
        "archived": archived,
        "today": today,
        "week": week,
        "today_start": _local_start(today, tz),
        "tomorrow_start": _local_start(tomorrow, tz),
        "week_start": _local_start(week, tz),
        "overdue_bound": max(_local_start(today, tz), _local_start(today, _UTC)),
        "today_lo": min(_local_start(today, tz), _local_start(today, _UTC)),
        "today_hi": max(_local_start(tomorrow, tz), _local_start(tomorrow, _UTC)),
        "week_hi": max(_local_start(week, tz), _local_start(week, _UTC)),
    }
    with connection.cursor() as cursor:
        cursor.execute(_COUNTS_SQL.format(due_sort=_DUE_SORT_SQL), args)
        overdue, due_today, upcoming = cursor.fetchone()
        cursor.execute(_PROJECT_COUNTS_SQL, [user.pk])
        by_project = dict(cursor.fetchall())
    hidden = set(archived)
    inbox = by_project.get(inbox_id, 0) + by_project.pop(None, 0)
    per_project = {str(pk): n for pk, n in by_project.items() if pk not in hidden}
    per_project[str(inbox_id)] = inbox
    return {
        "date": today,
        "timezone": tz.key,
        "inbox": inbox,
        "today": due_today,
        "overdue": overdue,
        "upcoming": upcoming,
        "projects": per_project,
    }
