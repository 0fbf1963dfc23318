"""Beat under faults: two beats at once over a burst of due reminders; beat down through a due window.

Reminders are claimed from PostgreSQL with SKIP LOCKED, so a doubled scan
fires nothing twice, and a missed scan is caught up by the next one (late,
with its lag recorded).
"""

from __future__ import annotations

import os
import time

import pytest

from faults.checker import check
from faults.harness import wait_until
from faults.load import fired_reminders, in_app_notifications, reminders_due

KAFKA = False
pytestmark = [pytest.mark.faults, pytest.mark.slow]

# CI-sized by default; FAULTS_LONG=1 runs the 500.
DUE = 500 if os.environ.get("FAULTS_LONG") else 100


@pytest.fixture(scope="module")
def running(cluster):
    cluster.start("web", "worker")
    return cluster


def _fires_once(cluster, users, expected) -> None:
    ids = [u.id for u in users]
    wait_until(
        lambda: set(fired_reminders(cluster, ids).values()) == {"triggered"},
        timeout=120,
        what="every reminder triggered",
    )
    wait_until(
        lambda: len(in_app_notifications(cluster, ids)) >= sum(map(len, expected.values())),
        timeout=60,
        what="every in-app notification",
    )
    report = check(expected, in_app_notifications(cluster, ids), ordered=False)
    assert (report.lost, report.duplicated, report.unexpected) == (0, 0, 0), str(report)
    triggered_events = cluster.postgres.query(
        "SELECT data->>'reminder_id', count(*) FROM events_outboxevent "
        "WHERE type = 'reminder.triggered' AND user_id = ANY(%s) GROUP BY 1",
        [ids],
    )
    assert len(triggered_events) == sum(map(len, expected.values()))
    assert all(count == 1 for _, count in triggered_events), "a reminder.triggered event twice"


def test_two_beats_at_once_fire_every_reminder_once(running):
    cluster = running
    users = [cluster.new_user("bt") for _ in range(10)]
    expected = reminders_due(cluster, users, per_user=DUE // 10)
    cluster.start("beat", "beat2")
    try:
        _fires_once(cluster, users, expected)
    finally:
        cluster.kill("beat", "beat2")


def test_beat_down_through_the_due_window_fires_each_once_late_with_its_lag(running):
    cluster = running
    users = [cluster.new_user("bd") for _ in range(4)]
    expected = reminders_due(cluster, users, per_user=5, due_in=3)
    due_passed = time.monotonic() + 3
    wait_until(lambda: time.monotonic() > due_passed + 5, timeout=20, what="the due window to pass")
    assert set(fired_reminders(cluster, [u.id for u in users]).values()) == {"pending"}
    cluster.start("beat")
    try:
        _fires_once(cluster, users, expected)
        lags = [
            lag.total_seconds()
            for (lag,) in cluster.postgres.query(
                "SELECT lag FROM reminders_app_reminder WHERE owner_id = ANY(%s)", [[u.id for u in users]]
            )
        ]
        assert min(lags) >= 5, f"the lag of a late reminder is not recorded: {lags}"
    finally:
        cluster.kill("beat")
