"""Quick add's write: a task (and, when recurring, its series) from one line of text."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from tasks_app import services
from tasks_app.models import Task, TaskSeries
from tasks_app.quickadd.parser import parse_quick_add
from tasks_app.selectors import user_timezone
from todo_project.errors import DomainError


def task_create_from_text(*, owner: Any, text: str, now: datetime | None = None) -> Task:
    """Quick add: create exactly what ``POST /api/tasks/parse`` previews for ``text``.

    A recurring result becomes the first occurrence of a new series with the
    parsed completion mode.
    """
    now = now or timezone.now()
    zone = user_timezone(owner)
    parsed = parse_quick_add(text, now=now, tz=zone.key)
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
    with transaction.atomic():
        task = services.task_create(
            owner=owner,
            title=parsed.title,
            priority=parsed.priority or "medium",
            tags=parsed.tags,
            due_date=parsed.due_date,
            due_at=parsed.due_at,
            remind_at=remind_at,
            remind_offset_minutes=remind_offset,
            is_recurring=parsed.is_recurring,
            recurrence_rule=parsed.recurrence_rule or "",
        )
        if parsed.is_recurring:
            # task_create started the series; quick add also sets how it counts
            # (every / every!) and the reminder offsets its occurrences carry.
            series = TaskSeries.objects.select_for_update().get(pk=task.series_id)
            series.completion_mode = parsed.completion_mode
            fields = ["completion_mode", "updated_at"]
            if parsed.reminder_offsets:
                series.reminder_offsets = list(parsed.reminder_offsets)
                fields.append("reminder_offsets")
            series.save(update_fields=fields)
            task.series = series
    return task
