"""Import our own export (``GET /api/export``, ``taskbeat-export/1``) into the caller's account.

The round trip is the contract: export → import into a fresh account →
export again gives the same document but for ids, timestamps and versions
(tests/…/test_taskbeat_import.py). What is carried over:

- projects (name, colour, nesting, archived), the exported Inbox onto the
  account's own Inbox; sections in order;
- tasks in their manual order, with description, priority, tags, due date or
  time, reminder (absolute or relative: ``remind_at``/``remind_offset_minutes``),
  completion, placement (project, section, parent: subtasks);
- series (the rule, start, zone, mode, look-ahead, status) with their
  occurrences as they were — completed, skipped, open — so no occurrence is
  generated twice;
- saved filters;
- the sections the layers above register (``sections.py``): the profile
  (zone, date order), reminders, notification preferences; sections that
  are exported for the record only (the audit log, subscriptions' metadata)
  register no writer and are not imported.

All or nothing: the document is checked (shape, references between its
items, limits) before anything is written, then written in one transaction
through the usual services, each change recorded as its usual event. A
service refusing an item (a bad colour, an unknown zone…) is reported with
the item's path; any problem rolls everything back (400 ``import_refused``,
``error.details.rows`` = ``[{row: "tasks[3]", problem}]``).

Not idempotent by design — an export has no identity to recognise: into an
account that already holds projects or tasks (beyond the empty Inbox) the
import is refused (409 ``account_not_empty``) unless ``mode=merge`` asks for
a copy next to what is there. So repeating an import is refused, not doubled.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from functools import partial
from typing import Any, cast

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from tasks_app import services
from tasks_app.models import Priority, Project, SavedFilter, Task, TaskSeries
from tasks_app.portability import sections as export_sections
from tasks_app.portability.export import EXPORT_FORMAT
from tasks_app.portability.progress import NO_PROGRESS, Progress
from tasks_app.portability.todoist import ImportRefused
from tasks_app.projects import services as project_services
from tasks_app.recurrence import services as recurrence_services
from tasks_app.recurrence.rules import parse_rule
from todo_project.errors import ConflictError, DomainError

MAX_BYTES = 10 * 1024 * 1024
LIMITS = {"projects": 1000, "sections": 5000, "tasks": 20000, "series": 5000, "saved_filters": 500}
_PRIORITIES = {p.value for p in Priority}
# The counts an import answers with: the task layer's items, then the sections that write back.
RESULT_KEYS = (
    "projects",
    "sections",
    "series",
    "tasks",
    "saved_filters",
    "profile",
    "reminders",
    "notification_preferences",
)


class _Problems:
    def __init__(self, progress: Progress = NO_PROGRESS) -> None:
        self.rows: list[dict[str, Any]] = []
        self.progress = progress  # hears of each item written (``_attempt``)

    def add(self, row: str, problem: str) -> None:
        if len(self.rows) < 200:  # enough to fix a file by; the count says the rest
            self.rows.append({"row": row, "problem": problem})


def _items(doc: dict[str, Any], key: str, problems: _Problems) -> list[dict[str, Any]]:
    value = doc.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        problems.add(key, "must be a list of objects")
        return []
    if len(value) > LIMITS[key]:
        problems.add(key, f"more than {LIMITS[key]} items")
        return []
    return value


def _when(value: Any, parse: Callable[[str], Any]) -> Any:
    if value is None:
        return None
    parsed = parse(value) if isinstance(value, str) else None
    if parsed is None:
        raise ValueError(f"not a valid date or time: {value!r}")
    return parsed


def _check(doc: Any) -> dict[str, Any]:
    """The document's items, after the checks that need no database; raises ImportRefused."""
    problems = _Problems()
    if not isinstance(doc, dict) or doc.get("format") != EXPORT_FORMAT:
        raise DomainError(f"The file is not a Taskbeat export (format {EXPORT_FORMAT}).", field="file")
    items = {key: _items(doc, key, problems) for key in LIMITS}
    ids = {
        key: {str(item.get("id")) for item in items[key]}
        for key in ("projects", "sections", "series", "tasks")
    }
    for key, refs in (
        ("projects", {"parent_id": "projects"}),
        ("sections", {"project_id": "projects"}),
        (
            "tasks",
            {"project_id": "projects", "section_id": "sections", "parent_id": "tasks", "series_id": "series"},
        ),
    ):
        for index, item in enumerate(items[key]):
            for ref, target in refs.items():
                value = item.get(ref)
                if value is not None and str(value) not in ids[target]:
                    problems.add(f"{key}[{index}].{ref}", f"names no item of {target} in this file")
    for index, task in enumerate(items["tasks"]):
        row = f"tasks[{index}]"
        if not isinstance(task.get("title"), str):
            problems.add(f"{row}.title", "must be text")
        if task.get("priority", "medium") not in _PRIORITIES:
            problems.add(f"{row}.priority", f"must be one of {', '.join(sorted(_PRIORITIES))}")
        tags = task.get("tags", [])
        if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
            problems.add(f"{row}.tags", "must be a list of text")
        for name, parse in (
            ("due_date", parse_date),
            ("due_at", parse_datetime),
            ("remind_at", parse_datetime),
        ):
            try:
                _when(task.get(name), parse)
            except ValueError as exc:
                problems.add(f"{row}.{name}", str(exc))
        if task.get("series_id") is not None:
            try:
                _when(task.get("occurrence_at"), parse_datetime)
            except ValueError as exc:
                problems.add(f"{row}.occurrence_at", str(exc))
    for index, series in enumerate(items["series"]):
        try:
            dtstart = _when(series.get("dtstart"), parse_datetime)
            parse_rule(
                str(series.get("rule") or ""), dtstart=dtstart, tz=str(series.get("timezone") or "UTC")
            )
        except (ValueError, DomainError) as exc:
            problems.add(f"series[{index}].rule", getattr(exc, "message", str(exc)))
    extra: dict[str, Any] = {}
    for section in export_sections.sections():
        if section.write is None or doc.get(section.key) is None:
            continue  # exported for the record only, or not in this (older) file
        extra[section.key] = doc[section.key]
        if section.check is not None:
            for row, problem in section.check(doc[section.key], ids):
                problems.add(row, problem)
    if problems.rows:
        raise ImportRefused(problems.rows)
    return {**items, **extra}


