"""Reminder firing benchmark: N pending reminders, D of them due in the same second.

Runs real processes: one Celery worker (``--concurrency 1`` by default) and
Celery beat, against a throw-away PostgreSQL database and one Redis DB.
Measures, per due reminder, triggered_at - fire_at and (in-app notification
stored) - fire_at, then EXPLAINs the scan query with 100k and 500k future
reminders to show its cost follows the due rows, not the future ones.

    .venv/bin/python benchmarks/reminders/run.py [--scan-seconds 1] [--concurrency 1]
    .venv/bin/python benchmarks/reminders/run.py --pending 1000000 --due 10000 --skip-explain-growth

Environment: BENCH_PG (server URL without database, default
postgres://postgres@127.0.0.1:5432), BENCH_REDIS_URL (default
redis://127.0.0.1:6379/6; the DB is flushed), BENCH_DB (the throw-away database's
name, default taskbeat_bench_reminders; it is dropped and created).
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
DB_NAME = os.environ.get("BENCH_DB", "taskbeat_bench_reminders")
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
    """Seed users, tasks and TOTAL pending reminders (DUE parked for _make_due).

    Written with COPY (todo_project/bulk.py), 50,000 rows per transaction, so
    a million rows seed in well under a minute.
    """
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from reminders_app.models import Reminder
    from tasks_app.models import Task
    from todo_project.accounts.models import Profile
    from todo_project.bulk import copy_insert

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
        if len(batch) == 50_000:
            with transaction.atomic():
                copy_insert(Reminder, batch)
            batch = []
    if batch:
        with transaction.atomic():
            copy_insert(Reminder, batch)


def _make_due() -> datetime:
    """Move the 2,000 parked reminders into one second, LEAD_SECONDS from now."""
    from reminders_app.models import Reminder

    due_at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=LEAD_SECONDS + 1)
    parked = list(
        Reminder.objects.filter(fire_at__gte=datetime.now(UTC) + timedelta(days=3000)).values_list(
            "id", flat=True
        )
    )
    step = 1_000_000 // max(1, len(parked))  # spread over the one second
    from django.db import connection

    with connection.cursor() as cursor:
        # One statement, so the whole burst becomes due at once.
        cursor.execute(
            "UPDATE reminders_app_reminder r SET fire_at = w.at, base_at = w.at"
            " FROM unnest(%s::uuid[], %s::timestamptz[]) AS w(id, at) WHERE r.id = w.id",
            [parked, [due_at + timedelta(microseconds=i * step) for i in range(len(parked))]],
        )
    return due_at


def _due_again() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE reminders_app_reminder SET fire_at = now() + interval '5 seconds' WHERE id IN ("
            " SELECT id FROM reminders_app_reminder WHERE status = 'pending' ORDER BY fire_at LIMIT %s)",
            [DUE],
        )


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
        f" p99={_percentile(values, 0.99):.3f}s max={max(values):.3f}s mean={statistics.fmean(values):.3f}s"
    )


def main() -> None:
    global TOTAL, DUE  # noqa: PLW0603 - the module's sizes, set once from the command line
    parser = argparse.ArgumentParser()
    parser.add_argument("--scan-seconds", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--skip-explain-growth", action="store_true")
    parser.add_argument("--pending", type=int, default=TOTAL, help="pending reminders in all")
    parser.add_argument("--due", type=int, default=DUE, help="of them due in the same second")
    parser.add_argument("--batch-size", type=int, default=None, help="REMINDER_SCAN_BATCH_SIZE")
    args = parser.parse_args()
    TOTAL, DUE = args.pending, args.due
    env = _env(args.scan_seconds)
    if args.batch_size:
        env["REMINDER_SCAN_BATCH_SIZE"] = str(args.batch_size)

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
        load_at_due = os.getloadavg()[0]
        print(f"load average at the burst: {load_at_due:.2f}", flush=True)
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
        for process in (beat, worker):
            process.terminate()
        for process in (beat, worker):
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                # A warm shutdown waits for the dispatch backlog; the
                # measurement is taken already.
                process.kill()
                process.wait(10)

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
    batch = env.get("REMINDER_SCAN_BATCH_SIZE", "500 (default)")
    print(
        f"\n{TOTAL} pending, {DUE} due in one second; scan every {args.scan_seconds}s, batch {batch},"
        f" worker concurrency {args.concurrency}; load average {load}"
    )
    print(f"due reminders: {len(rows)}, triggered: {len(triggered)}, in-app stored: {len(stored)}")
    if triggered:
        print(_summary("triggered - due", triggered))
    if stored:
        print(_summary("in-app notification stored - due", stored))
    # After the burst (the worker is stopped), with DUE future rows made due
    # again: the query then has the same work as in the burst, and its
    # ANALYZE did not compete with the burst for the CPUs.
    _due_again()
    print(f"\nEXPLAIN of the claim query, {TOTAL} pending ({TOTAL - DUE} future):\n" + _explain())

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
            # DUE due again, so the query has the same work as before.
            _due_again()
            pending = Reminder.objects.filter(status="pending").count()
            print(f"\nEXPLAIN of the claim query, {pending} pending:\n" + _explain())


if __name__ == "__main__":
    main()
