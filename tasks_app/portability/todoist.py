"""Import one project from Todoist's CSV export (docs/portability.md).

Todoist exports one CSV file per project with the columns ``TYPE, CONTENT,
DESCRIPTION, PRIORITY, INDENT, AUTHOR, RESPONSIBLE, DATE, DATE_LANG, TIMEZONE,
DURATION, DURATION_UNIT, DEADLINE, DEADLINE_LANG``; ``TYPE`` is ``task``,
``section``, ``note`` (a comment on the task above) or ``meta`` (view
settings), and blank rows separate sections. What becomes of each column:

- ``CONTENT`` → title; ``@label`` words in it → tags;
- ``DESCRIPTION`` → description (notes are appended to it, each on its own line);
- ``PRIORITY`` (Todoist's API numbers: 4 = p1 … 1 = p4) → p1 high, p2 medium,
  p3 low, p4 low;
- ``INDENT`` 1–4 → subtasks: a task at indent n+1 is a subtask of the task
  at indent n above it;
- ``DATE`` → due date/time and recurrence through the quick-add parser, in
  the row's ``TIMEZONE`` (else the user's zone): "tomorrow 5pm", "every monday";
- ``section`` rows → sections of the new project, in order;
- ``AUTHOR``, ``RESPONSIBLE``, ``DATE_LANG``, ``DURATION``, ``DURATION_UNIT``,
  ``DEADLINE``, ``DEADLINE_LANG`` and ``meta`` rows are read and checked for shape,
  and kept nowhere (Taskbeat has no shared projects, durations or deadlines);
  a ``DEADLINE`` is mentioned in the description so it is not lost.

The whole file is checked first; any problem refuses the import with every
problem listed by row (400, ``error.details.rows``), and nothing is written.
Otherwise one transaction creates the project, its sections and its tasks.
"""

from __future__ import annotations

import csv
import io
import re
import zoneinfo
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from tasks_app import services
from tasks_app.models import MAX_TASK_DEPTH, MAX_TITLE_LENGTH
from tasks_app.portability.progress import NO_PROGRESS, Progress
from tasks_app.projects import services as project_services
from tasks_app.selectors import user_timezone
from todo_project.accounts.selectors import user_date_order
from todo_project.errors import DomainError

COLUMNS = (
    "TYPE",
    "CONTENT",
    "DESCRIPTION",
    "PRIORITY",
    "INDENT",
    "AUTHOR",
    "RESPONSIBLE",
    "DATE",
    "DATE_LANG",
    "TIMEZONE",
    "DURATION",
    "DURATION_UNIT",
    "DEADLINE",
    "DEADLINE_LANG",
)
REQUIRED_COLUMNS = ("TYPE", "CONTENT", "PRIORITY", "INDENT", "DATE")
PRIORITIES = {"4": "high", "3": "medium", "2": "low", "1": "low", "": "medium"}
MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 5000
_LABEL_RE = re.compile(r"(?:^|\s)@([\w\-]+)")


class ImportRefused(DomainError):
    """A file with problems: nothing was written; ``details.rows`` lists them."""

    code = "import_refused"

    def __init__(self, problems: list[dict[str, Any]]) -> None:
        super().__init__(f"The file has {len(problems)} problem(s); nothing was imported.", field="file")
        self.details = {"rows": problems}


@dataclass
class _Task:
    row: int
    title: str
    description: str
    priority: str
    indent: int
    tags: list[str]
    section: int | None
    due_date: date | None = None
    due_at: datetime | None = None
    recurrence_rule: str = ""
    notes: list[str] = field(default_factory=list)


@dataclass
class _Plan:
    sections: list[str] = field(default_factory=list)
    tasks: list[_Task] = field(default_factory=list)


