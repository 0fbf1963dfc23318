"""Writes of reminders: each function is one transaction and records its events.

Lock order, everywhere: the task row first, then its reminders (pk order).
The due-reminder scan locks only reminder rows (``SKIP LOCKED``) and reads
tasks without locking them, so it can never close a cycle with the services.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from reminders_app.delivery import FiredBatch, ReminderPreferences, delivery
from reminders_app.events import (
    reminder_cancelled_event,
    reminder_dismissed_event,
    reminder_scheduled_event,
    reminder_snoozed_event,
)
from reminders_app.models import (
    ALL_CHANNELS,
    MAX_REMINDERS_PER_TASK,
    RESTORABLE_REASONS,
    CancelReason,
    Reminder,
    ReminderKind,
    ReminderStatus,
)
from tasks_app.models import Priority, Task
from todo_project.bulk import fetch_bound
from todo_project.errors import ConflictError, DomainError, NotFoundError
from todo_project.events import types
from todo_project.events.services import (
    RecordedEvent,
    events_recorded,
    iso_utc_sql,
    outbox_insert_sql,
    outbox_params,
    record_events,
    users_events_lock,
)
from todo_project.faultpoints import fault_point
from todo_project.timefmt import iso_utc

PAST_MESSAGE = "Reminder time must be in the future"
# Lead time assumed for the FR-PR-005 extra reminder when the task has no
# other reminder to double (minutes).
BASE_LEAD_MINUTES = 30
# The scan drains at most this many batches per run; the next beat continues.
MAX_BATCHES_PER_SCAN = 20
MAX_SNOOZE = timedelta(days=365)


def _cancel(reminder: Reminder, reason: str, now: datetime) -> None:
    reminder.status = ReminderStatus.CANCELLED
    reminder.cancel_reason = reason
    reminder.updated_at = now
    reminder.save(update_fields=["status", "cancel_reason", "updated_at"])
    record_events([reminder_cancelled_event(reminder)])


def _arm(reminder: Reminder, task: Task, at: datetime, now: datetime) -> None:
    """(Re)schedule at ``at`` (its new base time), clearing any snooze."""
    reminder.base_at = reminder.fire_at = at
    reminder.status = ReminderStatus.PENDING
    reminder.cancel_reason = ""
    reminder.snoozed_until = None
    reminder.updated_at = now
    reminder.save(
        update_fields=["base_at", "fire_at", "status", "cancel_reason", "snoozed_until", "updated_at"]
    )
    record_events([reminder_scheduled_event(reminder, task)])


def _validate_channels(channels: list[str] | None) -> list[str] | None:
    if channels is None:
        return None
    unknown = [c for c in channels if c not in ALL_CHANNELS]
    if unknown:
        raise DomainError(
            f"Unknown channel {unknown[0]!r}; expected some of {', '.join(ALL_CHANNELS)}.", field="channels"
        )
    return [c for c in ALL_CHANNELS if c in channels]


def _lock_task(*, user_id: int, task_id: uuid.UUID | str) -> Task:
    task = Task.objects.select_for_update().filter(id=task_id, owner_id=user_id).first()
    if task is None:
        raise NotFoundError("Task not found.")
    return task


def _lock_reminder(*, user_id: int, reminder_id: uuid.UUID | str) -> tuple[Reminder, Task | None]:
    row = Reminder.objects.filter(id=reminder_id, owner_id=user_id).values_list("task_ref", flat=True).first()
    if row is None:
        raise NotFoundError("Reminder not found.")
    task = Task.objects.select_for_update().filter(id=row).first()
    reminder = Reminder.objects.select_for_update().get(id=reminder_id)
    return reminder, task


def _pending_count(task_id: uuid.UUID) -> int:
    return Reminder.objects.filter(task_ref=task_id, status=ReminderStatus.PENDING).count()


def _resolve_time(
    *, task: Task, remind_at: datetime | None, offset_minutes: int | None, now: datetime
) -> datetime:
    if (remind_at is None) == (offset_minutes is None):
        raise DomainError("Give either remind_at (a time) or offset_minutes (before the due time).")
    if offset_minutes is not None:
        if task.due_at is None:
            raise DomainError("The task has no due time (due_at) to be relative to.", field="offset_minutes")
        at = task.due_at - timedelta(minutes=offset_minutes)
        field = "offset_minutes"
    else:
        assert remind_at is not None
        at = remind_at
        field = "remind_at"
    if at <= now:
        raise DomainError(PAST_MESSAGE, field=field, code="reminder_in_past")
    return at


def reminder_create(
    *,
    user_id: int,
    task_id: uuid.UUID | str,
    remind_at: datetime | None = None,
    offset_minutes: int | None = None,
    channels: list[str] | None = None,
) -> Reminder:
    """Add a user reminder to a task: absolute (``remind_at``) or relative (``offset_minutes``)."""
    now = timezone.now()
    channels = _validate_channels(channels)
    with transaction.atomic():
        task = _lock_task(user_id=user_id, task_id=task_id)
        if task.is_completed:
            raise ConflictError("The task is completed; re-open it to add reminders.", field="task_id")
        at = _resolve_time(task=task, remind_at=remind_at, offset_minutes=offset_minutes, now=now)
        if _pending_count(task.id) >= MAX_REMINDERS_PER_TASK:
            raise DomainError(
                f"A task can have at most {MAX_REMINDERS_PER_TASK} pending reminders.",
                field="task_id",
                code="reminder_limit",
            )
        reminder = Reminder.objects.create(
            owner_id=user_id,
            task=task,
            task_ref=task.id,
            kind=ReminderKind.CUSTOM,
            offset_minutes=offset_minutes,
            base_at=at,
            fire_at=at,
            channels=channels,
        )
        record_events([reminder_scheduled_event(reminder, task)])
    return reminder


_UNSET: Any = object()


def reminder_update(
    *,
    user_id: int,
    reminder_id: uuid.UUID | str,
    remind_at: datetime | None = _UNSET,
    offset_minutes: int | None = _UNSET,
    channels: list[str] | None = _UNSET,
) -> Reminder:
    """Change a reminder's time and/or channels. A new time re-arms it (status pending)."""
    now = timezone.now()
    if channels is not _UNSET:
        channels = _validate_channels(channels)
    with transaction.atomic():
        reminder, task = _lock_reminder(user_id=user_id, reminder_id=reminder_id)
        if task is None:
            raise ConflictError("The reminder's task was deleted.")
        if reminder.status == ReminderStatus.CANCELLED:
            raise ConflictError("A cancelled reminder cannot be changed.")
        if reminder.kind != ReminderKind.CUSTOM and (remind_at is not _UNSET or offset_minutes is not _UNSET):
            raise ConflictError(
                f"This reminder follows a rule ({reminder.kind}); change the task or your preferences,"
                " or snooze it.",
            )
        fields = ["updated_at"]
        if channels is not _UNSET:
            reminder.channels = channels
            fields.append("channels")
        new_time = None
        if remind_at is not _UNSET or offset_minutes is not _UNSET:
            new_time = _resolve_time(
                task=task,
                remind_at=None if remind_at is _UNSET else remind_at,
                offset_minutes=None if offset_minutes is _UNSET else offset_minutes,
                now=now,
            )
            reminder.offset_minutes = None if offset_minutes is _UNSET else offset_minutes
            fields.append("offset_minutes")
        reminder.updated_at = now
        reminder.save(update_fields=fields)
        if new_time is not None:
            if task.is_completed:
                raise ConflictError("The task is completed; re-open it to change its reminders.")
            _arm(reminder, task, new_time, now)
    return reminder


