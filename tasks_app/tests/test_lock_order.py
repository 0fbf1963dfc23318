"""Lock order across writers: task rows, then the user's event counter.

These run real concurrent transactions on PostgreSQL (threads with their own
connections); a forced interleaving makes the race deterministic.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from tasks_app import services
from tasks_app.models import SeriesStatus, Task, TaskSeries

pytestmark = pytest.mark.django_db(transaction=True)


def _run_together(*targets) -> list[tuple[str, str]]:
    errors: list[tuple[str, str]] = []

    def wrap(target):
        def run():
            try:
                target()
            except BaseException as exc:  # noqa: BLE001 - reported to the test
                errors.append((target.__name__, repr(exc)[:300]))
            finally:
                connection.close()

        return run

    threads = [threading.Thread(target=wrap(target)) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return errors


def test_creating_a_task_while_the_reminder_scan_fires_for_the_same_user_does_not_deadlock(
    alice, monkeypatch
):
    # given a due reminder of alice's, and a scan that pauses after recording its
    # events (holding her event counter) before it stores the in-app notifications
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

    monkeypatch.setattr(reminder_services, "in_app_notifications_for_fired", slow_store)

    def scan():
        reminder_services.reminders_fire_due()

    def create():
        counter_held.wait(10)
        time.sleep(0.2)
        services.task_create(owner=alice, title="Another")

    # when both run at once
    errors = _run_together(scan, create)

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
