"""Task queries: the list parameters (spec §2.5.3), the list itself, tags, saved filters.

Everything here reads; writes live in ``services.py``. The list is built on
``.values()`` rows rendered by ``task_to_dict`` because a model serializer
per row was the measured bottleneck of the list endpoint (see
``benchmarks/task_list``).
"""

from __future__ import annotations

import re
import threading
import uuid
import zoneinfo
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.contrib.postgres.search import SearchQuery, SearchRank
from django.core.exceptions import EmptyResultSet
from django.db import connection, connections
from django.db.models import Case, Count, F, Field, IntegerField, Q, QuerySet, Value, When, Window
from django.db.models.expressions import OrderBy
from django.db.models.functions import Lower
from django.utils.dateparse import parse_datetime

from tasks_app.models import (
    DUE_SORT_EXPR,
    PRIORITY_RANK_EXPR,
    OwnerSearchMatch,
    Priority,
    SavedFilter,
    SearchVectorColumn,
    Task,
    TaskId,
)
from todo_project import fields as safe_fields
from todo_project.accounts.selectors import user_zone
from todo_project.errors import DomainError, NotFoundError
from todo_project.ids import uuid_or_404

# The task representation: exactly these keys, in this order, everywhere
# (API responses, event snapshots, WebSocket pushes).
TASK_FIELDS: tuple[str, ...] = (
    "id",
    "title",
    "description",
    "is_completed",
    "completed_at",
    "due_date",
    "due_at",
    "remind_at",
    "is_recurring",
    "recurrence_rule",
    "priority",
    "tags",
    "position",
    "version",
    "created_at",
    "updated_at",
    # An occurrence of a recurring series (tasks_app/recurrence/); null/false otherwise.
    "series_id",
    "occurrence_at",
    "is_skipped",
    # Placement (docs/projects.md): the project (never null once written by
    # the services), an optional section of it, the parent task of a subtask.
    "project_id",
    "section_id",
    "parent_id",
    # A relative reminder (minutes before due_at) that remind_at follows; null: remind_at is absolute.
    "remind_offset_minutes",
)
_UUID_FIELDS = ("series_id", "project_id", "section_id", "parent_id")
_DATETIME_FIELDS = ("completed_at", "due_at", "remind_at", "created_at", "updated_at", "occurrence_at")

LIST_PARAMS = (
    "q",
    "status",
    "priority",
    "tags",
    "tags_mode",
    "due_after",
    "due_before",
    "is_recurring",
    "sort_by",
    "sort_order",
    "project",
    "include_subprojects",
    "section",
    "parent",
)
# active: open and not skipped; skipped: skipped occurrences of a series.
STATUSES = ("all", "active", "completed", "skipped")
TAG_MODES = ("all", "any")
SORT_FIELDS = ("due_at", "priority", "created_at", "title", "position")
# What a user expects without sort_order: soonest due first, most important
# first, newest first, A→Z, manual order.
DEFAULT_SORT_ORDER = {
    "due_at": "asc",
    "priority": "desc",
    "created_at": "desc",
    "title": "asc",
    "position": "asc",
}
MAX_QUERY_LENGTH = 500
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def format_datetime(value: datetime | None) -> str | None:
    if value is None:
        return None
    # PostgreSQL hands back UTC; "Z" is the form our events and clients use.
    return value.isoformat().replace("+00:00", "Z")


def task_to_dict(task: Task | Mapping[str, Any]) -> dict[str, Any]:
    """The one task representation, from a model instance or a ``.values()`` row.

    Returns JSON-ready values (strings for UUIDs, dates and datetimes), so the
    same dict serves the HTTP response and the event snapshot unchanged.
    """
    row = task if isinstance(task, Mapping) else {name: getattr(task, name) for name in TASK_FIELDS}
    out = {name: row[name] for name in TASK_FIELDS}
    out["id"] = str(out["id"])
    for name in _UUID_FIELDS:
        if out[name] is not None:
            out[name] = str(out[name])
    for name in _DATETIME_FIELDS:
        value = out[name]
        if value is not None:
            out[name] = value.isoformat().replace("+00:00", "Z")
    if out["due_date"] is not None:
        out["due_date"] = out["due_date"].isoformat()
    out["recurrence_rule"] = out["recurrence_rule"] or None
    out["tags"] = list(out["tags"])
    return out


# The task area's name for it (one definition, in todo_project.accounts.selectors).
user_timezone = user_zone