def reminder_delete(*, user_id: int, reminder_id: uuid.UUID | str) -> Reminder:
    """Cancel a reminder for good (kept on record as cancelled by the user)."""
    now = timezone.now()
    with transaction.atomic():
        reminder, _task = _lock_reminder(user_id=user_id, reminder_id=reminder_id)
        if reminder.status == ReminderStatus.CANCELLED and reminder.cancel_reason == CancelReason.USER:
            return reminder
        _cancel(reminder, CancelReason.USER, now)
    return reminder


def reminder_snooze(
    *,
    user_id: int,
    reminder_id: uuid.UUID | str,
    minutes: int | None = None,
    until: datetime | None = None,
) -> Reminder:
    """Move a pending or triggered reminder later. The task is never changed."""
    now = timezone.now()
    if (minutes is None) == (until is None):
        raise DomainError("Give either minutes or until.")
    if minutes is not None:
        if minutes < 1:
            raise DomainError("minutes must be at least 1.", field="minutes")
        at = now + timedelta(minutes=minutes)
        field = "minutes"
    else:
        assert until is not None
        at, field = until, "until"
        if at <= now:
            raise DomainError(PAST_MESSAGE, field=field, code="reminder_in_past")
    if at - now > MAX_SNOOZE:
        raise DomainError("A reminder can be snoozed by at most 365 days.", field=field)
    with transaction.atomic():
        reminder, task = _lock_reminder(user_id=user_id, reminder_id=reminder_id)
        if task is None:
            raise ConflictError("The reminder's task was deleted.")
        if reminder.status not in (ReminderStatus.PENDING, ReminderStatus.TRIGGERED):
            raise ConflictError(f"A {reminder.status} reminder cannot be snoozed.")
        if task.is_completed:
            raise ConflictError("The task is completed; its reminders cannot be snoozed.")
        previous = reminder.fire_at
        reminder.fire_at = reminder.snoozed_until = at
        reminder.status = ReminderStatus.PENDING
        reminder.updated_at = now
        reminder.save(update_fields=["fire_at", "snoozed_until", "status", "updated_at"])
        record_events([reminder_snoozed_event(reminder, task, previous_fire_at=previous)])
    return reminder


