"""DST transitions in a daily series (the gap and the fold) while the reminder scan runs.

Contract (docs/recurrence.md "How rules are evaluated"): a daily 02:30
Europe/Berlin series moves forward by the gap on the spring-forward day
(03:30 CEST, 28 March 2027) and is back at 02:30 the day after; on the
autumn day (31 October 2027) the ambiguous 02:30 is the first one (CEST).
Each occurrence's reminder fires once, at that instant, never early.

The worker and beat live through those moments for real: started under
``faults/clock.py`` with their clocks shifted to ~20 s before the
occurrence (both by the same offset), with the web process on the real
clock. The completion that makes the next occurrence is dispatched by the
shifted worker, so "now" in the generator is the occurrence's day too.
``FAULTS_LONG=1`` also lets the shifted processes live through the *second*
02:30 of the fold, where nothing may fire again.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from faults.harness import PYTHON, Proc, wait_until

KAFKA = False
pytestmark = [pytest.mark.faults, pytest.mark.slow]
BERLIN = ZoneInfo("Europe/Berlin")
LEAD_SECONDS = 20  # the shifted clocks start this long before the moment


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _local(moment: datetime) -> str:
    return moment.astimezone(BERLIN).strftime("%Y-%m-%d %H:%M %Z")


def _shifted(cluster, moment: datetime) -> None:
    """(Re)start worker and beat with their clocks LEAD_SECONDS before ``moment``."""
    for name in ("shifted_worker", "shifted_beat"):
        if name in cluster.procs:
            cluster.procs[name].kill()
    offset = (moment - datetime.now(UTC)).total_seconds() - LEAD_SECONDS
    clock = [PYTHON, "-m", "faults.clock", f"{offset:.3f}", "-m", "celery", "-A", "todo_project"]
    env = cluster.env()
    worker = Proc(
        "shifted_worker",
        [*clock, "worker", "--concurrency", "2", "--loglevel", "INFO", "--without-gossip", "--without-mingle",
         "-n", f"shifted{int(offset)}@%h"],
        env, cluster.workdir / "shifted_worker.log",
    )  # fmt: skip
    worker.ready = lambda: " ready." in worker.output_since_start()
    schedule = cluster.workdir / "data" / f"beat-{int(offset)}"
    beat = Proc("shifted_beat", [*clock, "beat", "--loglevel", "INFO", "-s", str(schedule)], env,
                cluster.workdir / "shifted_beat.log")  # fmt: skip
    cluster.procs["shifted_worker"], cluster.procs["shifted_beat"] = worker, beat
    worker.start()
    beat.start()


def _occurrences(cluster, series_id: str) -> list[tuple[str, datetime, bool]]:
    return [
        (task_id, due_at, done)
        for task_id, due_at, done in cluster.postgres.query(
            "SELECT id::text, due_at, is_completed FROM tasks_app_task WHERE series_id = %s ORDER BY due_at",
            [series_id],
        )
    ]


def _reminder(cluster, task_id: str) -> tuple[str, datetime, str, datetime | None]:
    [row] = cluster.postgres.query(
        "SELECT id::text, fire_at, status, triggered_at FROM reminders_app_reminder WHERE task_ref = %s",
        [task_id],
    )
    return row


def _complete(cluster, user, task_id: str, series_id: str, count: int) -> tuple[str, datetime]:
    status, body, _ = user.client.call("PATCH", f"/api/tasks/{task_id}", {"is_completed": True})
    assert status == 200, body
    occurrences = wait_until(
        lambda: len(o := _occurrences(cluster, series_id)) == count and o,
        timeout=60,
        what="the next occurrence",
    )
    task_id, due_at, done = occurrences[-1]
    assert not done
    return task_id, due_at


def _fires_once(cluster, user, task_id: str) -> str:
    reminder_id, fire_at, _, _ = _reminder(cluster, task_id)
    wait_until(
        lambda: _reminder(cluster, task_id)[2] == "triggered", timeout=90, what=f"the reminder {fire_at}"
    )
    _, _, _, triggered_at = _reminder(cluster, task_id)
    notices = cluster.postgres.query(
        "SELECT count(*) FROM notifications_app_notification WHERE reminder_id = %s AND channel = 'in_app'",
        [reminder_id],
    )[0][0]
    events = cluster.postgres.query(
        "SELECT count(*) FROM events_outboxevent "
        "WHERE type = 'reminder.triggered' AND data->>'reminder_id' = %s",
        [reminder_id],
    )[0][0]
    assert (notices, events) == (1, 1), (notices, events)
    assert triggered_at is not None
    assert triggered_at >= fire_at, f"fired early: {triggered_at} < {fire_at}"
    print(f"reminder at {_local(fire_at)} fired once, {(triggered_at - fire_at).total_seconds():.1f} s after")
    return reminder_id


def test_a_daily_0230_series_fires_once_at_the_right_local_time_through_the_gap_and_the_fold(cluster):
    cluster.start("web", "worker")
    user = cluster.new_user("dst")
    status, body, _ = user.client.call("PATCH", "/api/me", {"timezone": "Europe/Berlin"})
    assert status == 200, body

    def series(first_utc: str) -> tuple[str, str]:
        status, task, _ = user.client.call(
            "POST", "/api/tasks",
            {"title": f"daily from {first_utc}", "due_at": first_utc, "remind_at": first_utc,
             "is_recurring": True, "recurrence_rule": "FREQ=DAILY"},
        )  # fmt: skip
        assert status == 201, task
        series_id = wait_until(
            lambda: cluster.postgres.query(
                "SELECT series_id::text FROM tasks_app_task WHERE id = %s", [task["id"]]
            )[0][0],
            timeout=30,
            what="the series attached",
        )
        return task["id"], series_id

    # The day before each transition, completed on the real clock: the next is the transition day.
    spring_first, spring = series("2027-03-27T01:30:00Z")  # 02:30 CET
    autumn_first, autumn = series("2027-10-30T00:30:00Z")  # 02:30 CEST
    gap_task, gap_due = _complete(cluster, user, spring_first, spring, 2)
    fold_task, fold_due = _complete(cluster, user, autumn_first, autumn, 2)
    assert _local(gap_due) == "2027-03-28 03:30 CEST"  # 02:30 does not exist: forward by the gap
    assert _local(fold_due) == "2027-10-31 02:30 CEST"  # the first of the two 02:30s
    assert gap_due == _utc("2027-03-28T01:30:00Z")
    assert fold_due == _utc("2027-10-31T00:30:00Z")
    cluster.kill("worker")

    # The spring-forward night, for real: the reminder fires once; the next day is 02:30 again.
    _shifted(cluster, gap_due)
    _fires_once(cluster, user, gap_task)
    after_gap_task, after_gap_due = _complete(cluster, user, gap_task, spring, 3)
    assert _local(after_gap_due) == "2027-03-29 02:30 CEST"
    status, body, _ = user.client.call("DELETE", f"/api/tasks/{after_gap_task}")
    assert status == 204, body  # so it does not fire late in the autumn run below

    # The fall-back night: the first 02:30 fires once; the next day is 02:30 CET.
    _shifted(cluster, fold_due)
    fold_reminder = _fires_once(cluster, user, fold_task)
    if os.environ.get("FAULTS_LONG"):
        # Through the second 02:30 (CET, an hour later): nothing fires again.
        second = _utc("2027-10-31T01:30:00Z")
        _shifted(cluster, second)
        started = time.monotonic()
        wait_until(
            lambda: time.monotonic() - started > LEAD_SECONDS + 10, timeout=60, what="the second 02:30"
        )
        again = cluster.postgres.query(
            "SELECT count(*) FROM notifications_app_notification WHERE reminder_id = %s", [fold_reminder]
        )[0][0]
        assert again == 1, f"{again} notifications for one reminder across the fold"
        print("the second 02:30 passed: nothing fired again")
    _, after_fold_due = _complete(cluster, user, fold_task, autumn, 3)
    assert _local(after_fold_due) == "2027-11-01 02:30 CET"
    cluster.kill("shifted_worker", "shifted_beat")
