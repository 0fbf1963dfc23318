"""The due-reminder scan: exactly once, with lag, surviving concurrent scanners and crashes."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from django.db import connection

from notifications_app.models import Notification
from reminders_app.models import Reminder, ReminderStatus
from reminders_app.services import reminder_create, reminders_fire_due
from reminders_app.tests.factories import create_task, events_of
from tasks_app.models import Task
from todo_project.testing import database_url, run_in_threads

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
BASE_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _no_email(settings):
    settings.SENDGRID_API_KEY = None


@pytest.mark.django_db
def test_it_fires_a_due_reminder_once_and_records_its_lag(alice, on_commit):
    with time_machine.travel(NOW, tick=False):
        task = create_task(alice, title="Pay rent", priority="high", due_at=NOW + timedelta(hours=1))
        reminder = reminder_create(user_id=alice.id, task_id=task.id, remind_at=NOW + timedelta(minutes=5))
    with time_machine.travel(NOW + timedelta(minutes=5, seconds=3), tick=False), on_commit():
        fired = reminders_fire_due()
        again = reminders_fire_due()

    reminder.refresh_from_db()
    assert (fired, again) == (1, 0)
    assert reminder.status == ReminderStatus.TRIGGERED
    assert reminder.lag == timedelta(seconds=3)
    assert reminder.attempts == 1
    [event] = events_of("reminder.triggered")
    assert event["reminder_id"] == str(reminder.id)
    assert event["task_title"] == "Pay rent"
    assert event["task_priority"] == "high"
    assert event["due_at"] == "2026-03-02T11:00:00Z"
    assert event["channels"] == ["in_app"]
    assert event["lag_seconds"] == 3.0
    assert Notification.objects.filter(reminder=reminder, channel="in_app").count() == 1


@pytest.mark.django_db
def test_it_does_not_fire_future_cancelled_or_dismissed_reminders(alice):
    with time_machine.travel(NOW, tick=False):
        task = create_task(alice)
        future = reminder_create(user_id=alice.id, task_id=task.id, remind_at=NOW + timedelta(hours=2))
        cancelled = reminder_create(user_id=alice.id, task_id=task.id, remind_at=NOW + timedelta(minutes=1))
        dismissed = reminder_create(user_id=alice.id, task_id=task.id, remind_at=NOW + timedelta(minutes=1))
    Reminder.objects.filter(id=cancelled.id).update(status=ReminderStatus.CANCELLED)
    Reminder.objects.filter(id=dismissed.id).update(status=ReminderStatus.DISMISSED)
    with time_machine.travel(NOW + timedelta(minutes=30), tick=False):
        assert reminders_fire_due() == 0
    future.refresh_from_db()
    assert future.status == ReminderStatus.PENDING
    assert events_of("reminder.triggered") == []


@pytest.mark.django_db
def test_it_cancels_rather_than_fires_when_the_task_was_completed_before_its_event_was_handled(alice):
    with time_machine.travel(NOW, tick=False):
        task = create_task(alice)
        reminder = reminder_create(user_id=alice.id, task_id=task.id, remind_at=NOW + timedelta(minutes=1))
    Task.objects.filter(id=task.id).update(is_completed=True, completed_at=NOW)
    with time_machine.travel(NOW + timedelta(minutes=2), tick=False):
        reminders_fire_due()
    reminder.refresh_from_db()
    assert (reminder.status, reminder.cancel_reason) == ("cancelled", "task_completed")
    assert events_of("reminder.triggered") == []


@pytest.mark.slow  # 300 reminders through two real scanners: ~8 s on the idle machine
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_scanners_fire_every_reminder_exactly_once(alice):
    # given 300 due reminders
    task = Task.objects.create(owner=alice, title="Stand-up")
    past = datetime.now(UTC) - timedelta(seconds=10)
    Reminder.objects.bulk_create(
        Reminder(
            owner=alice, task=task, task_ref=task.id, base_at=past, fire_at=past + timedelta(microseconds=i)
        )
        for i in range(300)
    )
    # when two scanners run at once, in small batches so they interleave
    results, errors = run_in_threads(*[lambda: reminders_fire_due(batch_size=10)] * 2)

    # then every reminder fired once: one event and one in-app notification each
    assert errors == []
    assert sum(results) == 300
    triggered = events_of("reminder.triggered")
    assert len(triggered) == 300
    assert len({e["reminder_id"] for e in triggered}) == 300
    assert Reminder.objects.filter(status=ReminderStatus.TRIGGERED).count() == 300
    assert Notification.objects.filter(channel="in_app").count() == 300


@pytest.mark.django_db(transaction=True)
def test_a_scanner_killed_after_claiming_loses_nothing_and_delivers_once_after_restart(alice, settings):
    from notifications_app.models import NotificationPreference
    from notifications_app.services import notifications_sweep
    from notifications_app.tests.servers import serve
    from todo_project.events.dispatcher import dispatch_sweep

    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    with serve("webhook") as receiver:
        # given a due reminder of a user with a webhook
        NotificationPreference.objects.create(
            user=alice, webhook_enabled=True, webhook_url=receiver.url, webhook_secret="whsec_" + "A" * 32
        )
        task = Task.objects.create(owner=alice, title="Water plants")
        past = datetime.now(UTC) - timedelta(seconds=5)
        reminder = Reminder.objects.create(
            owner=alice, task=task, task_ref=task.id, base_at=past, fire_at=past
        )

        # when a scanner process dies right after its transaction committed,
        # before anything was handed to the broker
        db = connection.settings_dict
        env = {
            **os.environ,
            "DATABASE_URL": database_url(db),
            "DEBUG": "true",
        }
        script = (
            "import os, django; django.setup()\n"
            "import todo_project.events.services as events\n"
            "events._enqueue_dispatch = lambda event_id: os._exit(3)\n"
            "from reminders_app.services import reminders_fire_due\n"
            "reminders_fire_due()\n"
        )
        killed = subprocess.run(
            [sys.executable, "-c", script], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120
        )
        assert killed.returncode == 3, killed.stderr

        # then the claim and its in-app entry are durable; the webhook is not sent yet
        reminder.refresh_from_db()
        assert reminder.status == ReminderStatus.TRIGGERED
        assert list(Notification.objects.values_list("channel", flat=True)) == ["in_app"]
        assert receiver.requests == []

        # when the beat sweeps run after the restart (twice, as a doubled beat would)
        with time_machine.travel(datetime.now(UTC) + timedelta(minutes=1)):
            dispatch_sweep()
            dispatch_sweep()
            notifications_sweep()
            assert reminders_fire_due() == 0

        # then the reminder was delivered exactly once on each channel
        assert sorted(Notification.objects.filter(reminder=reminder).values_list("channel", "status")) == [
            ("in_app", "sent"),
            ("webhook", "sent"),
        ]
        assert len(receiver.requests) == 1
        assert len(events_of("reminder.triggered")) == 1
        assert len(events_of("notification.created")) == 1


@pytest.mark.django_db
def test_the_scan_reads_the_partial_pending_index(alice):
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(
            "EXPLAIN SELECT id FROM reminders_app_reminder WHERE status = 'pending' AND fire_at <= now()"
            " ORDER BY fire_at LIMIT 500 FOR UPDATE SKIP LOCKED"
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "reminder_pending_fire_idx" in plan


@pytest.mark.django_db
def test_the_scan_writes_the_events_the_python_builders_would(alice, bob):
    # given due reminders of two users: timed, date-only and undated tasks, a
    # channel override, and fire times with and without microseconds
    from notifications_app.events import notification_created_event
    from notifications_app.selectors import enabled_channels, preferences_get
    from reminders_app.events import reminder_triggered_event
    from todo_project.events.models import OutboxEvent
    from todo_project.events.services import _jsonable
    from todo_project.events.validation import event_errors

    with time_machine.travel(NOW, tick=False):
        timed = create_task(alice, title='Pay "rent" — ü', priority="high", due_at=NOW + timedelta(hours=1))
        dated = create_task(bob, title="File taxes", due_date=(NOW + timedelta(days=2)).date())
        undated = create_task(alice, title="Someday")
        made = [
            reminder_create(user_id=alice.id, task_id=timed.id, remind_at=NOW + timedelta(minutes=5)),
            reminder_create(
                user_id=alice.id,
                task_id=undated.id,
                remind_at=NOW + timedelta(minutes=5, microseconds=250),
                channels=["in_app", "webhook"],
            ),
            reminder_create(
                user_id=bob.id, task_id=dated.id, remind_at=NOW + timedelta(minutes=4, seconds=1)
            ),
        ]
    before = {user: OutboxEvent.objects.filter(user_id=user).count() for user in (alice.id, bob.id)}
    now = NOW + timedelta(minutes=5, seconds=2, microseconds=123456)

    # when the scan fires them
    assert reminders_fire_due(now=now) == 3

    # then each event's data is what the Python builders make of the same rows
    tasks = {t.id: t for t in Task.objects.all()}
    for reminder in made:
        reminder.refresh_from_db()
        task = tasks[reminder.task_ref]
        channels = enabled_channels(preferences_get(user_id=reminder.owner_id), reminder.channels)
        expected = reminder_triggered_event(reminder, task, channels=channels, now=now)
        event = OutboxEvent.objects.get(type="reminder.triggered", subject=expected.subject)
        assert event.data == _jsonable(expected.data)
        assert event_errors(event.type, event.data) == []
        assert event.source.endswith("/reminders")
        notification = Notification.objects.get(reminder=reminder, channel="in_app")
        created = notification_created_event(notification)
        stored = OutboxEvent.objects.get(type="notification.created", subject=created.subject)
        assert stored.data == _jsonable(created.data)
        assert event_errors(stored.type, stored.data) == []
    assert (
        Notification.objects.get(reminder=made[0]).body == 'Pay "rent" — ü — due Mon 02 Mar 2026, 12:00 CET.'
    )
    assert Notification.objects.get(reminder=made[2]).body == "File taxes — due 2026-03-04."
    # and each user's numbers run on without a gap: the triggered events in
    # fire_at order, then their notifications in the same order
    for user, subjects in ((alice.id, [made[0], made[1]]), (bob.id, [made[2]])):
        rows = list(
            OutboxEvent.objects.filter(user_id=user).order_by("seq").values_list("seq", "type", "data")
        )
        assert [seq for seq, _, _ in rows] == list(range(1, len(rows) + 1))
        new = rows[before[user] :]
        assert [(t, d["reminder_id"]) for _, t, d in new] == [
            ("reminder.triggered", str(r.id)) for r in subjects
        ] + [("notification.created", str(r.id)) for r in subjects]


@pytest.mark.django_db
def test_a_scan_that_finds_a_full_batch_starts_its_parallel_claimers(alice, settings, monkeypatch):
    # given three due reminders, batches of one and three claimers per scan
    from reminders_app import tasks

    settings.REMINDER_SCAN_BATCH_SIZE = 1
    settings.REMINDER_SCAN_CLAIMERS = 3
    with time_machine.travel(NOW, tick=False):
        task = create_task(alice)
        for minutes in (1, 2, 3):
            reminder_create(user_id=alice.id, task_id=task.id, remind_at=NOW + timedelta(minutes=minutes))
    started = []
    monkeypatch.setattr(tasks.reminders_scan_task, "apply_async", lambda **kw: started.append(kw["kwargs"]))

    # when the beat's scan runs, and then a helper
    with time_machine.travel(NOW + timedelta(minutes=5), tick=False):
        fired = tasks.reminders_scan_task()
        assert tasks.reminders_scan_task(helper=True) == 0

    # then it fired them all and started two helpers, which start no one
    assert fired == 3
    assert started == [{"helper": True}, {"helper": True}]
