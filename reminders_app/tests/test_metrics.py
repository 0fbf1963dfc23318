from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from prometheus_client import CollectorRegistry, generate_latest

from notifications_app.metrics import NotificationCollector
from reminders_app.metrics import ReminderCollector
from reminders_app.services import reminder_create, reminders_fire_due
from reminders_app.tests.factories import create_task

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.mark.django_db
def test_it_exposes_firing_lag_and_delivery_counts(alice, on_commit, settings):
    settings.SENDGRID_API_KEY = None
    with time_machine.travel(NOW, tick=False):
        task = create_task(alice)
        reminder_create(user_id=alice.id, task_id=task.id, remind_at=NOW + timedelta(minutes=1))
        reminder_create(user_id=alice.id, task_id=task.id, remind_at=NOW + timedelta(minutes=3))
        reminder_create(user_id=alice.id, task_id=task.id, remind_at=NOW + timedelta(hours=3))
    with time_machine.travel(NOW + timedelta(minutes=3, seconds=2), tick=False), on_commit():
        reminders_fire_due()
    with time_machine.travel(NOW + timedelta(minutes=4), tick=False):
        registry = CollectorRegistry()
        registry.register(ReminderCollector())
        registry.register(NotificationCollector())
        text = generate_latest(registry).decode()
    assert "taskbeat_reminders_pending 1.0" in text
    assert "taskbeat_reminders_overdue 0.0" in text
    assert 'taskbeat_reminder_firing_lag_seconds{quantile="1"} 122.0' in text
    assert 'taskbeat_reminder_firing_lag_seconds{quantile="0.5"} 62.0' in text
    assert 'taskbeat_notifications{channel="in_app",status="sent"} 2.0' in text
