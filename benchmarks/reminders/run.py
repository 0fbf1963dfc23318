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
from typing import Any

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


def _seed() -> list[tuple[object, int]]:
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
    return [(task.id, task.owner_id) for task in tasks]


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


def _stop(*processes: subprocess.Popen[bytes]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            # A warm shutdown waits for the dispatch backlog; the
            # measurement is taken already.
            process.kill()
            process.wait(10)


HOT_TABLES = (
    "reminders_app_reminder",
    "notifications_app_notification",
    "events_outboxevent",
    "events_usereventcounter",
    "events_handlerrun",
)


def _rss_mib(pid: int) -> tuple[float, int]:
    """(RSS of the worker's process tree in MiB, processes), from /proc."""
    total, count, todo = 0, 0, [pid]
    while todo:
        current = todo.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        count += 1
        total += next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
        todo += [int(child) for child in children]
    return total / 1024, count


def _seed_window(start: datetime, rate: int, seconds: float, tasks: list[tuple[object, int]]) -> int:
    """RATE reminders per second from ``start`` for ``seconds``, evenly spaced, written in time order."""
    from django.db import transaction

    from reminders_app.models import Reminder
    from todo_project.bulk import copy_insert

    total = int(rate * seconds)
    step = 1_000_000 / rate  # microseconds between two reminders
    batch: list[Reminder] = []
    for i in range(total):
        task_id, owner_id = tasks[(i * 7919) % len(tasks)]
        at = start + timedelta(microseconds=round(i * step))
        batch.append(Reminder(owner_id=owner_id, task_id=task_id, task_ref=task_id, base_at=at, fire_at=at))
        if len(batch) == 50_000 or i == total - 1:
            with transaction.atomic():
                copy_insert(Reminder, batch)
            batch = []
    return total


def _sample(cursor: Any, start: datetime, pids: list[int]) -> str:
    cursor.execute(
        "SELECT relname, n_live_tup, n_dead_tup, autovacuum_count FROM pg_stat_user_tables"
        " WHERE relname = ANY(%s) ORDER BY relname",
        [list(HOT_TABLES)],
    )
    dead = " ".join(f"{name.split('_', 1)[1]}={d}/{live}(av{av})" for name, live, d, av in cursor.fetchall())
    cursor.execute(
        "SELECT (SELECT count(*) FROM reminders_app_reminder WHERE status = 'pending' AND fire_at <= now()),"
        " (SELECT count(*) FROM events_outboxevent"
        "  WHERE dispatched_at IS NULL AND dispatch_failed_at IS NULL)"
    )
    overdue, undispatched = cursor.fetchone()
    sizes = [_rss_mib(pid) for pid in pids]
    rss, processes = sum(rss for rss, _ in sizes), sum(count for _, count in sizes)
    elapsed = (datetime.now(UTC) - start).total_seconds()
    return (
        f"t={elapsed:6.0f}s overdue={overdue} undispatched={undispatched}"
        f" worker_rss={rss:.0f}MiB({processes} proc) load={os.getloadavg()[0]:.2f} dead/live: {dead}"
    )


def _sustained(
    rate: int,
    minutes: float,
    tasks: list[tuple[object, int]],
    seed_rate: float,
    pids: list[int],
    vacuum_every: float,
) -> None:
    """Issue 17 goal 2: RATE reminders due every second for MINUTES; lag per 10 s window."""
    from django.db import connection

    seconds = minutes * 60
    total = int(rate * seconds)
    # The window opens once it is all written (at the rate the background seeded) plus a margin.
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=20 + total / max(1000.0, seed_rate))
    end = start + timedelta(seconds=seconds)
    t0 = time.monotonic()
    _seed_window(start, rate, seconds, tasks)
    margin = (start - datetime.now(UTC)).total_seconds()
    print(
        f"seeded {total} reminders ({rate}/s from {start:%H:%M:%S} to {end:%H:%M:%S}) in"
        f" {time.monotonic() - t0:.1f}s; the window opens {margin:.1f}s later",
        flush=True,
    )
    with connection.cursor() as cursor:
        cursor.execute("SHOW autovacuum")
        print(f"autovacuum: {cursor.fetchone()[0]}; load before: {os.getloadavg()}", flush=True)
        deadline = end + timedelta(seconds=180)
        vacuumed = time.monotonic()
        while datetime.now(UTC) < deadline:
            print(_sample(cursor, start, pids), flush=True)
            if vacuum_every and time.monotonic() - vacuumed >= vacuum_every:
                vacuumed = time.monotonic()
                for table in HOT_TABLES:
                    cursor.execute(f"VACUUM {table}")
                print(f"  vacuumed the hot tables in {time.monotonic() - vacuumed:.1f}s", flush=True)
            if datetime.now(UTC) > end:
                cursor.execute(
                    "SELECT count(*) FROM reminders_app_reminder WHERE status = 'pending' AND fire_at <= %s",
                    [end],
                )
                if cursor.fetchone()[0] == 0:
                    break
            time.sleep(10)
        print(f"load after: {os.getloadavg()}", flush=True)
        _sustained_report(cursor, start, end, total)