def account_is_empty(user: User) -> bool:
    return (
        not Task.objects.filter(owner_id=user.pk).exists()
        and not Project.objects.filter(owner_id=user.pk, is_inbox=False).exists()
        and not TaskSeries.objects.filter(owner_id=user.pk).exists()
    )


def taskbeat_merges(mode: Any) -> bool:
    """The form's ``mode``: ``fresh`` (False) or ``merge`` (True)."""
    if mode not in ("fresh", "merge"):
        raise DomainError("mode is fresh or merge.", field="mode")
    return bool(mode == "merge")


def taskbeat_check_form(*, user: User, mode: Any, size: int) -> bool:
    """The checks of an upload that need no parsing; returns whether it merges."""
    merge = taskbeat_merges(mode)
    if size > MAX_BYTES:
        raise DomainError(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB.", field="file")
    if mode == "fresh" and not account_is_empty(user):
        raise ConflictError(
            "This account already has projects or tasks; import with mode=merge to add a copy.",
            field="mode",
            code="account_not_empty",
        )
    return merge


def taskbeat_import(
    *, user: User, data: bytes, merge: bool = False, progress: Progress = NO_PROGRESS
) -> dict[str, int]:
    """Recreate an export's items (projects … saved filters, then the registered sections); returns counts.

    ``progress`` hears of each item written and of the result before the one
    transaction commits (a worker's job, ``jobs.py``).
    """
    if len(data) > MAX_BYTES:
        raise DomainError(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB.", field="file")
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        raise DomainError("The file is not JSON.", field="file") from None
    items = _check(doc)
    taskbeat_check_form(user=user, mode="merge" if merge else "fresh", size=len(data))
    progress.start(_total(items))
    problems = _Problems(progress)
    with transaction.atomic():
        made = _write(user, items, problems, merge=merge)
        if problems.rows:
            raise ImportRefused(problems.rows)  # rolls back what was written
        progress.finish(dict(made))
    return made


def _total(items: dict[str, Any]) -> int:
    """How many writes an import makes (its progress total)."""
    total = sum(len(items[key]) for key in LIMITS)
    total += sum(1 for task in items["tasks"] if task.get("is_skipped"))
    total += sum(1 for project in items["projects"] if project.get("is_archived"))
    for section in export_sections.sections():
        if section.key in items:
            total += section.size(items[section.key])
    return total


def _attempt(problems: _Problems, row: str, write: Callable[[], Any]) -> Any:
    """Run one service call; a refusal becomes the item's problem (its own savepoint rolled back)."""
    try:
        with transaction.atomic():
            return write()
    except DomainError as exc:
        problems.add(f"{row}.{exc.field}" if exc.field else row, exc.message)
        return None
    finally:
        problems.progress.step()


def _write(user: User, items: dict[str, Any], problems: _Problems, *, merge: bool) -> dict[str, int]:
    new: dict[str, Any] = {}  # exported id -> new id, for every kind (ids are UUIDs: no clashes)
    projects = items["projects"]
    inbox = project_services.inbox_ensure(user_id=user.pk)

    def project_create(project: dict[str, Any]) -> Any:
        if project.get("is_inbox"):
            return inbox
        parent = project.get("parent_id")
        return project_services.project_create(
            owner=user,
            name=project.get("name"),
            color=project.get("color"),
            parent_id=new.get(str(parent)) if parent else None,
        ).pk

    _in_order("projects", projects, new, problems, project_create)
    project_rank = {str(p["id"]): p.get("position", 0) for p in projects}
    sections = items["sections"]
    for index in sorted(
        range(len(sections)),
        key=lambda i: (project_rank.get(str(sections[i]["project_id"]), 0), sections[i].get("position", 0)),
    ):
        section = sections[index]
        made = _attempt(
            problems,
            f"sections[{index}]",
            partial(
                project_services.section_create,
                user=user,
                project_id=new.get(str(section["project_id"])),
                name=section.get("name"),
            ),
        )
        if made is not None:
            new[str(section["id"])] = made.pk
    series_rows: dict[str, TaskSeries] = {}
    for index, series in enumerate(items["series"]):
        made = _attempt(problems, f"series[{index}]", partial(_series_create, user, series))
        if made is not None:
            series_rows[str(series["id"])] = made
    tasks = items["tasks"]
    skipped: list[Any] = []

    def task_create(task: dict[str, Any]) -> Any:
        made = _task_create(user, task, new, series_rows)
        if task.get("is_skipped"):
            skipped.append(made.pk)
        return made.pk

    _in_order("tasks", tasks, new, problems, task_create)
    for task_id in skipped:
        # After every occurrence exists: skipping then generates nothing new.
        _attempt(problems, "tasks", partial(recurrence_services.occurrence_skip, user=user, task_id=task_id))
    for index, project in enumerate(projects):
        if project.get("is_archived") and not project.get("is_inbox") and str(project["id"]) in new:
            _attempt(
                problems,
                f"projects[{index}].is_archived",
                partial(project_services.project_archive, user=user, project_id=new[str(project["id"])]),
            )
    filters = 0
    taken = set(SavedFilter.objects.filter(owner_id=user.pk).values_list("name", flat=True))
    for index, saved in enumerate(items["saved_filters"]):
        if merge and saved.get("name") in taken:
            continue  # a copy of a filter is the same filter: keep the one there
        if _attempt(
            problems,
            f"saved_filters[{index}]",
            partial(
                services.saved_filter_create,
                owner=user,
                # Whatever the file holds: the service refuses a name that is no text.
                name=cast(str, saved.get("name")),
                params=saved.get("params") or {},
            ),
        ):
            filters += 1
    made = {
        "projects": sum(1 for p in projects if not p.get("is_inbox") and str(p["id"]) in new),
        "sections": sum(1 for s in sections if str(s["id"]) in new),
        "series": len(series_rows),
        "tasks": sum(1 for t in tasks if str(t["id"]) in new),
        "saved_filters": filters,
    }
    context = export_sections.ImportContext(
        user=user,
        ids={**new, **{key: row.pk for key, row in series_rows.items()}},
        merge=merge,
        now=timezone.now(),
        attempt=lambda row, write: _attempt(problems, row, write),
        step=problems.progress.step,
    )
    for registered in export_sections.sections():
        if registered.write is not None:
            key = registered.key
            made[key] = registered.write(context, items[key]) if key in items else 0
    return made


def _in_order(
    key: str,
    items: list[dict[str, Any]],
    new: dict[str, Any],
    problems: _Problems,
    create: Callable[[dict[str, Any]], Any],
) -> None:
    """Create ``items`` in their exported order, each after its parent (``parent_id``).

    The export lists them in their manual order; creating them in it gives
    them the same positions. An item whose parent comes later waits for it.
    """
    pending = list(range(len(items)))
    while pending:
        waiting = []
        for index in pending:
            item = items[index]
            parent = item.get("parent_id")
            if parent is not None and str(parent) not in new:
                waiting.append(index)
                continue
            made = _attempt(problems, f"{key}[{index}]", partial(create, item))
            if made is not None:
                new[str(item["id"])] = made
        if len(waiting) == len(pending):  # their parents were refused (or a cycle)
            for index in waiting:
                problems.add(f"{key}[{index}].parent_id", "its parent could not be imported")
            return
        pending = waiting


def _series_create(user: User, data: dict[str, Any]) -> TaskSeries:
    """A series as exported; its occurrences follow as tasks (``series_id``)."""
    dtstart = parse_datetime(str(data["dtstart"]))
    assert dtstart is not None  # _check parsed it
    return TaskSeries.objects.create(
        owner_id=user.pk,
        rule=str(data["rule"]),
        dtstart=dtstart,
        timezone=str(data.get("timezone") or "UTC"),
        all_day=bool(data.get("all_day")),
        completion_mode=data.get("completion_mode") or "scheduled",
        lookahead_days=int(data.get("lookahead_days") or 0),
        status=data.get("status") or "active",
        ended_at=parse_datetime(data["ended_at"]) if data.get("ended_at") else None,
        title=str(data.get("title") or ""),
        description=str(data.get("description") or ""),
        priority=data.get("priority") or "medium",
        tags=list(data.get("tags") or []),
        reminder_offsets=list(data.get("reminder_offsets") or []),
    )


def _task_create(
    user: User, task: dict[str, Any], new: dict[str, Any], series_rows: dict[str, TaskSeries]
) -> Task:
    def ref(name: str) -> Any:
        value = task.get(name)
        return new.get(str(value)) if value is not None else None

    series = series_rows.get(str(task.get("series_id"))) if task.get("series_id") is not None else None
    due_date: date | None = _when(task.get("due_date"), parse_date)
    due_at: datetime | None = _when(task.get("due_at"), parse_datetime)
    parent = ref("parent_id")
    return services.task_create(
        owner=user,
        title=task["title"],
        description=task.get("description") or "",
        priority=task.get("priority") or "medium",
        tags=task.get("tags") or [],
        due_date=due_date,
        due_at=due_at,
        remind_at=_when(task.get("remind_at"), parse_datetime),
        remind_offset_minutes=task.get("remind_offset_minutes"),
        is_recurring=bool(task.get("is_recurring")),
        recurrence_rule=task.get("recurrence_rule") or "",
        is_completed=bool(task.get("is_completed")),
        series=series,
        occurrence_at=_when(task.get("occurrence_at"), parse_datetime) if series is not None else None,
        # A subtask's placement is its parent's; a sectioned task's, its section's.
        project_id=None if parent is not None or task.get("section_id") else ref("project_id"),
        section_id=None if parent is not None else ref("section_id"),
        parent_id=parent,
    )