def reminder_dismiss(*, user_id: int, reminder_id: uuid.UUID | str) -> Reminder:
    """Acknowledge a triggered reminder, or drop a pending one; it will not fire (again)."""
    now = timezone.now()
    with transaction.atomic():
        reminder, _task = _lock_reminder(user_id=user_id, reminder_id=reminder_id)
        if reminder.status == ReminderStatus.DISMISSED:
            return reminder
        if reminder.status == ReminderStatus.CANCELLED:
            raise ConflictError("A cancelled reminder cannot be dismissed.")
        reminder.status = ReminderStatus.DISMISSED
        reminder.updated_at = now
        reminder.save(update_fields=["status", "updated_at"])
        record_events([reminder_dismissed_event(reminder)])
    return reminder


# --- keeping reminders in step with their task ------------------------------


def priority_offsets(
    *, priority: str, default_minutes: int | None, boost: bool, remind_lead_minutes: int | None
) -> tuple[int | None, int | None]:
    """(default reminder offset, extra priority reminder offset), in minutes before due.

    FR-PR-005, with the spec's multipliers (high 2x, medium 1x, low 0.5x):
    - medium: the default reminder (if the user set one) at its lead time.
    - low: the default reminder at half its lead time (at least 1 minute).
    - high: the default reminder at its lead time, plus an extra reminder at
      double the lead time (lead = the default, else the task's remind_at
      lead, else 30 minutes).
    With the user's priority rules off, every priority behaves like medium.
    """
    default = default_minutes
    extra = None
    if boost and priority == Priority.LOW and default:
        default = max(1, default // 2)
    if boost and priority == Priority.HIGH:
        lead = default_minutes or remind_lead_minutes or BASE_LEAD_MINUTES
        extra = 2 * lead
    return default, extra


def _reconcile(reminder: Reminder, task: Task, desired: datetime | None, reason: str, now: datetime) -> None:
    """Bring one reminder to where the task says it should be.

    ``desired`` None = the reminder does not apply now (cancelled with ``reason``,
    restorable). A new base time re-arms it, a past one cancels it; a
    cancellation the system made is undone when its cause goes away. The
    user's own choices (cancel, dismiss) are never undone.
    """
    users_final = reminder.status == ReminderStatus.DISMISSED or (
        reminder.status == ReminderStatus.CANCELLED
        and reminder.cancel_reason in (CancelReason.USER, CancelReason.TASK_DELETED)
    )
    # A new Task.remind_at is the user asking again, so it re-arms even a
    # reminder they had dismissed or deleted.
    asked_again = (
        reminder.kind == ReminderKind.TASK_REMIND_AT and desired is not None and desired != reminder.base_at
    )
    if users_final and not asked_again:
        return
    if desired is None:
        if reminder.status == ReminderStatus.PENDING:
            _cancel(reminder, reason, now)
        return
    if desired != reminder.base_at:
        if desired > now:
            _arm(reminder, task, desired, now)
        elif reminder.status == ReminderStatus.PENDING:
            reminder.base_at = desired
            _cancel(reminder, CancelReason.TIME_PASSED, now)
        return
    if (
        reminder.status == ReminderStatus.CANCELLED
        and reminder.cancel_reason in RESTORABLE_REASONS
        and reminder.fire_at > now
    ):
        reminder.status = ReminderStatus.PENDING
        reminder.cancel_reason = ""
        reminder.updated_at = now
        reminder.save(update_fields=["status", "cancel_reason", "updated_at"])
        record_events([reminder_scheduled_event(reminder, task)])


def reminders_apply_task_state(*, task_id: uuid.UUID | str) -> None:
    """Apply a task's current state to its reminders (see ``reminders_apply_task_states``)."""
    reminders_apply_task_states(task_ids=[task_id])


def reminders_apply_task_states(*, task_ids: Iterable[uuid.UUID | str]) -> None:
    """Apply each task's current state to its reminders, in one transaction
    (idempotent; run by the task event handlers with a batch of events).

    Reads the task rows as they are now rather than the events' snapshots, so
    events handled late or twice converge on the same result. Locks the tasks,
    then their reminders (each by id), then the owners' event counters, before
    any event is recorded; the automatic reminders a batch creates go in with
    one insert and one outbox write.
    """
    now = timezone.now()
    ids = sorted({uuid.UUID(str(task_id)) for task_id in task_ids})
    with transaction.atomic():
        locked = Task.objects.select_for_update().filter(id__in=ids).order_by("id")
        tasks = {task.id: task for task in locked}
        held: dict[uuid.UUID, list[Reminder]] = {task_id: [] for task_id in ids}
        for reminder in Reminder.objects.select_for_update().filter(task_ref__in=ids).order_by("id"):
            held[reminder.task_ref].append(reminder)
        # Every owner's event lock now, in user-id order, before the first
        # event: the per-task steps below record as they go, and taking the
        # counters in task order would invert another batch's order.
        users_events_lock(
            user_ids={task.owner_id for task in tasks.values()}
            | {reminder.owner_id for reminders in held.values() for reminder in reminders}
        )
        prefs = delivery().preferences_for_users({task.owner_id for task in tasks.values()})
        created: list[tuple[Reminder, Task]] = []
        for task_id in ids:
            task = tasks.get(task_id)
            if task is None:
                for reminder in held[task_id]:
                    if reminder.status == ReminderStatus.PENDING:
                        _cancel(reminder, CancelReason.TASK_DELETED, now)
                continue
            needed = _sync_one(task, held[task_id], prefs[task.owner_id], now)
            created += [(reminder, task) for reminder in needed]
        Reminder.objects.bulk_create([reminder for reminder, _ in created])
        record_events([reminder_scheduled_event(reminder, task) for reminder, task in created])


def _sync_one(
    task: Task, reminders: list[Reminder], prefs: ReminderPreferences, now: datetime
) -> list[Reminder]:
    """Reconcile one task's reminders (saved as it goes); returns the automatic
    reminders it still needs, unsaved."""
    by_kind = {r.kind: r for r in reminders if r.kind != ReminderKind.CUSTOM}
    remind_lead = None
    if task.due_at and task.remind_at and task.remind_at < task.due_at:
        remind_lead = int((task.due_at - task.remind_at).total_seconds() // 60) or None
    default_off, extra_off = priority_offsets(
        priority=task.priority,
        default_minutes=prefs.default_reminder_minutes,
        boost=prefs.priority_boost_enabled,
        remind_lead_minutes=remind_lead,
    )
    wanted: dict[str, tuple[int | None, datetime | None, str]] = {
        ReminderKind.TASK_REMIND_AT: (None, task.remind_at, CancelReason.REMIND_AT_CLEARED),
    }
    for kind, offset in ((ReminderKind.DEFAULT, default_off), (ReminderKind.PRIORITY_BOOST, extra_off)):
        at = task.due_at - timedelta(minutes=offset) if (task.due_at and offset) else None
        wanted[kind] = (offset, at, CancelReason.NOT_APPLICABLE)

    for reminder in reminders:
        if task.is_completed:
            _reconcile(reminder, task, None, CancelReason.TASK_COMPLETED, now)
        elif reminder.kind == ReminderKind.CUSTOM:
            if reminder.is_relative:
                lead = timedelta(minutes=reminder.offset_minutes or 0)
                desired = task.due_at - lead if task.due_at else None
                _reconcile(reminder, task, desired, CancelReason.DUE_REMOVED, now)
            else:
                _reconcile(reminder, task, reminder.base_at, CancelReason.DUE_REMOVED, now)
        else:
            offset, at, reason = wanted[reminder.kind]
            if offset is not None and reminder.offset_minutes != offset:
                reminder.offset_minutes = offset
                reminder.save(update_fields=["offset_minutes"])
            _reconcile(reminder, task, at, reason, now)
    if task.is_completed:
        return []
    # Automatic reminders that do not exist yet, while the task has room.
    pending = sum(1 for reminder in reminders if reminder.status == ReminderStatus.PENDING)
    new: list[Reminder] = []
    for wanted_kind, (offset, at, _reason) in wanted.items():
        if wanted_kind in by_kind or at is None or at <= now:
            continue
        if pending + len(new) >= MAX_REMINDERS_PER_TASK:
            break
        new.append(
            Reminder(
                id=uuid.uuid4(),
                owner_id=task.owner_id,
                task=task,
                task_ref=task.id,
                kind=wanted_kind,
                offset_minutes=offset,
                base_at=at,
                fire_at=at,
            )
        )
    return new


# --- firing -----------------------------------------------------------------


# The claim: the partial pending index from its start, stopping at the first
# ``size`` due rows (the index holds pending rows only; see models.py).
_CLAIM_SQL = """
SELECT id, owner_id, task_ref, fire_at, channels, ctid::text
FROM reminders_app_reminder
WHERE status = 'pending' AND fire_at <= %(now)s::timestamptz
ORDER BY fire_at
LIMIT %(size)s::int
FOR UPDATE SKIP LOCKED
"""

_FIRE_SQL = f"""
WITH claimed AS MATERIALIZED (
    SELECT c.*, t.title, t.priority, t.due_at, t.due_date
    FROM unnest(%(ids)s::uuid[], %(task_refs)s::uuid[], %(lags)s::text[], %(channel_sets)s::int[])
        WITH ORDINALITY AS c(id, task_ref, lag, channel_set, ord)
    -- One primary-key lookup per claimed row (OFFSET 0 keeps it a lookup,
    -- never a join over the whole task table).
    CROSS JOIN LATERAL (
        SELECT title, priority, due_at, due_date FROM tasks_app_task t WHERE t.id = c.task_ref OFFSET 0
    ) t
),
fired AS (
    UPDATE reminders_app_reminder r
    SET status = %(triggered)s::text, triggered_at = %(now)s::timestamptz,
        lag = %(now)s::timestamptz - r.fire_at, attempts = r.attempts + 1,
        updated_at = %(now)s::timestamptz
    FROM claimed c
    -- The claimed row versions by their address (a TID scan, whatever the
    -- table's size); they cannot move while the claim holds their locks.
    WHERE r.ctid = ANY(%(ctids)s::tid[]) AND r.id = c.id
    RETURNING r.id, r.owner_id, r.task_ref, r.kind, r.fire_at, c.lag, c.channel_set, c.ord,
        c.title, c.priority, c.due_at, c.due_date
),
events AS (
    SELECT gen_random_uuid() AS event_id, f.owner_id::bigint AS user_id, f.ord,
        'reminders/' || f.id AS subject, f.id, f.task_ref, f.fire_at, f.lag, f.channel_set,
        f.title, f.due_at, f.due_date,
        jsonb_build_object(
            'reminder_id', f.id::text,
            'task_id', f.task_ref::text,
            'user_id', f.owner_id,
            'kind', f.kind,
            'task_title', f.title,
            'task_priority', f.priority,
            'due_at', {iso_utc_sql("f.due_at")},
            'due_date', to_char(f.due_date, 'YYYY-MM-DD'),
            'channels', (%(channel_set_values)s::jsonb) -> (f.channel_set - 1),
            'scheduled_for', {iso_utc_sql("f.fire_at")},
            'fired_at', %(fired_at)s::text,
            'lag_seconds', f.lag::numeric
        ) AS data
    FROM fired f
),
{outbox_insert_sql("events")}
SELECT id, user_id, task_ref, fire_at, title, due_at, due_date, channel_set, lag, event_id
FROM events ORDER BY ord
"""  # noqa: S608 - constant SQL fragments, no input


def _fire_batch(*, now: datetime, batch_size: int) -> int:
    """Claim up to ``batch_size`` due reminders and trigger them, in one transaction.

    ``FOR UPDATE SKIP LOCKED`` over the partial pending index: a concurrent
    scan skips the rows this one holds and, after commit, no longer sees them
    as pending, so each reminder fires once. A crash before commit leaves them
    pending for the next scan. The in-app notifications are stored in the same
    transaction; after commit the reminder.triggered events are in the outbox,
    whose dispatcher (and its sweep) create the email and webhook deliveries.

    The cost per reminder is kept out of Python: one statement marks the batch
    triggered and writes its ``reminder.triggered`` events, their data built
    by ``jsonb_build_object`` from the rows it updates (the same fields as
    ``reminder_triggered_event``); Python only sorts the claimed rows, resolves
    the channels (per owner and override) and the lag, and hands the fired
    rows to the delivery hook as columns.
    """
    with transaction.atomic():
        due = fetch_bound(_CLAIM_SQL, {"now": now, "size": batch_size})
        if not due:
            return 0
        # Events user by user (counter rows in user order, taken in one
        # statement), so two overlapping scans never take two users' counters
        # in opposite orders; each user's in fire_at order.
        due.sort(key=lambda row: (row[1], row[3]))
        states = dict(
            Task.objects.filter(id__in={row[2] for row in due}).values_list("id", "is_completed").order_by()
        )
        gone = [row for row in due if states.get(row[2], True)]
        if gone:
            # The task event handler has not caught up yet: do what it will do.
            users_events_lock(user_ids={row[1] for row in due})
            cancelled = {r.id: r for r in Reminder.objects.filter(id__in=[row[0] for row in gone])}
            for row in gone:
                reason = CancelReason.TASK_DELETED if row[2] not in states else CancelReason.TASK_COMPLETED
                _cancel(cancelled[row[0]], reason, now)
        fire = [row for row in due if states.get(row[2], True) is False]
        if fire:
            _trigger(fire, now)
        return len(due)


def _trigger(fire: list[tuple[Any, ...]], now: datetime) -> None:
    hooks = delivery()
    prefs = hooks.preferences_for_users({row[1] for row in fire})
    sets: dict[tuple[str, ...], int] = {}
    resolved: dict[tuple[int, tuple[str, ...] | None], int] = {}
    set_of_row: list[int] = []
    for row in fire:
        override = tuple(row[4]) if row[4] is not None else None
        key = (row[1], override)
        number = resolved.get(key)
        if number is None:
            channels = tuple(hooks.channels_for(prefs[row[1]], row[4]))
            number = resolved[key] = sets.setdefault(channels, len(sets) + 1)
        set_of_row.append(number)
    channel_sets = list(sets)
    # The batch's rows are found by address (and tasks by key), never by
    # reading a whole table: at 100,000 rows the planner would still prefer a
    # sequential scan to 2,000 TID fetches. For this transaction only.
    fetch_bound("SET LOCAL enable_seqscan = off", {})
    rows = fetch_bound(
        _FIRE_SQL,
        {
            "ids": [row[0] for row in fire],
            "task_refs": [row[2] for row in fire],
            "ctids": [row[5] for row in fire],
            # As reminder_triggered_event rounds it; the float's repr is
            # what json.dumps would have written.
            "lags": [repr(round((now - row[3]).total_seconds(), 3)) for row in fire],
            "channel_sets": set_of_row,
            "channel_set_values": json.dumps([list(c) for c in channel_sets]),
            "triggered": ReminderStatus.TRIGGERED.value,
            "now": now,
            "fired_at": iso_utc(now),
            **outbox_params(types.REMINDER_TRIGGERED),
        },
    )
    events_recorded(
        [row[9] for row in rows],
        [RecordedEvent(types.REMINDER_TRIGGERED, {"lag_seconds": float(row[8])}) for row in rows],
    )
    fault_point("reminders.after_fire")
    # The in-app inbox entries commit with the trigger (see _fire_batch's docstring).
    lists = [list(c) for c in channel_sets]
    hooks.store_fired(
        FiredBatch(
            reminder_ids=[row[0] for row in rows],
            user_ids=[row[1] for row in rows],
            task_ids=[row[2] for row in rows],
            occurrences=[row[3] for row in rows],
            task_titles=[row[4] for row in rows],
            due_ats=[row[5] for row in rows],
            due_dates=[row[6] for row in rows],
            channels=[lists[row[7] - 1] for row in rows],
        )
    )


def reminders_fire_due(
    *,
    now: datetime | None = None,
    batch_size: int | None = None,
    on_full_batch: Callable[[], None] | None = None,
) -> int:
    """Fire every due reminder, batch by batch. Returns how many were claimed.

    ``on_full_batch`` runs once, after the first batch came back full (more
    are due): the scan task starts its parallel claimers there.
    """
    size = batch_size or settings.REMINDER_SCAN_BATCH_SIZE
    total = 0
    for number in range(MAX_BATCHES_PER_SCAN):
        claimed = _fire_batch(now=now or timezone.now(), batch_size=size)
        total += claimed
        if claimed < size:
            break
        if number == 0 and on_full_batch is not None:
            on_full_batch()
    return total


def reminders_resync_user(*, user_id: int) -> int:
    """Sync every open task of the user due in the future (after a preference change)."""
    ids = list(
        Task.objects.filter(owner_id=user_id, is_completed=False, due_at__gt=timezone.now()).values_list(
            "id", flat=True
        )
    )
    for task_id in ids:
        reminders_apply_task_state(task_id=task_id)
    return len(ids)


def reminder_restore(
    *,
    user_id: int,
    task_id: uuid.UUID | str,
    offset_minutes: int | None,
    base_at: datetime,
    fire_at: datetime,
    status: str,
    cancel_reason: str,
    channels: list[str] | None,
    attempts: int,
    triggered_at: datetime | None,
    snoozed_until: datetime | None,
) -> Reminder:
    """Put back a user reminder that is history (triggered, dismissed, cancelled), as an import does.

    Nothing fires or changes: it is a record, like an audit entry, so no event
    is recorded. A pending reminder is made with ``reminder_create`` instead.
    """
    if status == ReminderStatus.PENDING or status not in ReminderStatus.values:
        raise DomainError("Only a triggered, dismissed or cancelled reminder is restored.", field="status")
    if cancel_reason and cancel_reason not in CancelReason.values:
        raise DomainError(f"Unknown cancel_reason {cancel_reason!r}.", field="cancel_reason")
    channels = _validate_channels(channels)
    with transaction.atomic():
        task = _lock_task(user_id=user_id, task_id=task_id)
        return Reminder.objects.create(
            owner_id=user_id,
            task=task,
            task_ref=task.id,
            kind=ReminderKind.CUSTOM,
            offset_minutes=offset_minutes,
            base_at=base_at,
            fire_at=fire_at,
            status=status,
            cancel_reason=cancel_reason,
            channels=channels,
            attempts=attempts,
            triggered_at=triggered_at,
            snoozed_until=snoozed_until,
        )
