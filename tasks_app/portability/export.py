"""Export what a user owns in the task layer, as one JSON document or a task CSV (docs/portability.md)."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User

from tasks_app.models import Project, SavedFilter, Section, Task, TaskSeries
from tasks_app.projects.selectors import project_to_dict, section_to_dict
from tasks_app.recurrence.selectors import series_to_dict
from tasks_app.selectors import (
    TASK_FIELDS,
    format_datetime,
    saved_filter_to_dict,
    task_to_dict,
    user_timezone,
)
from todo_project.accounts.selectors import user_date_order

EXPORT_FORMAT = "taskbeat-export/1"


def user_export(*, user: User, now: datetime) -> dict[str, Any]:
    """Projects, sections, tasks, series and saved filters, each in its API representation.

    Reminders, notification preferences and the audit log belong to the layers
    above this one and are exported by their own endpoints
    (``GET /api/reminders``, ``GET /api/notifications/preferences``,
    ``GET /api/audit/export``).
    """
    return {
        "format": EXPORT_FORMAT,
        "exported_at": format_datetime(now),
        "user": {
            "id": user.pk,
            "username": user.get_username(),
            "timezone": user_timezone(user).key,
            "date_order": user_date_order(user),
        },
        "projects": [
            project_to_dict(p)
            for p in Project.objects.filter(owner_id=user.pk).order_by("position", "created_at")
        ],
        "sections": [
            section_to_dict(s)
            for s in Section.objects.filter(owner_id=user.pk).order_by("project_id", "position")
        ],
        "tasks": [
            task_to_dict(row)
            for row in Task.objects.filter(owner_id=user.pk)
            .order_by("position", "created_at", "id")
            .values(*TASK_FIELDS)
        ],
        "series": [
            series_to_dict(s, now=now)
            for s in TaskSeries.objects.filter(owner_id=user.pk).order_by("created_at")
        ],
        "saved_filters": [saved_filter_to_dict(f) for f in SavedFilter.objects.filter(owner_id=user.pk)],
    }


def tasks_csv(*, user: User) -> str:
    """Every task as a CSV row, the task representation's fields as columns (tags joined by commas)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(TASK_FIELDS)
    rows = Task.objects.filter(owner_id=user.pk).order_by("position", "created_at", "id").values(*TASK_FIELDS)
    for row in rows.iterator(chunk_size=2000):
        task = task_to_dict(row)
        task["tags"] = ",".join(task["tags"])
        writer.writerow(["" if task[name] is None else task[name] for name in TASK_FIELDS])
    return out.getvalue()
