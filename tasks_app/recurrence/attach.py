"""A task becomes the first occurrence of its series (in the task's own writing transaction).

Split out of ``tasks_app.recurrence.services`` so that the plain task services,
which the rest of the recurrence package builds on, can call it without an
import cycle: this module needs only the models, the rule engine and the
selectors, never ``tasks_app.services``.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from django.utils import timezone

from tasks_app.models import Task, TaskSeries
from tasks_app.recurrence.rules import RecurrenceRule, localize, parse_rule, to_local
from tasks_app.selectors import user_timezone
from todo_project.accounts.selectors import user_zone_for_id


def _owner_zone(task: Task) -> ZoneInfo:
    """The owner's zone without loading the user row when the task does not hold it
    (a task just created has only ``owner_id``): one query for the profile, not two."""
    if Task.owner.is_cached(task):
        return user_timezone(task.owner)
    return user_zone_for_id(user_id=task.owner_id)


def _occurrence_anchor(task: Task, zone_name: str) -> tuple[datetime | None, bool]:
    """The task's own scheduled instant and whether it is all-day."""
    if task.due_at is not None:
        return task.due_at, False
    if task.due_date is not None:
        zone = _owner_zone(task)
        return localize(datetime.combine(task.due_date, datetime.min.time()), zone), True
    return None, True


def _task_rule(task: Task) -> tuple[RecurrenceRule, ZoneInfo, datetime | None, bool]:
    """The task's rule as its series reads it: started at the task's due
    time, or at today's local midnight when it has none."""
    zone = _owner_zone(task)
    anchor, all_day = _occurrence_anchor(task, zone.key)
    start = anchor or localize(to_local(timezone.now(), zone).replace(hour=0, minute=0, second=0), zone)
    return parse_rule(task.recurrence_rule, dtstart=start, tz=zone.key), zone, anchor, all_day


def task_rule_validate(*, task: Task) -> None:
    """Refuse (400 naming ``recurrence_rule``) a rule its series could not run.

    Called by the task services in the writing transaction, so a bad rule is
    refused up front instead of leaving a recurring task without a series.
    """
    if task.is_recurring and task.recurrence_rule:
        _task_rule(task)


def _new_series(task: Task, *, completion_mode: str = "scheduled", lookahead_days: int = 0) -> TaskSeries:
    """Write a new series for ``task`` and make the task its first occurrence,
    without saving the task."""
    rule, zone, anchor, all_day = _task_rule(task)
    offsets: list[int] = []
    if task.remind_at is not None and task.due_at is not None and task.remind_at <= task.due_at:
        offsets = [int((task.due_at - task.remind_at).total_seconds() // 60)]
    series = TaskSeries.objects.create(
        owner_id=task.owner_id,
        rule=rule.text,
        dtstart=rule.dtstart,
        timezone=zone.key,
        all_day=all_day,
        completion_mode=completion_mode,
        lookahead_days=lookahead_days,
        title=task.title,
        description=task.description,
        priority=task.priority,
        tags=list(task.tags),
        reminder_offsets=offsets,
    )
    # The task is the first occurrence as the user scheduled it; without a due
    # it stands for the rule's first occurrence.
    task.series = series
    task.occurrence_at = anchor or rule.dtstart
    return series


def attach_series(task: Task, *, completion_mode: str = "scheduled", lookahead_days: int = 0) -> TaskSeries:
    """Make ``task`` the first occurrence of a new series (caller holds its row lock)."""
    series = _new_series(task, completion_mode=completion_mode, lookahead_days=lookahead_days)
    task.save(update_fields=["series", "occurrence_at"])
    return series


def series_start(*, task: Task) -> TaskSeries:
    """Start the series of a task being created (or made recurring) by the task services.

    Runs in the writing transaction, so the response and the
    ``task.created`` snapshot already show the series, and an unusable rule
    is a 400 naming ``recurrence_rule`` with nothing written. Sets the task's
    ``series`` and ``occurrence_at`` without saving it: the caller's own
    INSERT (or UPDATE) of the task writes them, so a new recurring task is
    one INSERT pointing at its series, not an INSERT then an UPDATE.
    """
    return _new_series(task)
