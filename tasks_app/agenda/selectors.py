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
from django.utils import timezone

from tasks_app.models import Project, Task
from tasks_app.selectors import TASK_COLUMNS_SQL, task_rows, user_timezone
from todo_project.accounts.models import Profile
from todo_project.timefmt import zone_or_utc

MAX_UPCOMING_DAYS = 30
# A screenful; a client wanting every overdue task asks for more (rendering rows,
# not the SQL, is most of a view's cost: benchmarks/task_list/README.md).
DEFAULT_VIEW_LIMIT = 50
MAX_VIEW_LIMIT = 1000
_UTC = ZoneInfo("UTC")


@dataclass(frozen=True)
class ViewContext:
    """What every view needs to know about the caller, read in one query."""

    tz: ZoneInfo
    inbox_id: uuid.UUID | None
    archived: tuple[uuid.UUID, ...]


# The caller's time zone, Inbox and archived projects in one round trip (each
# used to be a query of its own, some of them twice per request).
_CONTEXT_SQL = f"""
    SELECT (SELECT timezone FROM {Profile._meta.db_table} WHERE user_id = %(owner)s),
           (SELECT id FROM {Project._meta.db_table} WHERE owner_id = %(owner)s AND is_inbox),
           ARRAY(SELECT id FROM {Project._meta.db_table} WHERE owner_id = %(owner)s AND is_archived)
"""  # noqa: S608


def view_context(*, user_id: int) -> ViewContext:
    with connection.cursor() as cursor:
        cursor.execute(_CONTEXT_SQL, {"owner": user_id})
        zone, inbox_id, archived = cursor.fetchone()
    return ViewContext(tz=zone_or_utc(zone), inbox_id=inbox_id, archived=tuple(archived))


def local_today(user: User, *, now: datetime | None = None) -> tuple[ZoneInfo, date]:
    tz = user_timezone(user)
    return tz, (now or timezone.now()).astimezone(tz).date()


def _local_start(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=tz)


# The statements below spell task_open_due_idx's expressions and order exactly
# (DUE_SORT_EXPR, PRIORITY_RANK_EXPR), so each list is a range of that index
# and a LIMIT stops the scan early.
_TASK = Task._meta.db_table
_DUE_SORT_SQL = "COALESCE(due_at, (due_date::timestamp AT TIME ZONE 'UTC'))"
_RANK_SQL = "CASE WHEN priority = 'high' THEN 3 WHEN priority = 'medium' THEN 2 ELSE 1 END"
_INDEX_ORDER = f"{_DUE_SORT_SQL} ASC NULLS LAST, {_RANK_SQL} DESC NULLS LAST, created_at ASC, id ASC"
_OPEN = "owner_id = %(owner)s AND NOT is_completed AND NOT is_skipped"
# Tasks outside archived projects (project_id NULL: rows written around the services, the Inbox).
_NOT_ARCHIVED = " AND NOT COALESCE(project_id = ANY(%(archived)s::uuid[]), false)"
_OVERDUE = (
    f"{_DUE_SORT_SQL} < %(overdue_bound)s"
    " AND (due_at < %(today_start)s OR (due_at IS NULL AND due_date < %(today)s))"
)


def _window_sql(p: str) -> str:
    """Due on a local day from ``first`` through ``last``, with the arguments named ``p_…``."""
    return (
        f"{_DUE_SORT_SQL} >= %({p}_lo)s AND {_DUE_SORT_SQL} < %({p}_hi)s"
        f" AND ((due_at >= %({p}_start)s AND due_at < %({p}_end)s)"
        f" OR (due_at IS NULL AND due_date >= %({p}_first)s AND due_date <= %({p}_last)s))"
    )


def _open_where(context: ViewContext) -> str:
    return _OPEN + (_NOT_ARCHIVED if context.archived else "")


