"""The export's ``reminders`` section, and its import (registered with ``tasks_app.portability.sections``).

Exported: every reminder of a task the user still has, in the reminder API's
representation. Imported: the user's own (``kind`` ``custom``) reminders —
a pending one through ``reminder_create`` (its time, or its offset before
the due time, and its channels; one whose time has passed meanwhile comes
back cancelled as ``time_passed``, never firing late), the others as the
history they are; a snoozed one is snoozed again until the same time. The
automatic kinds (``task_remind_at``, ``default``, ``priority_boost``) are not
written: the reminder handlers derive them again from the imported tasks and
preferences, as for any new task.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import partial
from typing import Any

from django.contrib.auth.models import User
from django.utils.dateparse import parse_datetime

from reminders_app import services
from reminders_app.models import ALL_CHANNELS, CancelReason, Reminder, ReminderKind, ReminderStatus
from reminders_app.serializers import ReminderOutput
from tasks_app.models import Task
from tasks_app.portability.export import EXPORT_TASK_ORDER
from tasks_app.portability.sections import ExportSection, ImportContext, Problem

KEY = "reminders"


def reminders_export(user: User, now: datetime) -> list[dict[str, Any]]:
    # In the order of their tasks in the export's task list, so the order survives a round trip.
    tasks = Task.objects.filter(owner_id=user.pk).order_by(*EXPORT_TASK_ORDER).values_list("id", flat=True)
    rank = {task_id: index for index, task_id in enumerate(tasks)}
    rows = sorted(
        Reminder.objects.filter(owner_id=user.pk, task__isnull=False),
        key=lambda r: (
            rank.get(r.task_id, len(rank)) if r.task_id is not None else len(rank),
            r.fire_at,
            r.kind,
            r.created_at,
            str(r.id),
        ),
    )
    return [dict(ReminderOutput(reminder).data) for reminder in rows]


def _time(value: Any) -> datetime | None:
    return parse_datetime(value) if isinstance(value, str) else None


def reminders_check(value: Any, ids: Mapping[str, set[str]]) -> list[Problem]:
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        return [(KEY, "must be a list of objects")]
    problems: list[Problem] = []
    for index, item in enumerate(value):
        row = f"{KEY}[{index}]"
        if str(item.get("task_id")) not in ids["tasks"]:
            problems.append((f"{row}.task_id", "names no item of tasks in this file"))
        if item.get("kind") not in ReminderKind.values:
            problems.append((f"{row}.kind", f"must be one of {', '.join(ReminderKind.values)}"))
        if item.get("kind") != ReminderKind.CUSTOM:
            continue  # derived again from the tasks; the rest is not read
        if item.get("status") not in ReminderStatus.values:
            problems.append((f"{row}.status", f"must be one of {', '.join(ReminderStatus.values)}"))
        for name in ("scheduled_for", "fire_at"):
            if _time(item.get(name)) is None:
                problems.append((f"{row}.{name}", f"not a valid date and time: {item.get(name)!r}"))
        offset = item.get("offset_minutes")
        if offset is not None and (not isinstance(offset, int) or isinstance(offset, bool) or offset < 0):
            problems.append((f"{row}.offset_minutes", "must be a whole number of minutes, 0 or more"))
        channels = item.get("channels")
        if channels is not None and (
            not isinstance(channels, list) or not all(channel in ALL_CHANNELS for channel in channels)
        ):
            problems.append((f"{row}.channels", f"must be null or a list of {', '.join(ALL_CHANNELS)}"))
    return problems


def reminders_write(context: ImportContext, value: list[dict[str, Any]]) -> int:
    made = 0
    for index, item in enumerate(value):
        if item.get("kind") != ReminderKind.CUSTOM:
            context.step()  # the handlers make it again from the task
            continue
        if _reminder_write(context, f"{KEY}[{index}]", item) is not None:
            made += 1
    return made


def _reminder_write(context: ImportContext, row: str, item: dict[str, Any]) -> Reminder | None:
    """One user reminder as it was: pending (maybe snoozed), or history."""
    task_id = context.ids[str(item["task_id"])]
    scheduled = _time(item["scheduled_for"])
    assert scheduled is not None  # checked
    offset = item.get("offset_minutes")
    pending = item.get("status") == ReminderStatus.PENDING
    snoozed = _time(item.get("snoozed_until"))
    snoozed = snoozed if pending and snoozed is not None and snoozed > context.now else None
    if pending and scheduled > context.now:
        write: Any = partial(
            services.reminder_create,
            user_id=context.user.pk,
            task_id=task_id,
            remind_at=None if offset is not None else scheduled,
            offset_minutes=offset,
            channels=item.get("channels"),
        )
    else:
        # History; or a reminder snoozed after it fired (it fires again at snoozed_until);
        # or one whose time went by since the export (cancelled, never firing late).
        passed = pending and snoozed is None
        status = ReminderStatus.TRIGGERED if snoozed else item["status"]
        write = partial(
            services.reminder_restore,
            user_id=context.user.pk,
            task_id=task_id,
            offset_minutes=offset,
            base_at=scheduled,
            fire_at=_time(item["fire_at"]) or scheduled,
            status=ReminderStatus.CANCELLED if passed else status,
            cancel_reason=CancelReason.TIME_PASSED if passed else item.get("cancel_reason") or "",
            channels=item.get("channels"),
            attempts=int(item.get("attempts") or 0),
            triggered_at=_time(item.get("triggered_at")),
            snoozed_until=None if snoozed else _time(item.get("snoozed_until")),
        )
    reminder: Reminder | None = context.attempt(row, write)
    if reminder is not None and snoozed is not None:
        context.attempt(
            f"{row}.snoozed_until",
            partial(
                services.reminder_snooze, user_id=context.user.pk, reminder_id=reminder.pk, until=snoozed
            ),
        )
    return reminder


SECTION = ExportSection(key=KEY, export=reminders_export, check=reminders_check, write=reminders_write)
