"""The tool registry: one list of typed tools shared by the local engine, the
model engine and the MCP server.

Each tool is a thin wrapper over an existing service or selector of the task
and reminder apps, so a change made through a tool records the same events,
audit entries, socket pushes and Kafka messages as the same change made
through the REST API. Inputs are checked against the tool's JSON Schema
before anything runs; every refusal is a ``DomainError`` (rendered in the one
error shape), never an exception that escapes as a 500.

Tasks are named either by ``task_id`` or by ``task`` (words of the title,
matched fuzzily among the caller's tasks); several equally good matches raise
``AmbiguousTask`` with the candidates, so the caller can ask which one.
Destructive tools (``delete_task``) run only with ``confirm: true``;
without it they answer ``needs_confirmation`` and change nothing.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from difflib import SequenceMatcher
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Q
from django.utils import timezone
from jsonschema import Draft202012Validator

from reminders_app import services as reminder_services
from reminders_app.models import Reminder, ReminderStatus
from tasks_app import services as task_services
from tasks_app.models import Priority, Task
from tasks_app.quickadd.parser import parse_quick_add
from tasks_app.quickadd.services import task_create_from_text
from tasks_app.recurrence.selectors import task_series_info
from tasks_app.recurrence.services import occurrence_skip, series_stop
from tasks_app.selectors import (
    TaskListParams,
    task_get,
    task_list,
    task_list_page,
    task_to_dict,
    user_timezone,
)
from todo_project.accounts.selectors import user_date_order
from todo_project.errors import DomainError, NotFoundError

MAX_LIST = 50
# How many of the caller's tasks fuzzy matching looks at (most recent first).
MATCH_POOL = 500


class AmbiguousTask(DomainError):
    """Several tasks match the words given; ``details.options`` lists them."""

    code = "ambiguous"

    def __init__(self, words: str, options: list[dict[str, Any]]) -> None:
        titles = " or ".join(f"“{o['title']}”" for o in options[:4])
        super().__init__(f"Several tasks match “{words}”: {titles}. Which one?", field="task")
        self.options = options
        self.details = {"options": options}


@dataclass(frozen=True)
class ToolContext:
    user: User
    now: datetime = field(default_factory=timezone.now)


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    input_schema: dict[str, Any]
    func: Callable[[ToolContext, dict[str, Any]], dict[str, Any]]
    writes: bool = True
    destructive: bool = False

    def validator(self) -> Draft202012Validator:
        return Draft202012Validator(self.input_schema)


REGISTRY: dict[str, Tool] = {}


def tool(
    name: str, description: str, schema: dict[str, Any], *, writes: bool = True, destructive: bool = False
) -> Callable[[Callable[[ToolContext, dict[str, Any]], dict[str, Any]]], Any]:
    def register(func: Callable[[ToolContext, dict[str, Any]], dict[str, Any]]) -> Any:
        full = {"type": "object", "additionalProperties": False, **schema}
        Draft202012Validator.check_schema(full)
        REGISTRY[name] = Tool(name, description, full, func, writes=writes, destructive=destructive)
        return func

    return register


def tool_list(*, writes: bool = True) -> list[Tool]:
    """Every tool (only the read-only ones with ``writes=False``), in registry order."""
    return [t for t in REGISTRY.values() if writes or not t.writes]


def validate_arguments(t: Tool, arguments: Any) -> dict[str, Any]:
    if not isinstance(arguments, dict):
        raise DomainError("Tool arguments must be a JSON object.", field="arguments", code="validation_error")
    errors = sorted(t.validator().iter_errors(arguments), key=lambda e: list(e.path))
    if errors:
        first = errors[0]
        where = ".".join(str(p) for p in first.path) or "arguments"
        raise DomainError(f"{where}: {first.message}", field=where, code="validation_error")
    return arguments


def run_tool(name: str, arguments: Any, *, ctx: ToolContext) -> dict[str, Any]:
    """Validate and run one tool; raises ``DomainError`` (incl. 404, 409, ambiguous)."""
    t = REGISTRY.get(name)
    if t is None:
        raise DomainError(f"Unknown tool {name!r}.", field="tool", code="unknown_tool")
    return t.func(ctx, validate_arguments(t, arguments))


# --- shared pieces of the schemas ------------------------------------------------

TASK_REF = {
    "task_id": {"type": "string", "format": "uuid", "description": "The task's id."},
    "task": {
        "type": "string",
        "minLength": 1,
        "maxLength": 200,
        "description": "Words of the task's title, when the id is not known (matched fuzzily).",
    },
}
PRIORITY = {"type": "string", "enum": ["low", "medium", "high"]}
TAGS = {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 50}, "maxItems": 20}


def _task_ref_required(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "anyOf": [{"required": ["task_id"]}, {"required": ["task"]}]}


# --- task lookup -----------------------------------------------------------------

_WORD = re.compile(r"[a-z0-9]+")
_STOP = {"the", "a", "an", "my", "to", "of", "for", "with", "and", "task", "reminder", "reminders", "on"}


def _words(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if w not in _STOP]


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def match_score(query: str, title: str) -> float:
    """How well ``query`` names ``title``: 1.0 exact, else word overlap and similarity."""
    q, t = query.strip().lower(), title.strip().lower()
    if not q:
        return 0.0
    if q == t:
        return 1.0
    q_words = {_stem(w) for w in _words(q)}
    t_words = {_stem(w) for w in _words(t)}
    if not q_words:
        return 0.0
    covered = len(q_words & t_words) / len(q_words)
    # Prefix matches count too ("rep" for "report"), at a discount.
    partial = sum(
        1
        for w in q_words - t_words
        if len(w) >= 3 and any(tw.startswith(w) or w.startswith(tw) for tw in t_words)
    ) / len(q_words)
    similarity = SequenceMatcher(None, q, t).ratio()
    return min(0.99, 0.6 * covered + 0.25 * partial + 0.3 * similarity)


def _shares_a_word(q_words: set[str], title: str) -> bool:
    """Whether ``match_score`` would find word or prefix overlap (its ``covered`` or ``partial``)."""
    t_words = {_stem(w) for w in _words(title)}
    if q_words & t_words:
        return True
    return any(len(w) >= 3 and any(tw.startswith(w) or w.startswith(tw) for tw in t_words) for w in q_words)


def _candidates(user: User, *, completed: bool | None) -> list[Task]:
    qs = Task.objects.filter(owner_id=user.pk, is_skipped=False)
    if completed is not None:
        qs = qs.filter(is_completed=completed)
    return list(qs.order_by("-updated_at")[:MATCH_POOL])


def _brief(task: Task) -> dict[str, Any]:
    return {
        "task_id": str(task.pk),
        "title": task.title,
        "due_at": task_to_dict(task)["due_at"],
        "due_date": task.due_date.isoformat() if task.due_date else None,
        "is_completed": task.is_completed,
    }


def find_tasks(user: User, words: str, *, completed: bool | None = False) -> list[tuple[float, Task]]:
    """The caller's tasks that ``words`` may mean, best first (one per series)."""
    scored = []
    seen_series: set[Any] = set()
    wanted = words.strip().lower()
    q_words = {_stem(w) for w in _words(wanted)}
    for task in _candidates(user, completed=completed):
        # Without a shared word or prefix a title scores at most 0.3 (similarity
        # alone), under the bar: skip the costly similarity for it.
        if task.title.strip().lower() != wanted and not _shares_a_word(q_words, task.title):
            continue
        score = match_score(words, task.title)
        if score >= 0.45:
            scored.append((score, task))
    scored.sort(key=lambda pair: (-pair[0], pair[1].due_at or timezone.now(), str(pair[1].pk)))
    out = []
    for score, task in scored:
        if task.series_id is not None:
            if task.series_id in seen_series:
                continue
            seen_series.add(task.series_id)
        out.append((score, task))
    return out


