"""Quick add's write: a task (and, when recurring, its series) from one line of text."""

from __future__ import annotations

import contextlib
import re
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from tasks_app import services
from tasks_app.models import Project, Task, TaskSeries
from tasks_app.quickadd.parser import parse_quick_add
from tasks_app.selectors import user_timezone
from todo_project.accounts.selectors import user_date_order
from todo_project.errors import DomainError

# "##Project" names a project (one word; "_" stands for a space: ##Home_office).
# Two hashes, so "#tag" stays a tag.
_PROJECT_RE = re.compile(r"(?:^|(?<=\s))##(?P<name>[^\s#]{1,120})")


def split_project(text: str) -> tuple[str, str | None]:
    """The text without its ``##Project`` token, and the project name it gave (the last one wins)."""
    names = [match.group("name") for match in _PROJECT_RE.finditer(text)]
    if not names:
        return text, None
    rest = re.sub(r"\s{2,}", " ", _PROJECT_RE.sub("", text)).strip()
    return rest, names[-1].replace("_", " ")


def resolve_project(*, user: User, name: str) -> Project:
    """The user's active project with this name, case-insensitively; 400 on ``text`` if none."""
    project = (
        Project.objects.filter(owner_id=user.pk, is_archived=False, name__iexact=name)
        .order_by("position", "created_at")
        .first()
    )
    if project is None:
        raise DomainError(f"You have no project named {name!r}.", field="text")
    return project


def quick_add_preview(*, user: User, text: str, now: datetime | None = None) -> dict[str, Any]:
    """What ``POST /api/tasks/parse`` shows: the parse, plus the project ``##Name`` names."""
    rest, project_name = split_project(text)
    project = resolve_project(user=user, name=project_name) if project_name else None
    result = parse_quick_add(
        rest, now=now or timezone.now(), tz=user_timezone(user).key, date_order=user_date_order(user)
    ).as_dict()
    result["project"] = {"id": str(project.pk), "name": project.name} if project else None
    return result


def task_create_from_text(*, owner: User, text: str, now: datetime | None = None) -> Task:
    """Quick add: create exactly what ``POST /api/tasks/parse`` previews for ``text``.

    A recurring result becomes the first occurrence of a new series with the
    parsed completion mode.
    """
    now = now or timezone.now()
    zone = user_timezone(owner)
    text, project_name = split_project(text)
    project = resolve_project(user=owner, name=project_name) if project_name else None
    parsed = parse_quick_add(text, now=now, tz=zone.key, date_order=user_date_order(owner))
    if not parsed.title:
        raise DomainError(
            "The text has no title left once the date, tags and so on are taken out.", field="text"
        )
    remind_at = None
    remind_offset = None
    if parsed.reminder_times:
        remind_at = min(parsed.reminder_times)
    elif parsed.reminder_offsets and parsed.due_at is not None:
        # "remind me 15 minutes before" stays relative: remind_at follows due_at.
        remind_offset = max(parsed.reminder_offsets)
    # The series fix-up below must commit with the task; without one,
    # task_create's own transaction is enough (no savepoint of ours inside a
    # caller's transaction, such as a chat turn's).
    fix_series = parsed.is_recurring and (
        parsed.completion_mode != "scheduled" or bool(parsed.reminder_offsets)
    )
    with transaction.atomic() if fix_series else contextlib.nullcontext():
        task = services.task_create(
            owner=owner,
            title=parsed.title,
            priority=parsed.priority or "medium",
            tags=parsed.tags,
            due_date=parsed.due_date,
            due_at=parsed.due_at,
            remind_at=remind_at,
            remind_offset_minutes=remind_offset,
            project_id=project.pk if project is not None else None,
            is_recurring=parsed.is_recurring,
            recurrence_rule=parsed.recurrence_rule or "",
        )
        if fix_series:
            # task_create started the series (counted as scheduled, the
            # default); quick add also sets how it counts for "every!" and
            # the reminder offsets its occurrences carry. Without either the
            # series is already right: no second read and write.
            assert task.series_id is not None  # task_create started the series
            series = TaskSeries.objects.select_for_update().get(pk=task.series_id)
            series.completion_mode = parsed.completion_mode
            fields = ["completion_mode", "updated_at"]
            if parsed.reminder_offsets:
                series.reminder_offsets = list(parsed.reminder_offsets)
                fields.append("reminder_offsets")
            series.save(update_fields=fields)
            task.series = series
    return task