@dataclass(frozen=True)
class TaskListParams:
    q: str = ""
    status: str = "all"
    priorities: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    tags_mode: str = "all"
    due_after: date | datetime | None = None
    due_before: date | datetime | None = None
    is_recurring: bool | None = None
    sort_by: str = ""
    sort_order: str = ""
    # ``project`` as given ("inbox" or a UUID string); ``project_ids`` is what
    # it resolves to for one user (``resolve_placement``), subprojects included.
    project: str = ""
    include_subprojects: bool = False
    project_ids: tuple[uuid.UUID, ...] | None = None
    section: str = ""
    parent: str = ""


def _parse_uuid_param(name: str, value: str, *, allow: tuple[str, ...] = ()) -> str:
    value = value.strip()
    if value.lower() in allow:
        return value.lower()
    try:
        return str(uuid.UUID(value))
    except ValueError:
        extra = "".join(f" or {word!r}" for word in allow)
        raise DomainError(f"{name} must be a UUID{extra}, got {value[:40]!r}.", field=name) from None


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _parse_bool(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise DomainError(f"{name} must be true or false, got {value!r}.", field=name)


def _parse_due_bound(name: str, value: str) -> date | datetime:
    value = value.strip()
    if _DATE_RE.match(value):
        try:
            day = date.fromisoformat(value)
        except ValueError:
            pass
        else:
            return _in_range(name, day)
    else:
        try:
            parsed = parse_datetime(value)
        except ValueError:
            parsed = None
        if parsed is not None:
            return _in_range(name, parsed)
    raise DomainError(
        f"{name} must be a date (YYYY-MM-DD) or an ISO 8601 datetime, got {value!r}.", field=name
    )


def _in_range(name: str, value: date | datetime) -> date | datetime:
    if not safe_fields.in_range(value):
        raise DomainError(f"{name} {safe_fields.OUT_OF_RANGE}", field=name)
    return value


def parse_task_list_params(raw: Mapping[str, str]) -> TaskListParams:
    """Validate list parameters; each bad value is a 400 naming its parameter.

    Unknown parameters are ignored here (query strings carry cache busters and
    DRF's own ``format``); saved filters reject them before calling this.
    """
    # An enum or typed parameter sent empty ("status=") is refused rather than
    # read as absent: the schema gives no empty value for them.
    for name in (
        "status",
        "priority",
        "tags_mode",
        "due_after",
        "due_before",
        "is_recurring",
        "sort_by",
        "sort_order",
    ):
        if name in raw and not str(raw[name]).strip():
            raise DomainError(f"{name} must not be empty; leave it out instead.", field=name)
    q = raw.get("q", "").strip()
    if len(q) > MAX_QUERY_LENGTH:
        raise DomainError(f"q must be at most {MAX_QUERY_LENGTH} characters.", field="q")

    status = raw.get("status", "").strip().lower() or "all"
    if status not in STATUSES:
        raise DomainError(f"status must be one of {', '.join(STATUSES)}; got {status!r}.", field="status")

    priorities = tuple(p.lower() for p in _split(raw.get("priority", "")))
    for priority in priorities:
        if priority not in Priority.values:
            raise DomainError(
                f"priority must be a comma-separated list of {', '.join(Priority.values)}; got {priority!r}.",
                field="priority",
            )

    tags = tuple(dict.fromkeys(t.lower() for t in _split(raw.get("tags", ""))))
    tags_mode = raw.get("tags_mode", "").strip().lower() or "all"
    if tags_mode not in TAG_MODES:
        raise DomainError(f"tags_mode must be all or any; got {tags_mode!r}.", field="tags_mode")

    due_after = _parse_due_bound("due_after", raw["due_after"]) if raw.get("due_after") else None
    due_before = _parse_due_bound("due_before", raw["due_before"]) if raw.get("due_before") else None

    is_recurring = _parse_bool("is_recurring", raw["is_recurring"]) if raw.get("is_recurring") else None

    sort_by = raw.get("sort_by", "").strip()
    if sort_by and sort_by not in SORT_FIELDS:
        raise DomainError(
            f"sort_by must be one of {', '.join(SORT_FIELDS)}; got {sort_by!r}.", field="sort_by"
        )
    sort_order = raw.get("sort_order", "").strip().lower()
    if sort_order and sort_order not in ("asc", "desc"):
        raise DomainError(f"sort_order must be asc or desc; got {sort_order!r}.", field="sort_order")

    project = _parse_uuid_param("project", raw["project"], allow=("inbox",)) if raw.get("project") else ""
    include_subprojects = (
        _parse_bool("include_subprojects", raw["include_subprojects"])
        if raw.get("include_subprojects")
        else False
    )
    if include_subprojects and not project:
        raise DomainError("include_subprojects needs a project.", field="include_subprojects")
    section = _parse_uuid_param("section", raw["section"], allow=("none",)) if raw.get("section") else ""
    parent = _parse_uuid_param("parent", raw["parent"], allow=("none",)) if raw.get("parent") else ""

    return TaskListParams(
        project=project,
        include_subprojects=include_subprojects,
        section=section,
        parent=parent,
        q=q,
        status=status,
        priorities=priorities,
        tags=tags,
        tags_mode=tags_mode,
        due_after=due_after,
        due_before=due_before,
        is_recurring=is_recurring,
        sort_by=sort_by,
        sort_order=sort_order,
    )


def _as_aware(value: datetime, tz: zoneinfo.ZoneInfo) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=tz)