def resolve_task(user: User, arguments: dict[str, Any], *, completed: bool | None = False) -> Task:
    """The task named by ``task_id`` (another user's is a 404) or by ``task`` words."""
    if arguments.get("task_id"):
        return task_get(user=user, task_id=arguments["task_id"])
    words = str(arguments.get("task") or "").strip()
    found = find_tasks(user, words, completed=completed)
    if not found and completed is False:
        found = find_tasks(user, words, completed=None)
    if not found:
        raise NotFoundError(f"No task matches “{words}”.", field="task")
    best = found[0][0]
    close = [task for score, task in found if best - score < 0.08]
    exact = [task for score, task in found if score == 1.0]
    if len(exact) == 1:
        return exact[0]
    if len(close) > 1:
        raise AmbiguousTask(words, [_brief(task) for task in close[:5]])
    return found[0][1]


def task_result(task: Task, *, like: dict[str, Any] | None = None, created: bool = False) -> dict[str, Any]:
    """The task as tools answer it, with its series block. ``like``: a result
    for another occurrence of the same series, whose block is reused (no
    second look-up of the same series in one answer). ``created``: the task
    was just created, so a series it has is the one it started (it is that
    series' only occurrence: no look-up of the others)."""
    data = task_to_dict(task)
    if like is not None and task.series_id is not None and "series" in like:
        if like["series"].get("id") == str(task.series_id):
            data["series"] = like["series"]
            return data
    series = task_series_info(task=task, first_occurrence=created) if task.series_id else None
    if series is not None:
        data["series"] = {
            key: series.get(key)
            for key in ("id", "summary", "status", "next_occurrence", "rule")
            if key in series
        }
    return data


