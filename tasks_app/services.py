"""Task and saved-filter writes. Each function is one transaction.

Every change to a task bumps its ``version`` and records the matching event
(``task.created`` / ``task.updated`` / ``task.completed`` / ``task.deleted`` /
``task.reordered``) in the outbox in the same transaction, so an event exists
exactly when its change committed.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from django.contrib.auth.models import User
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from tasks_app.events import (
    task_completed_event,
    task_created_event,
    task_deleted_event,
    task_moved_event,
    task_reordered_event,
    task_updated_event,
)
from tasks_app.models import Priority, SavedFilter, SeriesStatus, Task, TaskId, TaskSeries
from tasks_app.recurrence.attach import series_start, task_rule_validate
from tasks_app.selectors import parse_task_id, saved_filter_get, task_to_dict
from tasks_app.validation import (
    PLACEMENT_FIELDS,
    WRITABLE_FIELDS,
    Placement,
    check_client_time,
    check_field_types,
    normalize_filter_name,
    normalize_filter_params,
    normalize_tags,
    normalize_title,
    relative_remind_at,
    resolve_recurrence,
    uuid_or_none,
)
from todo_project.errors import ConflictError, DomainError, NotFoundError
from todo_project.events.services import NewEvent, record_events, user_events_lock

# --- recurrence ---------------------------------------------------------------------


def _start_series_of(task: Task) -> None:
    series_start(task=task)


def _in_active_series(task: Task) -> bool:
    series = task.series  # no query when series_id is null
    return series is not None and series.status == SeriesStatus.ACTIVE


def _validate_rule_of(task: Task) -> None:
    # The recurrence engine checks what a plain RRULE parse cannot (too
    # frequent, no occurrence, UNTIL before the start, …) against the task's
    # own start and its owner's zone.
    task_rule_validate(task=task)


# --- placement: projects, sections, subtasks (docs/projects.md) ----------------------


def _inbox_id(user_id: int) -> uuid.UUID:
    from tasks_app.projects.services import inbox_ensure

    return inbox_ensure(user_id=user_id)


def resolve_placement(
    *, user_id: int, task: Task | None, sent: Mapping[str, Any], inbox_id: uuid.UUID | None
) -> Placement:
    """Where a task goes, from the placement fields a request sent.

    A subtask lives in its parent's project and section (sending a different
    one with ``parent_id`` is a 400). Sending only ``section_id`` moves the
    task into that section's project; sending only ``project_id`` moves it to
    the top of that project (no section; a subtask leaves its parent).
    ``project_id: null`` (or a new task with no project) means the Inbox.
    """
    project_id = uuid_or_none(sent.get("project_id"), "project_id")
    section_id = uuid_or_none(sent.get("section_id"), "section_id")
    parent_id = uuid_or_none(sent.get("parent_id"), "parent_id")
    if parent_id is not None:
        parent = (
            Task.objects.filter(pk=parent_id, owner_id=user_id).values("project_id", "section_id").first()
        )
        if parent is None:
            raise DomainError("No such task of yours.", field="parent_id")
        if task is not None and parent_id == task.pk:
            raise DomainError("A task cannot be its own parent.", field="parent_id")
        if "project_id" in sent and project_id != parent["project_id"]:
            raise DomainError("A subtask lives in its parent's project.", field="parent_id")
        if "section_id" in sent and section_id != parent["section_id"]:
            raise DomainError("A subtask lives in its parent's section.", field="parent_id")
        return Placement(parent["project_id"] or inbox_id, parent["section_id"], parent_id)
    if section_id is not None:
        from tasks_app.models import Section

        section_project = Section.objects.filter(pk=section_id, owner_id=user_id).values_list(
            "project_id", flat=True
        )
        found = section_project.first()
        if found is None:
            raise DomainError("No such section of yours.", field="section_id")
        if "project_id" in sent and project_id != found:
            raise DomainError("The section belongs to another project.", field="section_id")
        return Placement(found, section_id, None)
    if "project_id" in sent or task is None:
        return Placement(project_id or inbox_id, None, None)
    # Only parent_id (null) or section_id (null) sent: stay in the project.
    keep_section = None if "section_id" in sent else task.section_id
    keep_parent = None if "parent_id" in sent else task.parent_id
    if keep_parent is not None and "section_id" in sent:
        keep_parent = None  # leaving the section leaves the parent's subtree too
    return Placement(task.project_id or inbox_id, keep_section, keep_parent)


def _lock_placement(user_id: int, placement: Placement) -> None:
    from tasks_app.projects.services import lock_placement

    lock_placement(user_id=user_id, project_id=placement.project_id, section_id=placement.section_id)


def _check_depth(*, user_id: int, task: Task, parent_id: uuid.UUID | None) -> None:
    from tasks_app.models import MAX_TASK_DEPTH
    from tasks_app.projects.selectors import task_depth, task_subtree

    if parent_id is None:
        return
    subtree = task_subtree(user_id=user_id, root_ids=[task.pk])
    if parent_id in subtree:
        raise DomainError("A task cannot be moved under one of its own subtasks.", field="parent_id")
    if task_depth(task_id=parent_id) + max(subtree.values(), default=1) > MAX_TASK_DEPTH:
        raise DomainError(f"Subtasks nest at most {MAX_TASK_DEPTH} levels deep.", field="parent_id")


def _check_new_subtask_depth(parent_id: uuid.UUID) -> None:
    from tasks_app.models import MAX_TASK_DEPTH
    from tasks_app.projects.selectors import task_depth

    if task_depth(task_id=parent_id) + 1 > MAX_TASK_DEPTH:
        raise DomainError(f"Subtasks nest at most {MAX_TASK_DEPTH} levels deep.", field="parent_id")


def move_tasks_locked(
    *,
    tasks: Sequence[Task],
    project_id: uuid.UUID | None,
    section_id: uuid.UUID | None,
    keep_parents_within: set[uuid.UUID],
) -> list[NewEvent]:
    """Move already locked tasks to a project/section; returns their ``task.moved`` events.

    A task keeps its parent when the parent is in ``keep_parents_within`` (it
    moves along), else it becomes a top-level task. Unmoved tasks are skipped.
    """
    events: list[NewEvent] = []
    changed: list[Task] = []
    now = timezone.now()
    for task in tasks:
        old = Placement(task.project_id, task.section_id, task.parent_id)
        parent = task.parent_id if task.parent_id in keep_parents_within else None
        new = Placement(project_id, section_id, parent)
        if new == old:
            continue
        task.project_id, task.section_id, task.parent_id = new
        task.version += 1
        task.updated_at = now
        changed.append(task)
        events.append(task_moved_event(task, old))
    if changed:
        Task.objects.bulk_update(changed, ["project_id", "section_id", "parent_id", "version", "updated_at"])
    return events


def _lock_task_tree(*, user: User, task_id: TaskId) -> tuple[Task, list[Task]]:
    """The caller's task and its subtasks, all row-locked in pk order (404 for anyone else's).

    The subtree is read before locking; a subtask added in between (its insert
    waits for the parent's lock, so only before it) is picked up by a re-read.
    """
    from tasks_app.projects.selectors import task_subtree

    root_pk = parse_task_id(task_id)
    ids = set(task_subtree(user_id=user.pk, root_ids=[root_pk])) | {root_pk}
    locked: dict[uuid.UUID, Task] = {}
    for _ in range(3):
        wanted = sorted(ids - set(locked))
        if not wanted:
            break
        rows = Task.objects.select_for_update().filter(owner_id=user.pk, pk__in=wanted).order_by("pk")
        locked.update({row.pk: row for row in rows})
        if root_pk not in locked:
            raise NotFoundError("Task not found.")
        ids = set(task_subtree(user_id=user.pk, root_ids=[root_pk])) | {root_pk}
    root = locked[root_pk]
    # Depth-first order (parents before their children) for the events.
    children: dict[uuid.UUID | None, list[Task]] = {}
    for row in locked.values():
        if row.pk != root_pk and row.pk in ids:
            children.setdefault(row.parent_id, []).append(row)
    ordered: list[Task] = []
    stack = [root_pk]
    while stack:
        for child in sorted(
            children.get(stack.pop(), []), key=lambda t: (t.position, t.created_at), reverse=True
        ):
            ordered.append(child)
            stack.append(child.pk)
    return root, ordered


def _complete_open_descendants(descendants: Sequence[Task], *, now: datetime) -> None:
    """Completing a parent completes its open subtasks (as Todoist does); one
    ``task.completed`` each. Skipped occurrences stay skipped."""
    open_ones = [task for task in descendants if not task.is_completed and not task.is_skipped]
    if not open_ones:
        return
    for task in open_ones:
        task.is_completed = True
        task.completed_at = now
        task.version += 1
        task.updated_at = now
    Task.objects.bulk_update(open_ones, ["is_completed", "completed_at", "version", "updated_at"])
    for task in open_ones:
        record_events([task_completed_event(task, task_to_dict(task))])


def task_move(
    *,
    user: User,
    task_id: TaskId,
    placement: Mapping[str, Any],
    expected_version: int | None = None,
) -> TaskWriteResult:
    """Move a task (and its subtasks) to a project, section or parent; records ``task.moved``."""
    if not placement:
        raise DomainError("Name project_id, section_id or parent_id.", field="project_id")
    return task_update(user=user, task_id=task_id, values=dict(placement), expected_version=expected_version)


# --- tasks ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskWriteResult:
    """The task after a write (``None`` once deleted) and how a stale write was resolved.

    ``conflict`` is ``"client_won"`` when the caller sent an older version than
    the stored one but its edit was newer (last write wins), else ``None``.
    """

    task: Task | None
    conflict: Literal["client_won"] | None = None
    overwritten_version: int | None = None


class VersionConflictError(ConflictError):
    """A stale write lost last-write-wins; carries the winning (current) task."""

    code = "version_conflict"

    def __init__(self, message: str, *, task: Task) -> None:
        super().__init__(message)
        self.task = task
        self.details = {"winner": "server", "current_version": task.version, "task": task_to_dict(task)}


def _lock_task(*, user: User, task_id: TaskId) -> Task:
    """The caller's task, row-locked until the transaction ends; 404 for anyone else's."""
    task = Task.objects.select_for_update().filter(pk=parse_task_id(task_id), owner_id=user.pk).first()
    if task is None:
        raise NotFoundError("Task not found.")
    return task


def _resolve_stale_write(
    task: Task, *, expected_version: int | None, client_updated_at: datetime | None
) -> TaskWriteResult | None:
    """Last write wins, by the client's edit time, for a write based on an old version.

    - no ``expected_version``, or it equals the stored one: the write applies;
    - stale, and ``client_updated_at`` is later than the task's ``updated_at``:
      the client's edit is the later one and applies (reported as client_won);
    - stale otherwise (older edit, or no edit time): the stored state wins and
      the write is refused with 409 carrying the current task.
    """
    if expected_version is None or expected_version == task.version:
        return None
    if client_updated_at is not None and client_updated_at > task.updated_at:
        return TaskWriteResult(task=task, conflict="client_won", overwritten_version=task.version)
    raise VersionConflictError(
        f"The task changed since version {expected_version} (now version {task.version}) "
        "and the stored change is the later one.",
        task=task,
    )


def _snapshot_changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: {"old": before[name], "new": after[name]}
        for name in after
        if name not in ("version", "updated_at") and before[name] != after[name]
    }


_NEXT_POSITIONS_SQL = """
    SELECT owner_id, (SELECT max(position) FROM tasks_app_task WHERE owner_id = owners.owner_id)
    FROM unnest(%s::bigint[]) AS owners(owner_id)
"""


def next_positions(*, owner_ids: Sequence[int]) -> dict[int, int]:
    """The position at the end of each owner's manual order.

    The caller holds the owners' ``user_events_lock`` so no concurrent create
    takes the same slot. One index descent per owner (task_owner_position_idx).
    """
    with connection.cursor() as cursor:
        cursor.execute(_NEXT_POSITIONS_SQL, [list(owner_ids)])
        return {owner_id: 0 if last is None else last + 1 for owner_id, last in cursor.fetchall()}


def task_create(
    *,
    owner: User,
    title: str,
    description: str = "",
    priority: str = Priority.MEDIUM.value,
    tags: Sequence[str] = (),
    due_date: date | None = None,
    due_at: datetime | None = None,
    remind_at: datetime | None = None,
    remind_offset_minutes: int | None = None,
    is_recurring: bool | None = None,
    recurrence_rule: str = "",
    is_completed: bool = False,
    series: TaskSeries | None = None,
    occurrence_at: datetime | None = None,
    project_id: uuid.UUID | str | None = None,
    section_id: uuid.UUID | str | None = None,
    parent_id: uuid.UUID | str | None = None,
) -> Task:
    """Create a task at the end of the owner's manual order and record ``task.created``.

    ``is_recurring`` left as ``None`` follows ``recurrence_rule``. A task
    created already completed also records ``task.completed``. A recurring
    task starts its own series, unless it is an occurrence of ``series`` at
    ``occurrence_at`` (the recurrence services generating the next one; the
    unique (series, occurrence_at) constraint refuses a duplicate).
    """
    values: dict[str, Any] = {
        "description": description or "",
        "priority": priority,
        "due_date": due_date,
        "due_at": due_at,
        "remind_at": remind_at,
        "recurrence_rule": recurrence_rule or "",
    }
    if is_recurring is not None:
        values["is_recurring"] = is_recurring
    check_field_types(values)
    remind_at = relative_remind_at(due_at, remind_offset_minutes, remind_at)
    clean_title = normalize_title(title)
    clean_tags, tag_keys = normalize_tags(list(tags))
    flag, rule = resolve_recurrence(False, "", values)
    placement_sent = {
        name: value
        for name, value in (("project_id", project_id), ("section_id", section_id), ("parent_id", parent_id))
        if value is not None
    }
    inbox_id = _inbox_id(owner.pk)
    with transaction.atomic():
        placement = resolve_placement(user_id=owner.pk, task=None, sent=placement_sent, inbox_id=inbox_id)
        if placement.parent_id is not None:
            _check_new_subtask_depth(placement.parent_id)
        _lock_placement(owner.pk, placement)
        # Serialise creates per owner so two concurrent creates do not take
        # the same "end" position, on the lock record_event takes anyway.
        user_events_lock(user_id=owner.pk)
        position = next_positions(owner_ids=[owner.pk])[owner.pk]
        now = timezone.now()
        task = Task(
            owner_id=owner.pk,
            title=clean_title,
            description=values["description"],
            priority=priority,
            tags=clean_tags,
            tag_keys=tag_keys,
            due_date=due_date,
            due_at=due_at,
            remind_at=remind_at,
            remind_offset_minutes=remind_offset_minutes,
            is_recurring=flag,
            recurrence_rule=rule,
            is_completed=is_completed,
            completed_at=now if is_completed else None,
            position=position,
            version=1,
            series=series,
            occurrence_at=occurrence_at,
            project_id=placement.project_id,
            section_id=placement.section_id,
            parent_id=placement.parent_id,
        )
        if task.is_recurring and series is None:
            if isinstance(owner, User):
                # The series reads the owner's zone: the caller's user (and
                # usually its profile) is loaded already, so no query for it.
                task.owner = owner
            # The series row first: the task's INSERT then points at it.
            _start_series_of(task)
        task.save(force_insert=True)
        record_events([task_created_event(task)])
        if is_completed:
            record_events([task_completed_event(task, task_to_dict(task))])
    return task


def _apply(task: Task, values: Mapping[str, Any], *, now: datetime) -> list[str]:
    """Set the changed fields on ``task``; returns the names of the columns written."""
    values = dict(values)
    check_field_types(values)
    if "title" in values:
        values["title"] = normalize_title(values["title"])
    if "description" in values:
        values["description"] = values["description"] or ""
    if "tags" in values:
        values["tags"], values["tag_keys"] = normalize_tags(list(values["tags"] or []))
    if "is_recurring" in values or "recurrence_rule" in values:
        values["is_recurring"], values["recurrence_rule"] = resolve_recurrence(
            task.is_recurring, task.recurrence_rule, values
        )
    if "remind_offset_minutes" in values or ("due_at" in values and task.remind_offset_minutes is not None):
        offset = values.get("remind_offset_minutes", task.remind_offset_minutes)
        if "remind_at" in values and "remind_offset_minutes" not in values:
            offset = None  # an explicit time makes the reminder absolute again
            values["remind_offset_minutes"] = None
        if offset is not None:
            due = values.get("due_at", task.due_at)
            values["remind_at"] = relative_remind_at(due, offset, None)
    elif "remind_at" in values and task.remind_offset_minutes is not None:
        values["remind_offset_minutes"] = None
    if "is_completed" in values:
        values["is_completed"] = bool(values["is_completed"])
        if values["is_completed"] != task.is_completed:
            values["completed_at"] = now if values["is_completed"] else None
    written = []
    for name, value in values.items():
        if getattr(task, name) != value:
            setattr(task, name, value)
            written.append(name)
    return written


def task_update(
    *,
    user: User,
    task_id: TaskId,
    values: Mapping[str, Any],
    expected_version: int | None = None,
    client_updated_at: datetime | None = None,
) -> TaskWriteResult:
    """Apply ``values`` (a subset of ``WRITABLE_FIELDS``) to the caller's task.

    Locks the task row. Records ``task.updated`` with only the fields that
    really changed; a change of ``is_completed`` false→true records
    ``task.completed`` instead (plus ``task.updated`` if other fields changed
    too). Nothing changed → no version bump and no event. Stale versions are
    resolved as ``_resolve_stale_write`` says.
    """
    unknown = set(values) - set(WRITABLE_FIELDS) - set(PLACEMENT_FIELDS)
    if unknown:
        raise DomainError(f"Not writable: {', '.join(sorted(unknown))}.", field=sorted(unknown)[0])
    check_client_time(client_updated_at)
    placement_sent = {name: values[name] for name in PLACEMENT_FIELDS if name in values}
    values = {name: value for name, value in values.items() if name not in PLACEMENT_FIELDS}
    # Completing a parent completes its open subtasks; moving one moves them:
    # both lock the whole subtree (in pk order) up front.
    with_tree = bool(placement_sent) or bool(values.get("is_completed"))
    inbox_id = _inbox_id(user.pk) if placement_sent else None
    with transaction.atomic():
        if with_tree:
            task, descendants = _lock_task_tree(user=user, task_id=task_id)
        else:
            task, descendants = _lock_task(user=user, task_id=task_id), []
        resolution = _resolve_stale_write(
            task, expected_version=expected_version, client_updated_at=client_updated_at
        )
        before = task_to_dict(task)
        now = timezone.now()
        placement = None
        if placement_sent:
            placement = resolve_placement(user_id=user.pk, task=task, sent=placement_sent, inbox_id=inbox_id)
            if placement == Placement(task.project_id, task.section_id, task.parent_id):
                placement = None
            else:
                _check_depth(user_id=user.pk, task=task, parent_id=placement.parent_id)
                _lock_placement(user.pk, placement)
        written = _apply(task, values, now=now)
        if placement is not None:
            moved_from = Placement(task.project_id, task.section_id, task.parent_id)
            task.project_id, task.section_id, task.parent_id = placement
            written += [name for name in ("project_id", "section_id", "parent_id") if name not in written]
        if {"recurrence_rule", "is_recurring", "due_at", "due_date"} & set(written):
            if task.is_recurring and not _in_active_series(task):
                # Recurring again (or for the first time) with no live series:
                # it starts one now, as a created recurring task does.
                written += [name for name in ("series", "occurrence_at") if name not in written]
                _start_series_of(task)
            else:
                _validate_rule_of(task)
        if written:
            task.version += 1
            task.save(update_fields=[*written, "version", "updated_at"])
            snapshot = task_to_dict(task)
            changes = _snapshot_changes(before, snapshot)
            for name in PLACEMENT_FIELDS:
                changes.pop(name, None)  # told by task.moved
            completed = "is_completed" in changes and task.is_completed
            if completed:
                changes.pop("is_completed")
                changes.pop("completed_at", None)
            if changes:
                record_events([task_updated_event(task, changes, snapshot)])
            if placement is not None:
                record_events([task_moved_event(task, moved_from)])
                if descendants:
                    record_events(
                        move_tasks_locked(
                            tasks=descendants,
                            project_id=task.project_id,
                            section_id=task.section_id,
                            keep_parents_within={task.pk, *(child.pk for child in descendants)},
                        )
                    )
            if completed:
                record_events([task_completed_event(task, snapshot)])
                _complete_open_descendants(descendants, now=now)
    if resolution is not None:
        return TaskWriteResult(
            task=task, conflict=resolution.conflict, overwritten_version=resolution.overwritten_version
        )
    return TaskWriteResult(task=task)


def task_complete(
    *,
    user: User,
    task_id: TaskId,
    expected_version: int | None = None,
    client_updated_at: datetime | None = None,
) -> TaskWriteResult:
    """Mark done (records ``task.completed``); already done → unchanged, no event."""
    return task_update(
        user=user,
        task_id=task_id,
        values={"is_completed": True},
        expected_version=expected_version,
        client_updated_at=client_updated_at,
    )


def task_reopen(
    *,
    user: User,
    task_id: TaskId,
    expected_version: int | None = None,
    client_updated_at: datetime | None = None,
) -> TaskWriteResult:
    """Mark not done (``task.updated`` with is_completed true→false); open → no event."""
    return task_update(
        user=user,
        task_id=task_id,
        values={"is_completed": False},
        expected_version=expected_version,
        client_updated_at=client_updated_at,
    )


def task_toggle(
    *,
    user: User,
    task_id: TaskId,
    expected_version: int | None = None,
    client_updated_at: datetime | None = None,
) -> TaskWriteResult:
    """Flip completion. The row is locked before reading its state, so two
    concurrent toggles flip twice rather than both completing."""
    check_client_time(client_updated_at)
    with transaction.atomic():
        task = _lock_task(user=user, task_id=task_id)
        return task_update(
            user=user,
            task_id=task.pk,
            values={"is_completed": not task.is_completed},
            expected_version=expected_version,
            client_updated_at=client_updated_at,
        )


def task_delete(
    *,
    user: User,
    task_id: TaskId,
    expected_version: int | None = None,
    client_updated_at: datetime | None = None,
) -> TaskWriteResult:
    """Delete the caller's task and its subtasks; records ``task.deleted`` for
    each (version = last version + 1), the task's first."""
    check_client_time(client_updated_at)
    with transaction.atomic():
        # Deleting a parent deletes its subtasks, all in this transaction.
        task, descendants = _lock_task_tree(user=user, task_id=task_id)
        resolution = _resolve_stale_write(
            task, expected_version=expected_version, client_updated_at=client_updated_at
        )
        events = [task_deleted_event(task), *(task_deleted_event(child) for child in descendants)]
        Task.objects.filter(pk__in=[task.pk, *(child.pk for child in descendants)]).delete()
        record_events(events)
    if resolution is not None:
        return TaskWriteResult(
            task=None, conflict="client_won", overwritten_version=resolution.overwritten_version
        )
    return TaskWriteResult(task=None)


MAX_REORDER = 1000


def task_reorder(*, user: User, task_ids: Sequence[TaskId]) -> list[str]:
    """Put the listed tasks in the given order; records ``task.reordered``.

    The listed tasks swap among the positions they already occupy, so
    reordering a subset (say, one filtered view) leaves every other task
    where it was. Rows are locked in pk order. Any id that is not one of the
    caller's tasks (or a duplicate) refuses the whole request with 400.
    Already in that order → no version bump and no event. Returns the ids as
    strings in the new order.
    """
    if not task_ids:
        raise DomainError("task_ids must list at least one task.", field="task_ids")
    if len(task_ids) > MAX_REORDER:
        raise DomainError(f"task_ids may list at most {MAX_REORDER} tasks.", field="task_ids")
    try:
        ids = [value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)) for value in task_ids]
    except ValueError:
        raise DomainError("task_ids must be task UUIDs.", field="task_ids") from None
    if len(set(ids)) != len(ids):
        raise DomainError("task_ids lists a task more than once.", field="task_ids")

    with transaction.atomic():
        locked = list(Task.objects.select_for_update().filter(owner_id=user.pk, pk__in=ids).order_by("pk"))
        if len(locked) != len(ids):
            found = {task.pk for task in locked}
            missing = [str(pk) for pk in ids if pk not in found]
            raise DomainError(
                f"Not your tasks (or no such tasks): {', '.join(missing[:5])}.", field="task_ids"
            )
        slots = sorted(task.position for task in locked)
        renumbered = len(set(slots)) != len(slots)
        if renumbered:
            # Duplicate positions (e.g. concurrent inserts elsewhere): compact the
            # owner's whole order first so every task has its own slot.
            _renumber_positions(user_id=user.pk)
            locked = list(Task.objects.filter(owner_id=user.pk, pk__in=ids).order_by("pk"))
            slots = sorted(task.position for task in locked)
        by_id = {task.pk: task for task in locked}
        changed = []
        for pk, slot in zip(ids, slots, strict=True):
            task = by_id[pk]
            if task.position != slot:
                task.position = slot
                task.version += 1
                changed.append(task)
        ordered = [str(pk) for pk in ids]
        if not changed and not renumbered:
            return ordered  # already in this order: nothing changed, nothing to tell
        if changed:
            now = timezone.now()
            for task in changed:
                task.updated_at = now
            Task.objects.bulk_update(changed, ["position", "version", "updated_at"])
        record_events([task_reordered_event(user_id=user.pk, task_ids=ordered)])
    return ordered