def _due_filter(params: TaskListParams, tz: zoneinfo.ZoneInfo) -> Q:
    """Both bounds inclusive. A date bound covers that whole day in the user's zone.

    A task matches on ``due_at``, or on ``due_date`` when it has only a date;
    a date-only task is compared by date (a datetime bound is first turned
    into its date in the user's zone).
    """
    query = Q()
    if params.due_after is not None:
        bound = params.due_after
        if isinstance(bound, datetime):
            start = _as_aware(bound, tz)
            day = start.astimezone(tz).date()
        else:
            start, day = datetime.combine(bound, time.min, tzinfo=tz), bound
        query &= Q(due_at__gte=start) | Q(due_at__isnull=True, due_date__gte=day)
    if params.due_before is not None:
        bound = params.due_before
        if isinstance(bound, datetime):
            end = _as_aware(bound, tz)
            day = end.astimezone(tz).date()
            at_q = Q(due_at__lte=end)
        else:
            day = bound
            at_q = Q(due_at__lt=datetime.combine(bound + timedelta(days=1), time.min, tzinfo=tz))
        query &= at_q | Q(due_at__isnull=True, due_date__lte=day)
    return query


_WORD_RE = re.compile(r"\w+", re.UNICODE)
_WEBSEARCH_OPERATORS = re.compile(r'["]|(^|\s)-|\bor\b', re.IGNORECASE)


def prefix_search_query(q: str) -> SearchQuery | None:
    """``word & word & last:*`` for a plain query (None when it uses websearch operators
    such as quotes, ``-word`` or ``or``, which mean exactly what they say)."""
    if _WEBSEARCH_OPERATORS.search(q):
        return None
    words = _WORD_RE.findall(q)
    if not words:
        return None
    # Only word characters reach to_tsquery, so no tsquery syntax can be injected.
    terms = [*words[:-1], f"{words[-1]}:*"]
    return SearchQuery(" & ".join(terms), config="english", search_type="raw")


def _order_by(expr: Any, descending: bool) -> OrderBy:
    return OrderBy(expr, descending=descending, nulls_last=True)


def _needs_timezone(params: TaskListParams) -> bool:
    return params.due_after is not None or params.due_before is not None


def resolve_placement(*, user: User, params: TaskListParams) -> TaskListParams:
    """``params`` with ``project`` resolved to the caller's project ids.

    Another user's (or no such) project matches nothing: a saved filter whose
    project was deleted lists no tasks rather than failing.
    """
    if not params.project or params.project_ids is not None:
        return params
    from tasks_app.projects.selectors import project_subtree_ids, user_inbox_id

    if params.project == "inbox":
        root = user_inbox_id(user_id=user.pk)
        ids: tuple[uuid.UUID, ...] = () if root is None else (root,)
        if params.include_subprojects and root is not None:
            ids = project_subtree_ids(user_id=user.pk, root_id=root)
    elif params.include_subprojects:
        ids = project_subtree_ids(user_id=user.pk, root_id=uuid.UUID(params.project))
    else:
        ids = (uuid.UUID(params.project),)
    return replace(params, project_ids=ids)


def task_list(*, user: User, params: TaskListParams) -> QuerySet:
    """The caller's tasks as ``.values()`` rows, filtered and sorted as ``params`` say."""
    tz = user_timezone(user) if _needs_timezone(params) else None
    params = resolve_placement(user=user, params=params)
    return _task_list_queryset(owner_id=user.pk, params=params, tz=tz)