def _overdue_args(today: date, tz: ZoneInfo) -> dict[str, Any]:
    """Due before ``today``: the DUE_SORT_EXPR bound makes it an index range, the exact
    conditions decide (a date-only task sorts at 00:00 UTC of its date)."""
    start, utc_start = _local_start(today, tz), _local_start(today, _UTC)
    return {"overdue_bound": max(start, utc_start), "today_start": start, "today": today}


def _window_args(p: str, first: date, last: date, tz: ZoneInfo) -> dict[str, Any]:
    """The arguments of ``_window_sql(p)``: the index range is widened to cover both
    the local bounds and the UTC-midnight ones, the exact conditions decide."""
    start, end = _local_start(first, tz), _local_start(last + timedelta(days=1), tz)
    utc_start, utc_end = _local_start(first, _UTC), _local_start(last + timedelta(days=1), _UTC)
    return {
        f"{p}_lo": min(start, utc_start),
        f"{p}_hi": max(end, utc_end),
        f"{p}_start": start,
        f"{p}_end": end,
        f"{p}_first": first,
        f"{p}_last": last,
    }


def _select(where: str, extra: str = "") -> str:
    return (
        f"SELECT {TASK_COLUMNS_SQL}{extra} FROM {_TASK} WHERE {where} ORDER BY {_INDEX_ORDER} LIMIT %(limit)s"  # noqa: S608
    )