def _renumber_positions(*, user_id: int) -> None:
    # Lock the owner's rows in pk order first, as everywhere else, then renumber.
    list(Task.objects.select_for_update().filter(owner_id=user_id).order_by("pk").values_list("pk"))
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE tasks_app_task AS t
            SET position = o.rn - 1, version = t.version + 1, updated_at = now()
            FROM (SELECT id, row_number() OVER (ORDER BY position, created_at, id) AS rn
                  FROM tasks_app_task WHERE owner_id = %s) AS o
            WHERE t.id = o.id AND t.position <> o.rn - 1
            """,
            [user_id],
        )


# --- saved filters -------------------------------------------------------------------


def _save_filter(saved: SavedFilter, *, update_fields: list[str] | None = None) -> None:
    try:
        with transaction.atomic():
            saved.save(update_fields=update_fields)
    except IntegrityError:
        raise ConflictError(f"You already have a saved filter named {saved.name!r}.", field="name") from None


def saved_filter_create(*, owner: User, name: str, params: Any) -> SavedFilter:
    saved = SavedFilter(
        owner_id=owner.pk, name=normalize_filter_name(name), params=normalize_filter_params(params)
    )
    _save_filter(saved)
    return saved


def saved_filter_update(
    *, user: User, filter_id: int | str, name: str | None = None, params: Any = None
) -> SavedFilter:
    with transaction.atomic():
        saved = saved_filter_get(user=user, filter_id=filter_id)
        fields = []
        if name is not None:
            saved.name = normalize_filter_name(name)
            fields.append("name")
        if params is not None:
            saved.params = normalize_filter_params(params)
            fields.append("params")
        if fields:
            _save_filter(saved, update_fields=[*fields, "updated_at"])
    return saved


def saved_filter_delete(*, user: User, filter_id: int | str) -> None:
    saved_filter_get(user=user, filter_id=filter_id).delete()
