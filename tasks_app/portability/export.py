"""Export everything a user owns, as one JSON document, or their tasks as CSV (docs/portability.md).

The task layer's items are built here; the sections of the layers above
(reminders, notification preferences, subscriptions, the audit log) come
from the hook in ``sections.py``, each under its own top-level key.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User

from tasks_app.models import Project, SavedFilter, Section, Task, TaskSeries
from tasks_app.portability import sections as export_sections
from tasks_app.projects.selectors import project_to_dict, section_to_dict
from tasks_app.recurrence.selectors import series_to_dict
from tasks_app.selectors import (
    TASK_FIELDS,
    format_datetime,
    saved_filter_to_dict,
    task_to_dict,
    user_timezone,
)
from todo_project.accounts import services as account_services
from todo_project.accounts.selectors import user_date_order
from todo_project.accounts.services import DATE_ORDERS

# The document's schema version. Sections added since (each a new top-level
# key) are additive: an importer ignores keys it does not know, and a file
# without a section imports without it, so the version stays 1.
EXPORT_FORMAT = "taskbeat-export/1"
# The order of the task list (manual order), which an import recreates.
EXPORT_TASK_ORDER = ("position", "created_at", "id")


def user_export(*, user: User, now: datetime) -> dict[str, Any]:
    """Everything the user owns: the task layer's items, each in its API
    representation, then each registered section (``sections.py``)."""
    document = {
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
            for row in Task.objects.filter(owner_id=user.pk).order_by(*EXPORT_TASK_ORDER).values(*TASK_FIELDS)
        ],
        "series": [
            series_to_dict(s, now=now)
            for s in TaskSeries.objects.filter(owner_id=user.pk).order_by("created_at")
        ],
        "saved_filters": [saved_filter_to_dict(f) for f in SavedFilter.objects.filter(owner_id=user.pk)],
    }
    for section in export_sections.sections():
        document[section.key] = section.export(user, now)
    return document


def _profile_export(user: User, now: datetime) -> dict[str, str]:
    return {"timezone": user_timezone(user).key, "date_order": user_date_order(user)}


def _profile_check(value: Any, ids: Any) -> list[export_sections.Problem]:
    if not isinstance(value, dict):
        return [("profile", "must be an object")]
    problems = []
    if not isinstance(value.get("timezone", ""), str):
        problems.append(("profile.timezone", "must be text"))
    if value.get("date_order") is not None and value.get("date_order") not in DATE_ORDERS:
        problems.append(("profile.date_order", f"must be one of {', '.join(DATE_ORDERS)}"))
    return problems


def _profile_write(context: export_sections.ImportContext, value: dict[str, Any]) -> int:
    """A fresh account takes the exported zone and date order; a merge keeps the account's own."""
    if context.merge:
        context.step()
        return 0
    fields = {name: value[name] for name in ("timezone", "date_order") if value.get(name)}
    made = context.attempt("profile", lambda: account_services.profile_update(user=context.user, **fields))
    return 0 if made is None else 1


PROFILE_SECTION = export_sections.ExportSection(
    key="profile", export=_profile_export, check=_profile_check, write=_profile_write
)


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