def _fetch(sql: str, args: dict[str, Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, args)
        return list(cursor.fetchall())


def _base_args(user: User, context: ViewContext, limit: int) -> dict[str, Any]:
    return {"owner": user.pk, "archived": list(context.archived), "limit": limit}


def _todoist_day_key(row: dict[str, Any]) -> tuple[Any, ...]:
    # Timed tasks by time, then date-only ones; ties: priority, manual order.
    rank = {"high": 0, "medium": 1, "low": 2}[row["priority"]]
    timed = row["due_at"] is not None
    return (0 if timed else 1, row["due_at"] or datetime.min.replace(tzinfo=_UTC), rank, row["position"])


def _context(user: User, context: ViewContext | None) -> ViewContext:
    return context if context is not None else view_context(user_id=user.pk)


def _today_of(context: ViewContext, now: datetime | None) -> date:
    return (now or timezone.now()).astimezone(context.tz).date()


def overdue_tasks(
    *, user: User, limit: int, now: datetime | None = None, context: ViewContext | None = None
) -> list[dict[str, Any]]:
    """Overdue tasks, oldest due first, then priority."""
    context = _context(user, context)
    args = {**_base_args(user, context, limit), **_overdue_args(_today_of(context, now), context.tz)}
    return task_rows(_fetch(_select(f"{_open_where(context)} AND {_OVERDUE}"), args))


def due_on_days(
    *, user: User, first: date, last: date, limit: int, context: ViewContext | None = None
) -> list[dict[str, Any]]:
    context = _context(user, context)
    args = {**_base_args(user, context, limit), **_window_args("window", first, last, context.tz)}
    return task_rows(_fetch(_select(f"{_open_where(context)} AND {_window_sql('window')}"), args))


def local_day_of(row: dict[str, Any], tz: ZoneInfo) -> date:
    if row["due_at"] is not None:
        return row["due_at"].astimezone(tz).date()
    return row["due_date"]


def today_view(
    *, user: User, limit: int, now: datetime | None = None, context: ViewContext | None = None
) -> dict[str, Any]:
    context = _context(user, context)
    tz, today = context.tz, _today_of(context, now)
    # Both lists in one statement: two index range scans, each stopped by its LIMIT.
    where = _open_where(context)
    overdue_sql = _select(f"{where} AND {_OVERDUE}", ", 0 AS part")
    day_sql = _select(f"{where} AND {_window_sql('day')}", ", 1 AS part")
    sql = f"({overdue_sql}) UNION ALL ({day_sql})"
    args = {
        **_base_args(user, context, limit),
        **_overdue_args(today, tz),
        **_window_args("day", today, today, tz),
    }
    fetched = _fetch(sql, args)
    overdue = task_rows(row for row in fetched if row[-1] == 0)
    due_today = sorted(task_rows(row for row in fetched if row[-1] == 1), key=_todoist_day_key)
    return {"date": today, "timezone": tz.key, "overdue": overdue, "today": due_today}


def upcoming_view(
    *, user: User, days: int, limit: int, now: datetime | None = None, context: ViewContext | None = None
) -> dict[str, Any]:
    context = _context(user, context)
    tz, today = context.tz, _today_of(context, now)
    last = today + timedelta(days=days - 1)
    rows = due_on_days(user=user, first=today, last=last, limit=limit, context=context)
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


# Two index-ordered scans of task_open_project_idx in one statement, merged
# here: an OR of the two conditions would make PostgreSQL sort the whole Inbox.
_MANUAL_ORDER = "position ASC, created_at ASC, id ASC"
_INBOX_SQL = (
    f"(SELECT {TASK_COLUMNS_SQL} FROM {_TASK} WHERE {_OPEN} AND project_id = %(inbox)s"  # noqa: S608
    f" ORDER BY {_MANUAL_ORDER} LIMIT %(limit)s)"
    f" UNION ALL (SELECT {TASK_COLUMNS_SQL} FROM {_TASK} WHERE {_OPEN} AND project_id IS NULL"
    f" ORDER BY {_MANUAL_ORDER} LIMIT %(limit)s)"
)


def inbox_tasks(*, user: User, inbox_id: uuid.UUID, limit: int) -> list[dict[str, Any]]:
    """Open Inbox tasks in manual order (rows written around the services, with no project, too)."""
    rows = task_rows(_fetch(_INBOX_SQL, {"owner": user.pk, "inbox": inbox_id, "limit": limit}))
    rows.sort(key=lambda row: (row["position"], row["created_at"], row["id"]))
    return rows[:limit]


# Every count in one statement. The due counts are ranges of task_open_due_idx;
# the per-project counts one index-only scan of task_open_project_idx (the
# Inbox's count is its row plus the rows with no project, written around the
# services). The CTE is computed once and read twice.
_COUNT = f"SELECT count(*) FROM {_TASK} WHERE {{where}}"  # noqa: S608
_COUNTS_SQL = f"""
    WITH per_project AS (
        SELECT project_id, count(*) AS n FROM {_TASK}
        WHERE {_OPEN} GROUP BY project_id ORDER BY project_id
    )
    SELECT ({{overdue}}) AS overdue, ({{today}}) AS today, ({{upcoming}}) AS upcoming,
           ARRAY(SELECT project_id FROM per_project), ARRAY(SELECT n FROM per_project)
"""  # noqa: S608


def _counts_sql(context: ViewContext) -> str:
    where = _open_where(context)
    return _COUNTS_SQL.format(
        overdue=_COUNT.format(where=f"{where} AND {_OVERDUE}"),
        today=_COUNT.format(where=f"{where} AND {_window_sql('day')}"),
        upcoming=_COUNT.format(where=f"{where} AND {_window_sql('week')}"),
    )


def sidebar_counts(
    *, user: User, inbox_id: uuid.UUID, now: datetime | None = None, context: ViewContext | None = None
) -> dict[str, Any]:
    """Open-task counts for a sidebar: Inbox, Today (due today, overdue not included),
    Overdue, Upcoming (the next 7 days, today included), and per project."""
    context = _context(user, context)
    tz, today = context.tz, _today_of(context, now)
    args: dict[str, Any] = {
        "owner": user.pk,
        "archived": list(context.archived),
        **_overdue_args(today, tz),
        **_window_args("day", today, today, tz),
        **_window_args("week", today, today + timedelta(days=6), tz),
    }
    with connection.cursor() as cursor:
        cursor.execute(_counts_sql(context), args)
        overdue, due_today, upcoming, project_ids, counts = cursor.fetchone()
    by_project = dict(zip(project_ids, counts, strict=True))
    hidden = set(context.archived)
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