def _parse(text: str, *, default_tz: str, now: datetime, date_order: str = "MDY") -> _Plan:
    from tasks_app.quickadd.parser import parse_quick_add

    reader = csv.DictReader(io.StringIO(text))
    header = [name.strip().upper() for name in (reader.fieldnames or [])]
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        raise ImportRefused([{"row": 1, "problem": f"Missing column(s): {', '.join(missing)}."}])
    reader.fieldnames = header
    plan = _Plan()
    problems: list[dict[str, Any]] = []
    depth_above = 0
    seen_task = False
    for raw in reader:
        number = reader.line_num  # blank lines are skipped by the reader but counted here
        if len(plan.tasks) + len(problems) > MAX_ROWS:
            problems.append({"row": number, "problem": f"More than {MAX_ROWS} rows."})
            break
        row = {key: (value or "").strip() for key, value in raw.items() if key}
        kind = row.get("TYPE", "").lower()
        if not any(row.values()):
            continue  # a blank separator row
        if kind == "meta":
            continue
        if kind == "section":
            if not row.get("CONTENT"):
                problems.append({"row": number, "problem": "A section without a name."})
            plan.sections.append(row.get("CONTENT", "")[:120])
            depth_above = 0
            continue
        if kind == "note":
            if not seen_task:
                problems.append({"row": number, "problem": "A note before any task."})
            elif row.get("CONTENT"):
                plan.tasks[-1].notes.append(row["CONTENT"])
            continue
        if kind != "task":
            problems.append({"row": number, "problem": f"Unknown TYPE {row.get('TYPE')!r}."})
            continue
        seen_task = True
        # The indent first, so one bad row does not make its subtasks orphans too.
        indent_text = row.get("INDENT", "") or "1"
        if (
            not (indent_text.isascii() and indent_text.isdigit())
            or not 1 <= int(indent_text) <= MAX_TASK_DEPTH
        ):
            problems.append(
                {"row": number, "problem": f"INDENT must be 1–{MAX_TASK_DEPTH}, got {indent_text!r}."}
            )
            continue
        indent = int(indent_text)
        if indent > depth_above + 1:
            problems.append({"row": number, "problem": f"INDENT {indent} has no parent task above it."})
            continue
        depth_above = indent
        content = row.get("CONTENT", "")
        tags = list(dict.fromkeys(_LABEL_RE.findall(content)))
        title = _LABEL_RE.sub(" ", content).strip()
        title = re.sub(r"\s+", " ", title)
        if not title:
            problems.append({"row": number, "problem": "A task without a title."})
            continue
        if len(title) > MAX_TITLE_LENGTH:
            problems.append({"row": number, "problem": f"Title longer than {MAX_TITLE_LENGTH} characters."})
            continue
        priority = row.get("PRIORITY", "")
        if priority not in PRIORITIES:
            problems.append({"row": number, "problem": f"PRIORITY must be 1–4, got {priority!r}."})
            continue
        description = row.get("DESCRIPTION", "")
        if row.get("DEADLINE"):
            description = (description + f"\n\nDeadline (from Todoist): {row['DEADLINE']}").strip()
        task = _Task(
            row=number,
            title=title,
            description=description,
            priority=PRIORITIES[priority],
            indent=indent,
            tags=tags,
            section=len(plan.sections) - 1 if plan.sections else None,
        )
        when = row.get("DATE", "")
        if when:
            tz = row.get("TIMEZONE") or default_tz
            try:
                zoneinfo.ZoneInfo(tz)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                problems.append({"row": number, "problem": f"Unknown TIMEZONE {tz!r}."})
                continue
            try:
                parsed = parse_quick_add(when, now=now, tz=tz, date_order=date_order)
            except DomainError as exc:
                problems.append({"row": number, "problem": f"DATE {when!r}: {exc.message}"})
                continue
            if parsed.title or (parsed.due_date is None and parsed.due_at is None):
                problems.append(
                    {"row": number, "problem": f"DATE {when!r} is not a date the parser understands."}
                )
                continue
            task.due_date, task.due_at = parsed.due_date, parsed.due_at
            task.recurrence_rule = parsed.recurrence_rule or ""
        plan.tasks.append(task)
    if problems:
        raise ImportRefused(problems)
    return plan


def todoist_check_form(*, project_name: Any, size: int) -> None:
    """The checks of an upload that need neither its content nor the database."""
    if not isinstance(project_name, str) or not project_name.strip():
        raise DomainError("project_name names the new project.", field="project_name")
    if size > MAX_BYTES:
        raise DomainError(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB.", field="file")


def todoist_csv_import(
    *, user: User, project_name: str, data: bytes, progress: Progress = NO_PROGRESS
) -> dict[str, Any]:
    """Create a project from a Todoist CSV export, all or nothing. Returns what was made.

    ``progress`` hears of each item written and of the result before the one
    transaction commits (a worker's job, ``jobs.py``).
    """
    todoist_check_form(project_name=project_name, size=len(data))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DomainError("The file is not UTF-8 text.", field="file") from None
    # The export's dates are written as the user writes dates; their preference says how.
    plan = _parse(
        text, default_tz=user_timezone(user).key, now=timezone.now(), date_order=user_date_order(user)
    )
    progress.start(1 + len(plan.sections) + len(plan.tasks))
    with transaction.atomic():
        project = project_services.project_create(owner=user, name=project_name)
        progress.step()
        sections = []
        for name in plan.sections:
            sections.append(project_services.section_create(user=user, project_id=project.pk, name=name))
            progress.step()
        stack: list[Any] = []  # the last task at each indent
        created = []
        for item in plan.tasks:
            parent = stack[item.indent - 2] if item.indent > 1 else None
            description = "\n\n".join([item.description, *item.notes]).strip()
            task = services.task_create(
                owner=user,
                title=item.title,
                description=description[:5000],
                priority=item.priority,
                tags=item.tags,
                due_date=item.due_date,
                due_at=item.due_at,
                recurrence_rule=item.recurrence_rule,
                project_id=None if parent is not None or item.section is not None else project.pk,
                section_id=sections[item.section].pk if item.section is not None and parent is None else None,
                parent_id=parent.pk if parent is not None else None,
            )
            del stack[item.indent - 1 :]
            stack.append(task)
            created.append(task)
            progress.step()
        result = {
            "project_id": str(project.pk),
            "sections": len(sections),
            "tasks": len(created),
            "task_ids": [str(task.pk) for task in created],
        }
        progress.finish(result)
    return result