# --- the list page without the ORM's per-request compilation ---------------------
#
# Building and compiling the list query costs more than running it (measured
# on a 20-task page: ~0.6 ms of Python per request next to ~0.45 ms for the
# SQL round trip). The SQL depends only on the parameters' shape and values,
# not on the caller, so it is compiled once per distinct (parameters, time
# zone, total) with a placeholder owner id, kept in a small per-process table,
# and run with the caller's id, LIMIT and OFFSET filled in. The rows go through
# the same converters Django applies to ``.values()`` rows, so they are
# identical to ``task_list(...)[offset:offset + limit]`` (tested).

_OWNER_PLACEHOLDER = -7_366_021_519_436_581  # never a user id; located in the compiled params
_MAX_COMPILED = 256


@dataclass(frozen=True)
class _CompiledPage:
    sql: str
    params: tuple[Any, ...]
    owner_slots: tuple[int, ...]
    names: tuple[str, ...]
    converters: tuple[tuple[int, tuple[list[Any], Any]], ...]


_compiled_pages: dict[tuple[Any, ...], _CompiledPage | None] = {}
_compiled_lock = threading.Lock()


def _compile_page(
    params: TaskListParams, tz: zoneinfo.ZoneInfo | None, with_total: bool
) -> _CompiledPage | None:
    qs = _task_list_queryset(owner_id=_OWNER_PLACEHOLDER, params=params, tz=tz)
    if with_total:
        qs = qs.annotate(total_count=Window(Count("*")))
    query = qs.query
    compiler = query.get_compiler(using=qs.db)
    try:
        sql, sql_params = compiler.as_sql()
    except EmptyResultSet:
        return None
    owner_slots = tuple(
        i for i, value in enumerate(sql_params) if type(value) is int and value == _OWNER_PLACEHOLDER
    )
    if not owner_slots:
        return None
    if query.selected:
        names = tuple(query.selected)
    else:
        names = (*query.extra_select, *query.values_select, *query.annotation_select)
    fields = [selected[0] for selected in compiler.select[0 : compiler.col_count]]
    if len(fields) != len(names) or compiler.has_composite_fields(fields):
        return None
    return _CompiledPage(
        sql=f"{sql} LIMIT %s OFFSET %s",
        params=tuple(sql_params),
        owner_slots=owner_slots,
        names=names,
        converters=tuple(compiler.get_converters(fields).items()),
    )


def task_list_page(
    *, user: User, params: TaskListParams, offset: int, limit: int, with_total: bool = False
) -> list[dict[str, Any]]:
    """``list(task_list(user=user, params=params)[offset:offset + limit])``, compiled once per shape.

    ``with_total`` adds ``total_count`` (``COUNT(*) OVER ()``, the number of
    matching tasks) to every row.
    """
    tz = user_timezone(user) if _needs_timezone(params) else None
    params = resolve_placement(user=user, params=params)
    key = (params, tz.key if tz is not None else None, with_total)
    try:
        compiled = _compiled_pages[key]
    except KeyError:
        compiled = _compile_page(params, tz, with_total)
        with _compiled_lock:
            while len(_compiled_pages) >= _MAX_COMPILED:
                del _compiled_pages[next(iter(_compiled_pages))]
            _compiled_pages[key] = compiled
    if compiled is None:  # a shape this shortcut does not handle: the ORM as usual
        qs = task_list(user=user, params=params)
        if with_total:
            qs = qs.annotate(total_count=Window(Count("*")))
        return list(qs[offset : offset + limit])

    args = list(compiled.params)
    for slot in compiled.owner_slots:
        args[slot] = user.pk
    args += [limit, offset]
    db = connections[Task.objects.db]
    with db.cursor() as cursor:
        cursor.execute(compiled.sql, args)
        rows = cursor.fetchall()
    return _converted_rows(rows, compiled.names, compiled.converters, db)


def _converted_rows(
    rows: Iterable[Sequence[Any]],
    names: Sequence[str],
    converters: tuple[tuple[int, tuple[list[Any], Any]], ...],
    db: Any,
) -> list[dict[str, Any]]:
    """Rows as dicts of ``names``, through the converters Django's compiler gave
    for those columns (what ``.values()`` applies). Columns past ``names`` are dropped."""
    width = len(names)
    if not converters:
        return [dict(zip(names, row[:width], strict=True)) for row in rows]
    out = []
    for row in rows:
        values = list(row[:width])
        for pos, (funcs, expression) in converters:
            value = values[pos]
            for func in funcs:
                value = func(value, expression, db)
            values[pos] = value
        out.append(dict(zip(names, values, strict=True)))
    return out


