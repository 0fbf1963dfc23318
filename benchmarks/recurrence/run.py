"""Recurrence benchmarks: next-occurrence generation rate and the repair scan.

Run (needs PostgreSQL and Redis; uses its own throw-away database):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
    REDIS_URL=redis://127.0.0.1:6379/4 \
    .venv/bin/python benchmarks/recurrence/run.py [--completions 10000] [--series 100000]

1. Generation: N completed occurrences of N daily series; one process calls
   ``occurrence_generate_next`` for each, as one worker would (each call is a
   transaction: lock, rule evaluation, task insert, outbox events, commit,
   and the on-commit enqueue of the event dispatch to Redis).
2. Repair scan: S active series, all but 100 with an open occurrence; one
   ``series_repair`` run must find the 100 and generate their occurrences.
   Prints the claim query's EXPLAIN ANALYZE.

Goals (issue 4): >= 1,000 generations/s; the scan over 100,000 series < 5 s.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "todo_project.settings")
os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/4")
os.environ.setdefault("DATABASE_TEST_NAME", "bench_taskbeat_recurrence")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402

from tasks_app.models import Task, TaskSeries  # noqa: E402
from tasks_app.recurrence_services import (  # noqa: E402
    occurrence_generate_next,
    repair_claim_queryset,
    series_repair,
)
from todo_project.accounts.models import Profile  # noqa: E402
from todo_project.celery import app as celery_app  # noqa: E402

START = datetime(2030, 1, 7, 8, 0, tzinfo=UTC)  # 09:00 Berlin, in the future


def make_series(owner, count: int, *, completed: bool, open_every: int = 1) -> list[Task]:
    """``count`` daily series, each with one first occurrence (bulk, no events)."""
    series = [
        TaskSeries(
            id=uuid.uuid4(),
            owner=owner,
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
    tasks = []
    for i, s in enumerate(series):
        done = completed or (i % open_every != 0)
        tasks.append(
            Task(
                owner=owner,
                title=s.title,
                due_at=START,
                remind_at=START - timedelta(minutes=15),
                is_recurring=True,
                recurrence_rule="FREQ=DAILY",
                series=s,
                occurrence_at=START,
                is_completed=done,
                completed_at=START + timedelta(hours=1) if done else None,
                tags=["bench"],
                tag_keys=["bench"],
            )
        )
    Task.objects.bulk_create(tasks, batch_size=5000)
    return tasks


def bench_generation(owner, n: int) -> None:
    tasks = make_series(owner, n, completed=True)
    ids = [t.pk for t in tasks]
    now = START + timedelta(hours=2)
    started = time.perf_counter()
    made = sum(1 for task_id in ids if occurrence_generate_next(task_id=task_id, now=now) is not None)
    elapsed = time.perf_counter() - started
    print(
        f"generation: {made} next occurrences from {n} completions "
        f"in {elapsed:.2f} s = {made / elapsed:,.0f}/s"
    )
    assert made == n
    again = time.perf_counter()
    repeats = sum(
        1 for task_id in ids[:1000] if occurrence_generate_next(task_id=task_id, now=now) is not None
    )
    print(
        f"  re-handling 1,000 of the same completions created {repeats} rows "
        f"({1000 / (time.perf_counter() - again):,.0f}/s)"
    )


def bench_repair(owner, n: int) -> None:
    Task.objects.all().delete()
    TaskSeries.objects.all().delete()
    # Every (n // 100)-th series has an open occurrence missing... inverted:
    # open_every=1 means all open; we want 100 missing, so complete 100 of them.
    make_series(owner, n, completed=False)
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
        owner = get_user_model().objects.create_user(username="bench", password="bench-Secret-123")  # noqa: S106
        Profile.objects.create(user=owner, timezone="Europe/Berlin")
        bench_generation(owner, args.completions)
        bench_repair(owner, args.series)
    finally:
        celery_app.control.purge()
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