def _sustained_report(cursor: Any, start: datetime, end: datetime, total: int) -> None:
    cursor.execute(
        "SELECT floor(extract(epoch FROM r.fire_at - %(start)s) / 10)::int AS w, count(*),"
        " count(r.triggered_at),"
        " percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM r.triggered_at - r.fire_at)),"
        " percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM r.triggered_at - r.fire_at)),"
        " percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM n.created_at - r.fire_at)),"
        " percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM n.created_at - r.fire_at)),"
        " max(extract(epoch FROM n.created_at - r.fire_at))"
        " FROM reminders_app_reminder r LEFT JOIN notifications_app_notification n"
        " ON n.reminder_id = r.id AND n.channel = 'in_app'"
        " WHERE r.fire_at >= %(start)s AND r.fire_at < %(end)s GROUP BY w ORDER BY w",
        {"start": start, "end": end},
    )
    print("\nwindow | due | triggered | triggered-due p50 / p99 | stored-due p50 / p99 / max")
    worst = 0.0
    for w, due, fired, t50, t99, s50, s99, smax in cursor.fetchall():
        worst = max(worst, float(s99 or 0))
        print(
            f"{w * 10:4d}-{w * 10 + 10:<4d}s | {due} | {fired}"
            f" | {float(t50 or 0):.3f} / {float(t99 or 0):.3f} s"
            f" | {float(s50 or 0):.3f} / {float(s99 or 0):.3f} / {float(smax or 0):.3f} s"
        )
    cursor.execute(
        "SELECT count(*) FILTER (WHERE r.status <> 'triggered' OR n.c IS NULL),"
        " count(*) FILTER (WHERE r.attempts > 1 OR n.c > 1),"
        " (SELECT count(*) FROM (SELECT subject FROM events_outboxevent WHERE type = 'reminder.triggered'"
        "   GROUP BY subject HAVING count(*) > 1) d)"
        " FROM reminders_app_reminder r LEFT JOIN ("
        "   SELECT reminder_id, count(*) AS c FROM notifications_app_notification WHERE channel = 'in_app'"
        "   GROUP BY reminder_id) n ON n.reminder_id = r.id"
        " WHERE r.fire_at >= %(start)s AND r.fire_at < %(end)s",
        {"start": start, "end": end},
    )
    lost, doubled, doubled_events = cursor.fetchone()
    print(
        f"\n{total} due; lost (not triggered, or no in-app notification): {lost}; doubled (fired twice or two"
        f" in-app notifications): {doubled}; reminders with two reminder.triggered events: {doubled_events};"
        f" worst window's stored p99: {worst:.3f} s"
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
    parser.add_argument("--claimers", type=int, default=None, help="REMINDER_SCAN_CLAIMERS")
    parser.add_argument(
        "--sustained", type=int, default=None, metavar="RATE", help="RATE reminders due every second"
    )
    parser.add_argument("--minutes", type=float, default=5.0, help="how long --sustained lasts")
    parser.add_argument(
        "--scan-worker",
        action="store_true",
        help="route the scan to its own queue (REMINDER_SCAN_QUEUE=reminders) and run a second worker on it",
    )
    parser.add_argument(
        "--vacuum-every",
        type=float,
        default=0,
        help="--sustained: VACUUM the hot tables every N s (for a server with autovacuum off)",
    )
    args = parser.parse_args()
    TOTAL, DUE = args.pending, args.due
    if args.sustained:
        DUE = 0  # the window's reminders are seeded separately (see _sustained)
    env = _env(args.scan_seconds)
    if args.batch_size:
        env["REMINDER_SCAN_BATCH_SIZE"] = str(args.batch_size)
    if args.claimers:
        env["REMINDER_SCAN_CLAIMERS"] = str(args.claimers)
    if args.scan_worker:
        env["REMINDER_SCAN_QUEUE"] = "reminders"

    print(f"setting up {DB_NAME} …", flush=True)
    _setup_database(env)
    _django(env)
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    t0 = time.monotonic()
    tasks = _seed()
    print(f"seeded {TOTAL} pending reminders in {time.monotonic() - t0:.1f}s", flush=True)
    seed_rate = TOTAL / max(0.1, time.monotonic() - t0)

    celery = [sys.executable, "-m", "celery", "-A", "todo_project"]

    def start_worker(name: str, queues: str, concurrency: int) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [
                *celery,
                "worker",
                "--concurrency",
                str(concurrency),
                "--queues",
                queues,
                "--loglevel",
                "WARNING",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--hostname",
                f"{name}@%h",
            ],
            cwd=BASE_DIR,
            env=env,
        )

    worker = start_worker("bench-reminders", "celery", args.concurrency)
    workers = [worker]
    if args.scan_worker:
        workers.append(start_worker("bench-reminders-scan", "reminders", args.claimers or 1))
    schedule_file = Path(env["TASKBEAT_DATA_DIR"]) / "beat-schedule"
    schedule_file.parent.mkdir(parents=True, exist_ok=True)
    beat = subprocess.Popen(
        [*celery, "beat", "--loglevel", "WARNING", "--schedule", str(schedule_file)], cwd=BASE_DIR, env=env
    )
    from django.db import connection

    if args.sustained:
        try:
            _wait_for_worker()
            _sustained(
                args.sustained, args.minutes, tasks, seed_rate, [w.pid for w in workers], args.vacuum_every
            )
        finally:
            _stop(beat, *workers)
        return
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
        _stop(beat, *workers)

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