# --- when phrases ------------------------------------------------------------------


def parse_when(ctx: ToolContext, phrase: str) -> tuple[date | None, datetime | None]:
    """A date or instant from a quick-add phrase ("Friday at 10am", "tomorrow", "in 2 hours")
    or ISO 8601. Raises a 400 naming ``when``."""
    phrase = phrase.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", phrase):
            return date.fromisoformat(phrase), None
        moment = datetime.fromisoformat(phrase.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=user_timezone(ctx.user))
        return None, moment
    except ValueError:
        pass
    try:
        parsed = parse_quick_add(
            f"x {phrase}", now=ctx.now, tz=user_timezone(ctx.user).key, date_order=user_date_order(ctx.user)
        )
    except DomainError as exc:
        raise DomainError(exc.message, field="when") from None
    if parsed.is_recurring:
        raise DomainError("Give one date or time, not a recurrence.", field="when")
    if parsed.due_at is None and parsed.due_date is None or parsed.title.strip() != "x":
        raise DomainError(f"“{phrase}” is not a date or time I understand.", field="when")
    return parsed.due_date, parsed.due_at


# --- the tools ---------------------------------------------------------------------


@tool(
    "create_task",
    "Create a task from one line of text in quick-add syntax: dates (tomorrow, Friday, Apr 15, "
    "in 3 days), times (at 9am), recurrences (every Monday, on the 1st of every month, every "
    "weekday at 9am), priority (!high, p1, urgent), #tags and reminders (remind me 15 minutes "
    "before). Returns the created task (and its series for a recurring one).",
    {
        "required": ["text"],
        "properties": {
            "text": {"type": "string", "minLength": 1, "maxLength": 500},
            "description": {"type": "string", "maxLength": 5000},
        },
    },
)
def _create_task(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    try:
        task = task_create_from_text(owner=ctx.user, text=args["text"], now=ctx.now)
    except DomainError as exc:
        raise DomainError(
            exc.message, field="text" if exc.field == "text" else exc.field, code=exc.code
        ) from None
    if args.get("description"):
        updated = task_services.task_update(
            user=ctx.user, task_id=task.pk, values={"description": args["description"]}
        ).task
        assert updated is not None  # only a delete leaves no task
        task = updated
    return {"task": task_result(task, created=True)}


@tool(
    "list_tasks",
    "List or search the user's tasks. 'when' narrows by due date in the user's time zone: today, "
    "tomorrow, overdue (open and past due), this_week (today to Sunday), upcoming (from now on), or "
    "all. Filter by words in the title/description (query), tags, priority, project; status defaults "
    "to open.",
    {
        "properties": {
            "when": {
                "type": "string",
                "enum": ["today", "tomorrow", "overdue", "this_week", "upcoming", "all"],
            },
            "query": {"type": "string", "maxLength": 200},
            "tags": TAGS,
            "priority": PRIORITY,
            "status": {"type": "string", "enum": ["open", "completed", "all"]},
            "project": {
                "type": "string",
                "minLength": 1,
                "maxLength": 120,
                "description": "A project's name (or 'inbox'); its subprojects are included.",
            },
            "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIST},
        }
    },
    writes=False,
)
def _list_tasks(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    zone = user_timezone(ctx.user)
    today = ctx.now.astimezone(zone).date()
    when = args.get("when", "all")
    status = {"open": "active", "completed": "completed", "all": "all"}[args.get("status", "open")]
    after: date | datetime | None = None
    before: date | datetime | None = None
    if when == "today":
        after = before = today
    elif when == "tomorrow":
        after = before = today + timedelta(days=1)
    elif when == "overdue":
        before, status = ctx.now, "active"
    elif when == "this_week":
        after, before = today, today + timedelta(days=6 - today.weekday())
    elif when == "upcoming":
        after = ctx.now
    project = _project_ref(ctx, args["project"]) if args.get("project") else ""
    params = TaskListParams(
        project=project,
        include_subprojects=bool(project),
        q=args.get("query", "").strip(),
        status=status,
        priorities=(args["priority"],) if args.get("priority") else (),
        tags=tuple(dict.fromkeys(t.lower().lstrip("#") for t in args.get("tags", []))),
        due_after=after,
        due_before=before,
        sort_by="due_at",
    )
    limit = args.get("limit", 20)
    if isinstance(after, datetime) or isinstance(before, datetime):
        # Bounded by this instant: a shape never seen again, not worth compiling once.
        rows = list(task_list(user=ctx.user, params=params)[:limit])
    else:
        # Dates only: the list page's SQL is compiled once per shape and day
        # (compiling the ORM query cost more than running it).
        rows = task_list_page(user=ctx.user, params=params, offset=0, limit=limit)
    tasks = [task_to_dict(row) for row in rows]
    if when == "overdue":
        # A date-only task due today is not overdue yet; the bound above is an instant.
        tasks = [
            t
            for t in tasks
            if t["due_at"] is not None or (t["due_date"] and t["due_date"] < today.isoformat())
        ]
    return {"when": when, "count": len(tasks), "tasks": tasks}


def _project_ref(ctx: ToolContext, name: str) -> str:
    """A project of the caller's by name ("inbox", exact, else the best fuzzy match) → its id."""
    from tasks_app.models import Project

    wanted = name.strip().lstrip("#").strip()
    projects = list(
        Project.objects.filter(owner_id=ctx.user.pk, is_archived=False).only("id", "name", "is_inbox")
    )
    if wanted.lower() == "inbox":
        return "inbox"
    exact = [p for p in projects if p.name.lower() == wanted.lower()]
    if exact:
        return str(exact[0].pk)
    scored = sorted(((match_score(wanted, p.name), p) for p in projects), key=lambda pair: -pair[0])
    if scored and scored[0][0] >= 0.5:
        return str(scored[0][1].pk)
    raise NotFoundError(f"No project matches “{wanted}”.", field="project")


@tool(
    "get_task",
    "Read one task by id or title words, with its series (for a recurring task) and pending reminders.",
    _task_ref_required({"properties": {**TASK_REF}}),
    writes=False,
)
def _get_task(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    task = resolve_task(ctx.user, args, completed=None)
    reminders = Reminder.objects.filter(owner_id=ctx.user.pk, task_ref=task.pk, status=ReminderStatus.PENDING)
    return {
        "task": task_result(task),
        "reminders": [_reminder_result(r) for r in reminders.order_by("fire_at")],
    }


@tool(
    "complete_task",
    "Mark a task done. For a recurring task this completes the current occurrence; the next one is "
    "created and the future ones stay.",
    _task_ref_required({"properties": {**TASK_REF}}),
)
def _complete_task(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    task = resolve_task(ctx.user, args, completed=False)
    done = task_services.task_complete(user=ctx.user, task_id=task.pk).task
    assert done is not None
    return {"task": task_result(done)}


@tool(
    "reopen_task",
    "Mark a completed task as not done.",
    _task_ref_required({"properties": {**TASK_REF}}),
)
def _reopen_task(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    task = resolve_task(ctx.user, args, completed=True)
    opened = task_services.task_reopen(user=ctx.user, task_id=task.pk).task
    assert opened is not None
    return {"task": task_result(opened)}


@tool(
    "reschedule_task",
    "Move a task to another date or time. 'when' is a phrase (Friday, tomorrow at 10am, in 2 days, "
    "10am) or ISO 8601; a bare time keeps the task's day. 'clear': true removes the due date.",
    _task_ref_required(
        {
            "properties": {
                **TASK_REF,
                "when": {"type": "string", "minLength": 1, "maxLength": 100},
                "clear": {"type": "boolean"},
            }
        }
    ),
)
def _reschedule_task(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    task = resolve_task(ctx.user, args, completed=False)
    if args.get("clear"):
        values: dict[str, Any] = {"due_date": None, "due_at": None}
    elif args.get("when"):
        due_date, due_at = parse_when(ctx, args["when"])
        phrase = args["when"].lower()
        zone = user_timezone(ctx.user)
        only_time = due_at is not None and not re.search(
            r"today|tomorrow|tonight|day|week|month|year|\d+[/-]\d+|"
            r"mon|tue|wed|thu|fri|sat|sun|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|in\s",
            phrase,
        )
        current_day = task.due_at.astimezone(zone).date() if task.due_at else task.due_date
        if only_time and current_day is not None and due_at is not None:
            # "move standup to 10am": the same day, at 10:00.
            local = due_at.astimezone(zone)
            due_at = datetime.combine(current_day, local.timetz().replace(tzinfo=None), tzinfo=zone)
        values = {"due_date": due_date, "due_at": due_at}
    else:
        raise DomainError("Say when: give 'when' or 'clear'.", field="when")
    updated = task_services.task_update(user=ctx.user, task_id=task.pk, values=values).task
    assert updated is not None
    return {"task": task_result(updated)}


@tool(
    "update_task",
    "Change a task's title, priority or tags (tags replaces them; add_tags / remove_tags edit them).",
    _task_ref_required(
        {
            "properties": {
                **TASK_REF,
                "title": {"type": "string", "minLength": 1, "maxLength": 255},
                "priority": PRIORITY,
                "tags": TAGS,
                "add_tags": TAGS,
                "remove_tags": TAGS,
            }
        }
    ),
)
def _update_task(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    task = resolve_task(ctx.user, args, completed=None)
    values: dict[str, Any] = {}
    if "title" in args:
        values["title"] = args["title"]
    if "priority" in args:
        values["priority"] = args["priority"]
    if "tags" in args or "add_tags" in args or "remove_tags" in args:
        tags = list(args["tags"]) if "tags" in args else list(task.tags)
        tags += [t.lstrip("#") for t in args.get("add_tags", [])]
        drop = {t.lstrip("#").lower() for t in args.get("remove_tags", [])}
        values["tags"] = [t.lstrip("#") for t in tags if t.lstrip("#").lower() not in drop]
    if not values:
        raise DomainError("Nothing to change: give title, priority or tags.", field="arguments")
    updated = task_services.task_update(user=ctx.user, task_id=task.pk, values=values).task
    assert updated is not None
    return {"task": task_result(updated)}


def _reminder_result(reminder: Reminder) -> dict[str, Any]:
    def iso(value: datetime | None) -> str | None:
        return value.isoformat().replace("+00:00", "Z") if value else None

    return {
        "id": str(reminder.pk),
        "task_id": str(reminder.task_ref),
        "kind": reminder.kind,
        "status": reminder.status,
        "fire_at": iso(reminder.fire_at),
        "offset_minutes": reminder.offset_minutes,
    }


@tool(
    "add_reminder",
    "Add a reminder to a task: 'minutes_before' its due time (15 = 15 minutes before; the task needs "
    "a due time) or 'at' a time (a phrase such as 'tomorrow at 8am', or ISO 8601).",
    _task_ref_required(
        {
            "properties": {
                **TASK_REF,
                "minutes_before": {"type": "integer", "minimum": 0, "maximum": 525600},
                "at": {"type": "string", "minLength": 1, "maxLength": 100},
            }
        }
    ),
)
def _add_reminder(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    task = resolve_task(ctx.user, args, completed=False)
    if ("minutes_before" in args) == ("at" in args):
        raise DomainError("Give either minutes_before or at.", field="minutes_before")
    if "at" in args:
        due_date, moment = parse_when(ctx, args["at"])
        if moment is None:
            raise DomainError("A reminder needs a time of day, e.g. 'tomorrow at 8am'.", field="at")
        reminder = reminder_services.reminder_create(user_id=ctx.user.pk, task_id=task.pk, remind_at=moment)
    else:
        reminder = reminder_services.reminder_create(
            user_id=ctx.user.pk, task_id=task.pk, offset_minutes=args["minutes_before"]
        )
    return {"task": task_result(task), "reminder": _reminder_result(reminder)}


def _resolve_reminder(ctx: ToolContext, args: dict[str, Any]) -> Reminder:
    if args.get("reminder_id"):
        try:
            reminder_id = uuid.UUID(args["reminder_id"])
        except ValueError:
            raise NotFoundError("Reminder not found.", field="reminder_id") from None
        reminder = Reminder.objects.filter(owner_id=ctx.user.pk, pk=reminder_id).first()
        if reminder is None:
            raise NotFoundError("Reminder not found.", field="reminder_id")
        return reminder
    if not (args.get("task_id") or args.get("task")):
        # The reminder that fired last: what "snooze that" means right after one.
        reminder = (
            Reminder.objects.filter(owner_id=ctx.user.pk, status=ReminderStatus.TRIGGERED)
            .order_by("-triggered_at")
            .first()
        )
        if reminder is None:
            raise NotFoundError("No reminder has gone off to act on.", field="reminder_id")
        return reminder
    task = resolve_task(ctx.user, args, completed=False)
    reminder = (
        Reminder.objects.filter(
            owner_id=ctx.user.pk,
            task_ref=task.pk,
            status__in=[ReminderStatus.TRIGGERED, ReminderStatus.PENDING],
        )
        # Q is an expression with desc() since Django 4.2; the stubs do not know it.
        .order_by(Q(status=ReminderStatus.TRIGGERED).desc(), "fire_at")  # type: ignore[attr-defined]
        .first()
    )
    if reminder is None:
        raise NotFoundError(f"“{task.title}” has no active reminder.", field="task")
    return reminder


REMINDER_REF = {
    **TASK_REF,
    "reminder_id": {"type": "string", "format": "uuid", "description": "The reminder's id."},
}


@tool(
    "snooze_reminder",
    "Snooze a reminder by some minutes (default 10). Name it by reminder_id, or by its task; with "
    "neither, the reminder that went off last.",
    {"properties": {**REMINDER_REF, "minutes": {"type": "integer", "minimum": 1, "maximum": 525600}}},
)
def _snooze_reminder(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    reminder = _resolve_reminder(ctx, args)
    snoozed = reminder_services.reminder_snooze(
        user_id=ctx.user.pk, reminder_id=reminder.pk, minutes=args.get("minutes", 10)
    )
    title = Task.objects.filter(pk=snoozed.task_ref).values_list("title", flat=True).first() or ""
    return {"reminder": _reminder_result(snoozed), "task_title": title}


@tool(
    "dismiss_reminder",
    "Dismiss a reminder (it will not fire again). Name it by reminder_id, or by its task; with "
    "neither, the reminder that went off last.",
    {"properties": {**REMINDER_REF}},
)
def _dismiss_reminder(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    reminder = _resolve_reminder(ctx, args)
    dismissed = reminder_services.reminder_dismiss(user_id=ctx.user.pk, reminder_id=reminder.pk)
    title = Task.objects.filter(pk=dismissed.task_ref).values_list("title", flat=True).first() or ""
    return {"reminder": _reminder_result(dismissed), "task_title": title}


@tool(
    "skip_occurrence",
    "Skip the current open occurrence of a recurring task; the next one is created.",
    _task_ref_required({"properties": {**TASK_REF}}),
)
def _skip_occurrence(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    task = resolve_task(ctx.user, args, completed=False)
    skipped, following = occurrence_skip(user=ctx.user, task_id=task.pk, now=ctx.now)
    # The next occurrence first: its series block (next occurrence, status) is
    # the one after the skip, and the skipped one shares it.
    after = task_result(following) if following else None
    return {"skipped": task_result(skipped, like=after), "next": after}


@tool(
    "stop_series",
    "Stop a recurring task: no more occurrences are created; the existing ones stay. A one-off "
    "task's pending reminders are turned off instead.",
    _task_ref_required({"properties": {**TASK_REF}}),
)
def _stop_series(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    task = resolve_task(ctx.user, args, completed=None)
    if task.series_id is None:
        cancelled = []
        for reminder in Reminder.objects.filter(
            owner_id=ctx.user.pk,
            task_ref=task.pk,
            status__in=[ReminderStatus.PENDING, ReminderStatus.TRIGGERED],
        ).order_by("fire_at"):
            cancelled.append(
                _reminder_result(
                    reminder_services.reminder_dismiss(user_id=ctx.user.pk, reminder_id=reminder.pk)
                )
            )
        return {"task": task_result(task), "series": None, "reminders_dismissed": cancelled}
    series = series_stop(user=ctx.user, series_id=task.series_id, now=ctx.now)
    # Stopping changes the series row only: the task as read stands, with the
    # series as just written (no re-read of either).
    task.series = series
    return {
        "task": task_result(task),
        "series": {"id": str(series.pk), "status": series.status, "title": series.title},
        "reminders_dismissed": [],
    }


@tool(
    "delete_task",
    "Delete a task for good. Destructive: without confirm=true it only answers what it would delete "
    "(needs_confirmation); ask the user, then call again with confirm=true.",
    _task_ref_required({"properties": {**TASK_REF, "confirm": {"type": "boolean"}}}),
    destructive=True,
)
def _delete_task(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    task = resolve_task(ctx.user, args, completed=None)
    if not args.get("confirm"):
        return {
            "needs_confirmation": True,
            "task": task_result(task),
            "prompt": f"Delete “{task.title}”? This cannot be undone.",
        }
    result = task_result(task)
    task_services.task_delete(user=ctx.user, task_id=task.pk)
    return {"deleted": True, "task": result}


PRIORITIES = tuple(Priority.values)
