"""Reminder firing benchmark: 100,000 pending reminders, 2,000 due in the same second.

Runs real processes: one Celery worker (``--concurrency 1`` by default) and
Celery beat, against a throw-away PostgreSQL database and one Redis DB.
Measures, per due reminder, triggered_at - fire_at and (in-app notification
stored) - fire_at, then EXPLAINs the scan query with 100k and 500k future
reminders to show its cost follows the due rows, not the future ones.

    .venv/bin/python benchmarks/reminders/run.py [--scan-seconds 1] [--concurrency 1]

Environment: BENCH_PG (server URL without database, default
postgres://postgres@127.0.0.1:5432), BENCH_REDIS_URL (default
redis://127.0.0.1:6379/6; the DB is flushed).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432").rstrip("/")
DB_NAME = "taskbeat_bench_reminders"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/6")

USERS = 1000
TASKS_PER_USER = 20
TOTAL = 100_000
DUE = 2_000
# The due second is set this far ahead once the worker answers a ping.
LEAD_SECONDS = 3


def _env(scan_seconds: int) -> dict[str, str]:
    return {
        **os.environ,
        "DEBUG": "true",
        "DATABASE_URL": f"{PG}/{DB_NAME}",
        "REDIS_URL": REDIS_URL,
        "REMINDER_SCAN_SECONDS": str(scan_seconds),
        "LOG_LEVEL": "WARNING",
        "TASKBEAT_DATA_DIR": str(BASE_DIR / ".data" / "bench-reminders"),
    }


def _setup_database(env: dict[str, str]) -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--verbosity", "0"], cwd=BASE_DIR, env=env, check=True
    )


def _django(env: dict[str, str]) -> None:
    os.environ.update(env)
    sys.path.insert(0, str(BASE_DIR))
    os.environ["DJANGO_SETTINGS_MODULE"] = "todo_project.settings"
    import django

    django.setup()


def _seed() -> None:
    """Seed users, tasks and 100,000 pending reminders (2,000 parked for _make_due)."""
    from django.contrib.auth import get_user_model

    from reminders_app.models import Reminder
    from tasks_app.models import Task
    from todo_project.accounts.models import Profile

    User = get_user_model()  # noqa: N806
    users = User.objects.bulk_create(
        # "!" is Django's unusable-password marker, not a secret.
        User(username=f"bench{i}", email=f"bench{i}@example.com", password="!")  # noqa: S106
        for i in range(USERS)
    )
    Profile.objects.bulk_create(Profile(user=u, timezone="Europe/Berlin") for u in users)
    now = datetime.now(UTC)
    tasks = Task.objects.bulk_create(
        (
            Task(owner=u, title=f"Task {j} of {u.username}", due_at=now + timedelta(days=31))
            for u in users
            for j in range(TASKS_PER_USER)
        ),
        batch_size=5000,
    )
    # Parked far ahead until the worker and beat are up; see _make_due.
    due_at = now + timedelta(days=3650)
    batch: list[Reminder] = []
    for i in range(TOTAL):
        task = tasks[i % len(tasks)]
        if i < DUE:
            at = due_at + timedelta(microseconds=i * 400)  # all within the same second
        else:
            at = now + timedelta(hours=1) + timedelta(seconds=(i * 2591) % (30 * 86400))
        batch.append(Reminder(owner_id=task.owner_id, task=task, task_ref=task.id, base_at=at, fire_at=at))
        if len(batch) == 10_000:
            Reminder.objects.bulk_create(batch)
            batch = []
    if batch:
        Reminder.objects.bulk_create(batch)


def _make_due() -> datetime:
    """Move the 2,000 parked reminders into one second, LEAD_SECONDS from now."""
    from reminders_app.models import Reminder

    due_at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=LEAD_SECONDS + 1)
    parked = list(
        Reminder.objects.filter(fire_at__gte=datetime.now(UTC) + timedelta(days=3000)).values_list(
            "id", flat=True
        )
    )
    rows = [(rid, due_at + timedelta(microseconds=i * 400)) for i, rid in enumerate(parked)]
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.executemany(
            "UPDATE reminders_app_reminder SET fire_at = %s, base_at = %s WHERE id = %s",
            [(at, at, rid) for rid, at in rows],
        )
    return due_at


def _wait_for_worker(timeout: float = 120) -> None:
    from todo_project.celery import app

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if app.control.ping(timeout=1.0):
            return
    raise RuntimeError("the worker did not answer a ping")


def _explain() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE reminders_app_reminder")
        cursor.execute(
            "EXPLAIN (ANALYZE, BUFFERS, COSTS) SELECT * FROM reminders_app_reminder"
            " WHERE status = 'pending' AND fire_at <= now() + interval '25 seconds'"
            " ORDER BY fire_at LIMIT 500 FOR UPDATE SKIP LOCKED"
        )
        return "\n".join(row[0] for row in cursor.fetchall())


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def _summary(name: str, values: list[float]) -> str:
    return (
        f"{name}: n={len(values)} p50={_percentile(values, 0.5):.3f}s p95={_percentile(values, 0.95):.3f}s"
        f" max={max(values):.3f}s mean={statistics.fmean(values):.3f}s"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scan-seconds", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--skip-explain-growth", action="store_true")
    args = parser.parse_args()
    env = _env(args.scan_seconds)

    print(f"setting up {DB_NAME} …", flush=True)
    _setup_database(env)
    _django(env)
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    t0 = time.monotonic()
    _seed()
    print(f"seeded {TOTAL} pending reminders in {time.monotonic() - t0:.1f}s", flush=True)

    celery = [sys.executable, "-m", "celery", "-A", "todo_project"]
    worker = subprocess.Popen(
        [
            *celery,
            "worker",
            "--concurrency",
            str(args.concurrency),
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--hostname",
            "bench-reminders@%h",
        ],
        cwd=BASE_DIR,
        env=env,
    )
    schedule_file = Path(env["TASKBEAT_DATA_DIR"]) / "beat-schedule"
    schedule_file.parent.mkdir(parents=True, exist_ok=True)
    beat = subprocess.Popen(
        [*celery, "beat", "--loglevel", "WARNING", "--schedule", str(schedule_file)], cwd=BASE_DIR, env=env
    )
    from django.db import connection

    try:
        _wait_for_worker()
        due_at = _make_due()
        print(f"{DUE} reminders due at {due_at:%H:%M:%S}", flush=True)
        explain_100k = _explain()
        deadline = time.monotonic() + LEAD_SECONDS + 180
        done = 0
        while time.monotonic() < deadline:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM notifications_app_notification n"
                    " JOIN reminders_app_reminder r ON r.id = n.reminder_id"
                    " WHERE n.channel = 'in_app' AND r.fire_at <= %s",
                    [due_at + timedelta(seconds=1)],
                )
                (done,) = cursor.fetchone()
            if done >= DUE:
                break
            time.sleep(0.5)
    finally:
        beat.terminate()
        worker.terminate()
        beat.wait(30)
        worker.wait(60)

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT extract(epoch FROM r.triggered_at - r.fire_at),"
            " extract(epoch FROM n.created_at - r.fire_at)"
            " FROM reminders_app_reminder r LEFT JOIN notifications_app_notification n"
            " ON n.reminder_id = r.id AND n.channel = 'in_app'"
            " WHERE r.fire_at <= %s",
            [due_at + timedelta(seconds=1)],
        )
        rows = cursor.fetchall()
    triggered = [float(a) for a, _b in rows if a is not None]
    stored = [float(b) for _a, b in rows if b is not None]
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\nscan every {args.scan_seconds}s, worker concurrency {args.concurrency}; load average {load}")
    print(f"due reminders: {len(rows)}, triggered: {len(triggered)}, in-app stored: {len(stored)}")
    if triggered:
        print(_summary("triggered - due", triggered))
    if stored:
        print(_summary("in-app notification stored - due", stored))
    print("\nEXPLAIN of the claim query, 100k pending (98k future):\n" + explain_100k)

    if not args.skip_explain_growth:
        from reminders_app.models import Reminder

        extra = list(Reminder.objects.filter(status="pending")[:1])
        if extra:
            template = extra[0]
            now = datetime.now(UTC)
            Reminder.objects.bulk_create(
                (
                    Reminder(
                        owner_id=template.owner_id,
                        task_id=template.task_id,
                        task_ref=template.task_ref,
                        base_at=now + timedelta(days=2, seconds=i),
                        fire_at=now + timedelta(days=2, seconds=i),
                    )
                    for i in range(400_000)
                ),
                batch_size=20_000,
            )
            # 2,000 due again, so the query has the same work as before.
            due = now + timedelta(seconds=5)
            ids = list(
                Reminder.objects.filter(status="pending")
                .order_by("fire_at")
                .values_list("id", flat=True)[:DUE]
            )
            Reminder.objects.filter(id__in=ids).update(fire_at=due)
            pending = Reminder.objects.filter(status="pending").count()
            print(f"\nEXPLAIN of the claim query, {pending} pending:\n" + _explain())


if __name__ == "__main__":
    main()
