"""Recurrence benchmarks: next-occurrence generation rate and the repair scan.

Run (needs PostgreSQL and Redis; uses its own throw-away database):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
    REDIS_URL=redis://127.0.0.1:6379/4 \
    .venv/bin/python benchmarks/recurrence/run.py [--completions 10000] [--series 100000]

1. Generation, two ways, over N completions (daily series spread over
   500 users, each completed in its own transaction through the task
   service, as N API calls would):
   a. the generator alone: ``occurrences_generate_next`` over the completed
      tasks in batches of 500 (what the batch handler does with a batch);
   b. one real Celery worker (``--pool solo``) started on the N queued
      dispatch messages: every handler of every event runs (reminders, the
      generator, WebSocket push, audit; then the same for the generated
      tasks' events), timed by the database's clock from the worker's first
      handler run to the last next occurrence inserted.
2. Repair scan: S active series, all but 100 with an open occurrence; one
   ``series_repair`` run must find the 100 and generate their occurrences.
   Prints the claim query's EXPLAIN ANALYZE.

Goals (issue 4): >= 1,000 generations/s; the scan over 100,000 series < 5 s.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from benchmarks._common import setup_django  # noqa: E402

setup_django(
    DEBUG="true", REDIS_URL="redis://127.0.0.1:6379/4", DATABASE_TEST_NAME="bench_taskbeat_recurrence"
)

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Max, Min  # noqa: E402

from tasks_app import services  # noqa: E402
from tasks_app.models import Task, TaskSeries  # noqa: E402
from tasks_app.recurrence.services import (  # noqa: E402
    occurrences_generate_next,
    repair_claim_queryset,
    series_repair,
)
from todo_project.accounts.models import Profile  # noqa: E402
from todo_project.celery import app as celery_app  # noqa: E402
from todo_project.events.models import HandlerRun, OutboxEvent  # noqa: E402
from todo_project.testing import database_url  # noqa: E402

START = datetime(2030, 1, 7, 8, 0, tzinfo=UTC)  # 09:00 Berlin, in the future
USERS = 500
BATCH = 500


def make_series(owners, count: int, *, completed: bool) -> list[Task]:
    """``count`` daily series spread over ``owners``, each with one first
    occurrence (bulk, no events)."""
    series = [
        TaskSeries(
            id=uuid.uuid4(),
            owner=owners[i % len(owners)],
            rule="RRULE:FREQ=DAILY",
            dtstart=START,
            timezone="Europe/Berlin",
            title=f"Series {i}",
            tags=["bench"],
            reminder_offsets=[15],
        )
        for i in range(count)
    ]
    TaskSeries.objects.bulk_create(series, batch_size=5000)
    tasks = [
        Task(
            owner=s.owner,
            title=s.title,
            due_at=START,
            remind_at=START - timedelta(minutes=15),
            is_recurring=True,
            recurrence_rule="FREQ=DAILY",
            series=s,
            occurrence_at=START,
            is_completed=completed,
            completed_at=START + timedelta(hours=1) if completed else None,
            tags=["bench"],
            tag_keys=["bench"],
            position=i,
        )
        for i, s in enumerate(series)
    ]
    Task.objects.bulk_create(tasks, batch_size=5000)
    return tasks


def complete_each(tasks: list[Task]) -> None:
    """Complete each task in its own transaction through the service (records
    ``task.completed``; the on-commit dispatch message goes to Redis)."""
    for task in tasks:
        services.task_complete(user=task.owner, task_id=task.pk)


def reset() -> None:
    HandlerRun.objects.all().delete()
    OutboxEvent.objects.all().delete()
    Task.objects.all().delete()
    TaskSeries.objects.all().delete()
    celery_app.control.purge()


def bench_generator(owners, n: int) -> None:
    reset()
    tasks = make_series(owners, n, completed=False)
    complete_each(tasks)
    celery_app.control.purge()  # the generator alone: no worker runs these
    ids = [t.pk for t in tasks]
    now = START + timedelta(hours=2)
    started = time.perf_counter()
    made = 0
    for first in range(0, n, BATCH):
        made += len(occurrences_generate_next(task_ids=ids[first : first + BATCH], now=now))
    elapsed = time.perf_counter() - started
    print(
        f"generator: {made} next occurrences from {n} completions "
        f"in {elapsed:.2f} s = {made / elapsed:,.0f}/s (batches of {BATCH})"
    )
    assert made == n
    again = time.perf_counter()
    repeats = sum(
        len(occurrences_generate_next(task_ids=ids[first : first + BATCH], now=now))
        for first in range(0, 1000, BATCH)
    )
    print(
        f"  re-handling 1,000 of the same completions created {repeats} rows "
        f"({1000 / (time.perf_counter() - again):,.0f}/s)"
    )
    assert repeats == 0


def bench_worker(owners, n: int, *, pool: list[str]) -> None:
    reset()
    tasks = make_series(owners, n, completed=False)
    complete_each(tasks)  # n dispatch messages wait in Redis
    series_ids = [t.series_id for t in tasks]
    env = {**os.environ, "DATABASE_URL": database_url(connection.settings_dict), "DEBUG": "false"}
    env.pop("DATABASE_TEST_NAME", None)
    # Production settings, as a deployed worker runs (no DEBUG query log).
    env.setdefault("SECRET_KEY", "bench-" + "k7Qp2" * 12)
    env.setdefault("JWT_PRIVATE_KEY", settings.JWT_PRIVATE_KEY)
    env.setdefault("JWT_PUBLIC_KEY", settings.JWT_PUBLIC_KEY)
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "todo_project",
            "worker",
            *pool,
            "--loglevel",
            "WARNING",
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        deadline = time.monotonic() + 600
        while Task.objects.filter(series_id__in=series_ids, is_completed=False).count() < n:
            assert worker.poll() is None, "the worker died"
            assert time.monotonic() < deadline, "the worker did not finish in 10 minutes"
            time.sleep(0.2)
        while OutboxEvent.objects.filter(dispatched_at__isnull=True).exists():
            assert time.monotonic() < deadline, "the worker did not drain the outbox in 10 minutes"
            time.sleep(0.2)
    finally:
        worker.terminate()
        worker.wait(30)
    first_run = HandlerRun.objects.aggregate(t=Min("completed_at"))["t"]
    last_made = Task.objects.filter(series_id__in=series_ids, is_completed=False).aggregate(
        t=Max("created_at")
    )["t"]
    last_run = HandlerRun.objects.aggregate(t=Max("completed_at"))["t"]
    generation = (last_made - first_run).total_seconds()
    total = (last_run - first_run).total_seconds()
    events = OutboxEvent.objects.count()
    print(
        f"worker ({' '.join(pool)}): {n} next occurrences in {generation:.2f} s = {n / generation:,.0f}/s "
        f"(first handler run to last occurrence inserted, database clock)"
    )
    print(
        f"  every event dispatched ({events:,} events, {HandlerRun.objects.count():,} handler runs) "
        f"in {total:.2f} s"
    )
    # Where a batch's time goes: each batch handler claims its batch in one
    # transaction, whose start (now()) is the claim's completed_at.
    starts = sorted(
        set(
            HandlerRun.objects.filter(handler__endswith="generate_next_occurrence_on_completion").values_list(
                "completed_at", flat=True
            )
        )
    )
    gaps = [(b - a).total_seconds() for a, b in zip(starts, starts[1:], strict=False)]
    if gaps:
        print(
            f"  {len(starts)} generation batches; time from one to the next: "
            f"median {sorted(gaps)[len(gaps) // 2] * 1000:.0f} ms, max {max(gaps) * 1000:.0f} ms"
        )
    if "solo" not in pool:
        return  # with several processes the batches interleave
    # Each handler's share of a completion batch: from its claim to the next
    # claim (the last one of a batch also carries the batch's bookkeeping and
    # the next lease).
    claims = sorted(
        set(HandlerRun.objects.filter(completed_at__lte=last_made).values_list("completed_at", "handler"))
    )
    spent: dict[str, list[float]] = {}
    for (start, handler), (following, _) in zip(claims, claims[1:], strict=False):
        spent.setdefault(handler.rsplit(".", 1)[-1], []).append((following - start).total_seconds())
    print(
        "  per completion batch, median ms: "
        + ", ".join(f"{name} {sorted(v)[len(v) // 2] * 1000:.0f}" for name, v in spent.items())
    )


def bench_repair(owner, n: int) -> None:
    reset()
    # Every (n // 100)-th series has an open occurrence missing... inverted:
    # open_every=1 means all open; we want 100 missing, so complete 100 of them.
    make_series([owner], n, completed=False)
    missing = list(Task.objects.order_by("?").values_list("pk", flat=True)[:100])
    Task.objects.filter(pk__in=missing).update(is_completed=True, completed_at=START + timedelta(hours=1))
    with connection.cursor() as cursor:
        # As autovacuum would have by now: statistics and the visibility map.
        cursor.execute("VACUUM ANALYZE tasks_app_task")
        cursor.execute("VACUUM ANALYZE tasks_app_taskseries")
    claim = repair_claim_queryset()[:500]
    print("repair claim query (EXPLAIN ANALYZE, without FOR UPDATE SKIP LOCKED):")
    print("  " + claim.explain(analyze=True).replace("\n", "\n  "))
    started = time.perf_counter()
    created = series_repair(now=START + timedelta(hours=2))
    elapsed = time.perf_counter() - started
    print(f"repair scan: {n:,} active series, {created} occurrences generated in {elapsed:.2f} s")
    started = time.perf_counter()
    again = series_repair(now=START + timedelta(hours=2))
    print(f"  second run: {again} generated in {time.perf_counter() - started:.2f} s")
    assert created == 100
    assert again == 0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--completions", type=int, default=10_000)
    parser.add_argument("--series", type=int, default=100_000)
    args = parser.parse_args()

    celery_app.conf.task_always_eager = False  # dispatch is enqueued to Redis, as in production
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs")
        owners = []
        for i in range(USERS):
            owner = get_user_model().objects.create_user(username=f"bench{i}")
            Profile.objects.create(user=owner, timezone="Europe/Berlin")
            owners.append(owner)
        bench_generator(owners, args.completions)
        bench_worker(owners, args.completions, pool=["--pool", "solo"])
        # The default worker: prefork, one process per CPU.
        bench_worker(owners, args.completions, pool=["--concurrency", str(os.cpu_count() or 1)])
        bench_repair(owners[0], args.series)
    finally:
        celery_app.control.purge()
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