# --- task rows from hand-written SQL ---------------------------------------------
#
# The everyday views (tasks_app/agenda/) run a few fixed statements per request
# and write them as SQL: the ORM's per-request compilation costs more than the
# statements do. ``TASK_COLUMNS_SQL`` selects exactly ``TASK_FIELDS`` and
# ``task_rows`` applies the converters Django applies to ``.values(*TASK_FIELDS)``
# (tested equal to the queryset's rows).


def _column(name: str) -> str:
    field = Task._meta.get_field(name)
    assert isinstance(field, Field), name
    return connection.ops.quote_name(str(field.column))


TASK_COLUMNS_SQL = ", ".join(f"{_column(name)} AS {connection.ops.quote_name(name)}" for name in TASK_FIELDS)
_row_converters: dict[str, tuple[tuple[int, tuple[list[Any], Any]], ...]] = {}


def _task_row_converters(alias: str) -> tuple[tuple[int, tuple[list[Any], Any]], ...]:
    try:
        return _row_converters[alias]
    except KeyError:
        qs = Task.objects.using(alias).values(*TASK_FIELDS)
        compiler = qs.query.get_compiler(using=alias)
        compiler.setup_query()
        fields = [selected[0] for selected in compiler.select[0 : compiler.col_count]]
        converters = tuple(compiler.get_converters(fields).items())
        _row_converters[alias] = converters
        return converters


def task_rows(rows: Iterable[Sequence[Any]]) -> list[dict[str, Any]]:
    """Fetched rows as ``.values(*TASK_FIELDS)`` rows.

    Each row starts with the columns of ``TASK_COLUMNS_SQL``; any after them
    are the caller's and are left out.
    """
    db = connections[Task.objects.db]
    return _converted_rows(rows, TASK_FIELDS, _task_row_converters(db.alias), db)


def _task_list_queryset(*, owner_id: int, params: TaskListParams, tz: zoneinfo.ZoneInfo | None) -> QuerySet:
    qs = Task.objects.filter(owner_id=owner_id)

    if params.status == "active":
        qs = qs.filter(is_completed=False, is_skipped=False)
    elif params.status == "completed":
        qs = qs.filter(is_completed=True)
    elif params.status == "skipped":
        qs = qs.filter(is_skipped=True)
    if params.project_ids is not None:
        # Served by task_owner_project_idx in manual order. (Rows written around
        # the services with no project are in the Inbox view, not here: an OR
        # with project_id IS NULL would make PostgreSQL sort the whole match.)
        qs = qs.filter(project_id__in=list(params.project_ids))
    if params.section == "none":
        qs = qs.filter(section_id__isnull=True)
    elif params.section:
        qs = qs.filter(section_id=uuid.UUID(params.section))
    if params.parent == "none":
        qs = qs.filter(parent_id__isnull=True)
    elif params.parent:
        qs = qs.filter(parent_id=uuid.UUID(params.parent))
    if params.priorities:
        qs = qs.filter(priority__in=params.priorities)
    if params.tags:
        # jsonb @> / ?| on the lower-cased copy: both are served by the GIN index.
        if params.tags_mode == "any":
            qs = qs.filter(tag_keys__has_any_keys=list(params.tags))
        else:
            qs = qs.filter(tag_keys__contains=list(params.tags))
    if params.is_recurring is not None:
        qs = qs.filter(is_recurring=params.is_recurring)
    if params.due_after is not None or params.due_before is not None:
        if (
            params.due_after is not None
            and params.due_before is not None
            and type(params.due_after) is type(params.due_before)
            and params.due_after > params.due_before  # type: ignore[operator]
        ):
            raise DomainError("due_after must not be later than due_before.", field="due_after")
        assert tz is not None
        qs = qs.filter(_due_filter(params, tz))

    ordering: list[Any] = []
    if params.q:
        query = SearchQuery(params.q, config="english", search_type="websearch")
        # As-you-type: the last word is also a prefix ("groc" finds "Buy
        # groceries"). Whole-word matches rank above prefix-only ones.
        prefix = prefix_search_query(params.q)
        matched = query if prefix is None else query | prefix
        # The caller's entries of task_fulltext_gin only (OwnerSearchMatch);
        # the ranking reads the stored vector rather than computing it per match.
        qs = qs.filter(OwnerSearchMatch(owner_id, matched))
        if not params.sort_by:
            qs = qs.annotate(stored_vector=SearchVectorColumn())
            if prefix is not None:
                qs = qs.annotate(
                    whole_word=Case(
                        When(stored_vector=query, then=Value(1)),
                        default=Value(0),
                        output_field=IntegerField(),
                    )
                )
                ordering.append(F("whole_word").desc())
            qs = qs.annotate(rank=SearchRank(F("stored_vector"), matched))
            ordering.append(F("rank").desc())

    sort_by = params.sort_by or ("" if params.q else "position")
    if sort_by:
        descending = (params.sort_order or DEFAULT_SORT_ORDER[sort_by]) == "desc"
        if sort_by == "priority":
            ordering.append(_order_by(PRIORITY_RANK_EXPR, descending))
        elif sort_by == "title":
            ordering.append(_order_by(Lower("title"), descending))
        elif sort_by == "due_at":
            # Date-only tasks sort with the timed ones, at 00:00 UTC of their date.
            ordering.append(_order_by(DUE_SORT_EXPR, descending))
        else:
            ordering.append(_order_by(F(sort_by), descending))
    if sort_by != "priority":
        ordering.append(_order_by(PRIORITY_RANK_EXPR, True))  # FR-PR-004
    ordering += [F("created_at").asc(), F("id").asc()]  # stable tiebreak
    return qs.order_by(*ordering).values(*TASK_FIELDS)


