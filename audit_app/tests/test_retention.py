from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings as django_settings
from django.utils import timezone

from audit_app.models import AuditLog
from audit_app.services import audit_purge
from audit_app.tasks import audit_purge_task

pytestmark = pytest.mark.django_db


def _entries_aged(emit_task, user, days: list[int]) -> None:
    for age in days:
        with time_machine.travel(timezone.now() - timedelta(days=age, minutes=1)):
            emit_task("task.created", user)


def test_it_purges_entries_older_than_the_retention_period(emit_task, alice, settings):
    settings.AUDIT_RETENTION_DAYS = 90
    _entries_aged(emit_task, alice, [200, 91, 90, 10, 0])

    purged = audit_purge_task.delay().get()

    assert purged == 3
    remaining = sorted((timezone.now() - e.timestamp).days for e in AuditLog.objects.all())
    assert remaining == [0, 10]


def test_it_purges_in_batches_until_nothing_old_is_left(emit_task, alice):
    _entries_aged(emit_task, alice, [100] * 5 + [1])

    purged = audit_purge(older_than=timezone.now() - timedelta(days=90), batch_size=2)

    assert purged == 5
    assert AuditLog.objects.count() == 1


def test_it_is_harmless_to_purge_twice(emit_task, alice):
    _entries_aged(emit_task, alice, [100, 1])
    cutoff = timezone.now() - timedelta(days=90)

    assert audit_purge(older_than=cutoff) == 1
    assert audit_purge(older_than=cutoff) == 0
    assert AuditLog.objects.count() == 1


def test_it_is_scheduled_on_beat_with_an_expiry_within_its_period():
    entry = django_settings.CELERY_BEAT_SCHEDULE["audit-retention-purge"]

    assert entry["task"] == audit_purge_task.name
    assert entry["options"]["expires"] <= entry["schedule"].run_every.total_seconds()


def test_it_refuses_a_retention_below_the_specs_ninety_days():
    env = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "todo_project.settings",
        "DEBUG": "true",
        "DATABASE_URL": "postgres://x@localhost/x",
        "REDIS_URL": "redis://localhost",
        "AUDIT_RETENTION_DAYS": "30",
    }

    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=django_settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode != 0
    assert "AUDIT_RETENTION_DAYS must be >= 90" in result.stderr
