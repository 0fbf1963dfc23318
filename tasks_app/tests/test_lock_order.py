"""Lock order across writers: task rows, then the user's event counter.

These run real concurrent transactions on PostgreSQL (threads with their own
connections); a forced interleaving makes the race deterministic.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from tasks_app import services
from tasks_app.models import SeriesStatus, Task, TaskSeries
from todo_project.testing import run_in_threads

pytestmark = pytest.mark.django_db(transaction=True)


def test_creating_a_task_while_the_reminder_scan_fires_for_the_same_user_does_not_deadlock(
    alice, monkeypatch
):
    # given a due reminder of alice's, and a scan that pauses after recording its
    # events (holding her event counter) before it stores the in-app notifications
    from notifications_app import hooks as notification_hooks
    from notifications_app import services as notification_services
    from reminders_app import services as reminder_services
    from reminders_app.models import Reminder

    monkeypatch.setattr("todo_project.events.services._enqueue_dispatch", lambda ids: None)
    task = services.task_create(owner=alice, title="Pay rent", due_at=timezone.now() + timedelta(days=1))
    reminder = reminder_services.reminder_create(
        user_id=alice.pk, task_id=task.pk, remind_at=timezone.now() + timedelta(hours=1)
    )
    Reminder.objects.filter(pk=reminder.pk).update(fire_at=timezone.now() - timedelta(minutes=1))
    counter_held = threading.Event()
    store = notification_services.in_app_notifications_for_fired

    def slow_store(*, fired):
        counter_held.set()
        time.sleep(1.0)
        return store(fired=fired)

    monkeypatch.setattr(notification_hooks, "in_app_notifications_for_fired", slow_store)

    def scan():
        reminder_services.reminders_fire_due()

    def create():
        counter_held.wait(10)
        time.sleep(0.2)
        services.task_create(owner=alice, title="Another")

    # when both run at once
    _, errors = run_in_threads(scan, create, together=False)

    # then neither is chosen as a deadlock victim
    assert errors == []
    assert Task.objects.filter(owner=alice).count() == 2
    assert Reminder.objects.get(pk=reminder.pk).status == "triggered"


def test_turning_recurrence_off_and_on_again_starts_a_live_series(alice):
    # given a daily task whose series was stopped by turning recurrence off
    task = services.task_create(
        owner=alice,
        title="Water plants",
        due_at=timezone.now() + timedelta(days=1),
        recurrence_rule="FREQ=DAILY",
    )
    first_series = task.series_id
    services.task_update(user=alice, task_id=task.pk, values={"is_recurring": False})
    TaskSeries.objects.filter(pk=first_series).update(status=SeriesStatus.STOPPED)  # as its handler does

    # when it is made recurring again and then completed
    services.task_update(user=alice, task_id=task.pk, values={"recurrence_rule": "FREQ=DAILY"})
    services.task_complete(user=alice, task_id=task.pk)

    # then a new, active series generated the next occurrence
    task.refresh_from_db()
    assert task.series_id != first_series
    assert task.series.status == SeriesStatus.ACTIVE
    assert Task.objects.filter(owner=alice, series_id=task.series_id).count() == 2


def _with_stale_reminder(owner, title: str):
    """A task whose reminder must be re-armed by a sync (which records an event)."""
    from reminders_app.models import Reminder, ReminderKind

    remind_at = timezone.now() + timedelta(days=2)
    task = services.task_create(owner=owner, title=title, due_at=remind_at + timedelta(hours=1))
    Task.objects.filter(pk=task.pk).update(remind_at=remind_at)
    Reminder.objects.create(
        owner=owner,
        task=task,
        task_ref=task.id,
        kind=ReminderKind.TASK_REMIND_AT,
        base_at=remind_at - timedelta(minutes=5),
        fire_at=remind_at - timedelta(minutes=5),
    )
    return task


def test_two_reminder_sync_batches_over_the_same_users_do_not_deadlock(alice, bob, monkeypatch):
    # given two batches, each with a task of bob's and one of alice's, in opposite
    # task order; each pauses after its first task has recorded an event
    from reminders_app import services as reminder_services

    monkeypatch.setattr("todo_project.events.services._enqueue_dispatch", lambda ids: None)
    tasks = sorted(
        [_with_stale_reminder(owner, f"{owner.username} {n}") for owner in (alice, bob) for n in (1, 2)],
        key=lambda task: task.pk,
    )
    mine = {owner.pk: [task for task in tasks if task.owner_id == owner.pk] for owner in (alice, bob)}
    first_batch = [mine[alice.pk][0].pk, mine[bob.pk][1].pk]
    second_batch = [mine[bob.pk][0].pk, mine[alice.pk][1].pk]
    # Each pauses until the other has got as far, or 2 s (a batch that waits on
    # a lock before its first task never gets there).
    barrier = threading.Barrier(2, timeout=2)
    sync_one = reminder_services._sync_one
    paused = threading.local()

    def pausing_sync_one(*args, **kwargs):
        made = sync_one(*args, **kwargs)
        if not getattr(paused, "done", False):
            paused.done = True
            try:
                barrier.wait()
            except threading.BrokenBarrierError:
                pass
        return made

    monkeypatch.setattr(reminder_services, "_sync_one", pausing_sync_one)

    def first():
        reminder_services.reminders_apply_task_states(task_ids=first_batch)

    def second():
        reminder_services.reminders_apply_task_states(task_ids=second_batch)

    # when both run at once, then neither is a deadlock victim
    assert run_in_threads(first, second, together=False)[1] == []


def test_a_series_edit_and_a_reminder_batch_over_its_occurrences_do_not_deadlock(alice, monkeypatch):
    # given a look-ahead series with open occurrences, an edit "this and future"
    # from one whose pk is higher than a later one's, and a reminder batch over both
    from reminders_app import services as reminder_services
    from tasks_app.recurrence import services as recurrence_services

    monkeypatch.setattr("todo_project.events.services._enqueue_dispatch", lambda ids: None)
    first = services.task_create(
        owner=alice, title="Daily", due_at=timezone.now() + timedelta(days=1), recurrence_rule="FREQ=DAILY"
    )
    recurrence_services.series_update(
        user=alice, task_id=first.pk, scope="future", values={"lookahead_days": 7}
    )
    recurrence_services.series_repair()
    open_rows = list(
        Task.objects.filter(series=first.series_id, is_completed=False).order_by("occurrence_at")
    )
    own, later = next(
        (row, other)
        for row in open_rows
        for other in open_rows
        if other.occurrence_at > row.occurrence_at and other.pk < row.pk
    )
    series_locked = threading.Event()
    lock_series_of = recurrence_services._lock_series_of

    def pausing_lock_series_of(task):
        series = lock_series_of(task)
        series_locked.set()
        time.sleep(1.0)
        return series

    monkeypatch.setattr(recurrence_services, "_lock_series_of", pausing_lock_series_of)

    def edit():
        recurrence_services.series_update(user=alice, task_id=own.pk, scope="future", values={"title": "New"})

    def batch():
        series_locked.wait(10)
        reminder_services.reminders_apply_task_states(task_ids=[own.pk, later.pk])

    # when both run at once, then neither is a deadlock victim and the edit applied
    assert run_in_threads(edit, batch, together=False)[1] == []
    assert Task.objects.get(pk=later.pk).title == "New"