def parse_task_id(task_id: TaskId) -> uuid.UUID:
    """A task id from a URL; a malformed one is simply a task that does not exist."""
    return uuid_or_404(task_id, what="Task")


def task_get(*, user: User, task_id: TaskId) -> Task:
    """The caller's task; anybody else's (or a malformed id) is a 404, never a 403."""
    task = Task.objects.filter(owner_id=user.pk, pk=parse_task_id(task_id)).first()
    if task is None:
        raise NotFoundError("Task not found.")
    return task


_TAGS_SQL = """
    SELECT mode() WITHIN GROUP (ORDER BY t.tag) AS name, count(*) AS count
    FROM tasks_app_task AS task
    CROSS JOIN LATERAL jsonb_array_elements_text(task.tags) AS t(tag)
    WHERE task.owner_id = %s {prefix}
    GROUP BY lower(t.tag)
    ORDER BY count(*) DESC, lower(t.tag) ASC
    LIMIT %s
"""


def tag_list(*, user: User, prefix: str = "", limit: int = 50) -> list[dict[str, Any]]:
    """The caller's tags with the number of tasks carrying each, most used first.

    Tags differing only in case are one tag; its display name is the casing
    used most often.
    """
    args: list[Any] = [user.pk]
    prefix_sql = ""
    if prefix:
        prefix_sql = "AND starts_with(lower(t.tag), %s)"
        args.append(prefix.lower())
    args.append(limit)
    with connection.cursor() as cursor:
        cursor.execute(_TAGS_SQL.format(prefix=prefix_sql), args)
        return [{"name": name, "count": count} for name, count in cursor.fetchall()]


def saved_filter_list(*, user: User) -> QuerySet[SavedFilter]:
    return SavedFilter.objects.filter(owner_id=user.pk)


def saved_filter_get(*, user: User, filter_id: int | str) -> SavedFilter:
    try:
        pk = int(filter_id)
    except (TypeError, ValueError):
        raise NotFoundError("Saved filter not found.") from None
    saved = SavedFilter.objects.filter(owner_id=user.pk, pk=pk).first()
    if saved is None:
        raise NotFoundError("Saved filter not found.")
    return saved


def saved_filter_to_dict(saved: SavedFilter) -> dict[str, Any]:
    return {
        "id": saved.pk,
        "name": saved.name,
        "params": saved.params,
        "created_at": format_datetime(saved.created_at),
        "updated_at": format_datetime(saved.updated_at),
    }


def merge_filter_params(saved: Mapping[str, str], explicit: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Saved parameters overridden by the ones given explicitly on the request."""
    merged = dict(saved)
    for key, value in explicit:
        if key in LIST_PARAMS:
            merged[key] = value
    return merged
