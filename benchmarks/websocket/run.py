"""Commit-to-receipt latency of WebSocket pushes (NFR-PF-005: p95 < 100 ms).

    DATABASE_URL=postgres://... REDIS_URL=redis://.../N .venv/bin/python benchmarks/websocket/run.py

What runs, all real: 2 uvicorn processes serving todo_project.asgi, one Celery
worker dispatching outbox events (the push handler among the others), a
writer process committing task updates at a steady rate, and 20 users × 10
WebSocket connections (5 per user on each server) in this process.

For every update the writer notes the wall-clock time of its commit (an
on_commit callback registered before the event's own); every connection
notes when the push arrived. Latency = receipt - commit, per delivery.
The benchmark uses its own database (``taskbeat_bench_ws`` on the server of
DATABASE_URL), created and migrated on first run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse, urlunparse

BASE_DIR = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(BASE_DIR))

from todo_project.testing import free_port  # noqa: E402

BENCH_DB = "taskbeat_bench_ws"


def _bench_db_url(database_url: str) -> str:
    parsed = urlparse(database_url)
    return urlunparse(parsed._replace(path="/" + BENCH_DB))


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("DATABASE_TEST_NAME", None)
    env.update(
        {"DEBUG": "true", "DATABASE_URL": _bench_db_url(os.environ["DATABASE_URL"]), "LOG_LEVEL": "WARNING"}
    )
    env.update(extra)
    return env


def _ensure_database() -> None:
    import psycopg

    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DB]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{BENCH_DB}"')
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v", "0"], cwd=BASE_DIR, env=_env(), check=True, timeout=600
    )


def _start(cmd: list[str], log: Path, **env: str) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(cmd, cwd=BASE_DIR, env=_env(**env), stdout=out, stderr=subprocess.STDOUT)


def _wait_http(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"uvicorn on {port} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):  # noqa: S310
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"uvicorn on {port} did not start")


# --- the writer process ------------------------------------------------------------------


def writer_main(args: argparse.Namespace) -> None:
    """Commit task updates at ``rate`` per second, round-robin over the users."""
    os.environ.update(_env())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "todo_project.settings")
    import django

    django.setup()
    from django.db import transaction

    from tasks_app.models import Task
    from tasks_app.services import task_update

    tasks = list(
        Task.objects.filter(owner__username__startswith="bench-ws-")
        .select_related("owner")
        .order_by("owner_id")
    )
    commits: dict[str, float] = {}
    interval = 1.0 / args.rate
    total = int(args.rate * args.duration)
    start = time.monotonic()
    for n in range(total):
        # Steady pacing against the schedule, not sleep-after-work, so a slow
        # commit does not lower the rate.
        delay = start + n * interval - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        task = tasks[n % len(tasks)]
        stamp: dict[str, float] = {}
        # The task service's own atomic block nests in this one, so the
        # callback registered first runs first after the real COMMIT,
        # before the event's dispatch is enqueued.
        with transaction.atomic():
            transaction.on_commit(lambda stamp=stamp: stamp.setdefault("t", time.time()))
            result = task_update(user=task.owner, task_id=task.id, values={"title": f"update {n}"})
        commits[f"{task.id}:{result.task.version}"] = stamp["t"]
    Path(args.out).write_text(json.dumps(commits))


# --- the clients ---------------------------------------------------------------------------


async def _client(
    url: str,
    token: str,
    receipts: list[tuple[str, float]],
    closes: list[str],
    ready: asyncio.Event,
    stop: asyncio.Event,
) -> None:
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    async with connect(url, subprotocols=["bearer", token], compression=None, max_size=None) as ws:  # type: ignore[list-item]
        json.loads(await ws.recv())  # connected
        await ws.send(json.dumps({"type": "subscribe", "channel": "tasks"}))
        json.loads(await ws.recv())  # subscribed
        ready.set()

        async def read() -> None:
            async for raw in ws:
                now = time.time()
                message = json.loads(raw)
                if message.get("type") == "task.updated":
                    receipts.append((f"{message['data']['task_id']}:{message['version']}", now))

        async def heartbeat() -> None:
            while True:
                await asyncio.sleep(20)
                await ws.send(json.dumps({"type": "ping"}))

        reader = asyncio.create_task(read())
        pinger = asyncio.create_task(heartbeat())
        stopped = asyncio.create_task(stop.wait())
        await asyncio.wait({reader, stopped}, return_when=asyncio.FIRST_COMPLETED)
        if reader.done():  # the server closed before the end: count it
            closes.append(str(ws.close_code))
        pinger.cancel()
        stopped.cancel()
        try:
            await ws.close()
        except ConnectionClosed:
            pass
        reader.cancel()


async def _run_clients(
    urls: list[str],
    tokens: list[str],
    per_user: int,
    writer_cmd: list[str],
    writer_env: dict[str, str],
    log: Path,
) -> list[tuple[str, float]]:
    receipts: list[tuple[str, float]] = []
    closes: list[str] = []
    stop = asyncio.Event()
    readies: list[asyncio.Event] = []
    tasks = []
    for token in tokens:
        for n in range(per_user):
            ready = asyncio.Event()
            readies.append(ready)
            tasks.append(
                asyncio.create_task(_client(urls[n % len(urls)], token, receipts, closes, ready, stop))
            )
    await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), timeout=60)
    print(f"{len(tasks)} connections subscribed; starting the writer", flush=True)
    with log.open("wb") as out:
        writer = await asyncio.create_subprocess_exec(
            *writer_cmd, cwd=BASE_DIR, env=_env(**writer_env), stdout=out, stderr=subprocess.STDOUT
        )
        code = await writer.wait()
    if code != 0:
        raise SystemExit(f"writer failed ({code}); see {log}")
    # Let the backlog drain: stop once nothing has arrived for 3 s (at most 120 s).
    deadline = time.monotonic() + 120
    seen = -1
    while len(receipts) != seen and time.monotonic() < deadline:
        seen = len(receipts)
        await asyncio.sleep(3)
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    if closes:
        print(
            f"{len(closes)} connection(s) closed by the server early, codes: {sorted(set(closes))}",
            flush=True,
        )
    return receipts


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--connections-per-user", type=int, default=10)
    parser.add_argument("--rate", type=float, default=20.0, help="task updates committed per second")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of steady updates")
    parser.add_argument("--worker-concurrency", type=int, default=2)
    parser.add_argument(
        "--inline-dispatch",
        action="store_true",
        help="run the dispatcher in the writer right after commit (Celery eager) instead of a worker: "
        "isolates the push path from the worker's queue",
    )
    parser.add_argument("--writer", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")):
        raise SystemExit("set DATABASE_URL (PostgreSQL server) and REDIS_URL (a Redis DB of its own)")
    if args.writer:
        writer_main(args)
        return

    _ensure_database()
    os.environ.update(_env())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "todo_project.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from rest_framework_simplejwt.tokens import AccessToken

    from tasks_app.models import Task
    from tasks_app.services import task_create

    users = []
    for n in range(args.users):
        user, _ = get_user_model().objects.get_or_create(username=f"bench-ws-{n:02d}")
        if not Task.objects.filter(owner=user).exists():
            task_create(owner=user, title="benchmark task")
        users.append(user)
    tokens = [str(AccessToken.for_user(user)) for user in users]

    from django.utils import timezone

    load_before = os.getloadavg()[0]
    run_started = timezone.now()
    logs = Path(tempfile.mkdtemp(prefix="bench-ws-"))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        ports = [free_port(), free_port()]
        for port in ports:
            procs.append(
                _start(
                    [
                        sys.executable,
                        "-m",
                        "uvicorn",
                        "todo_project.asgi:application",
                        "--port",
                        str(port),
                        "--lifespan",
                        "off",
                        "--no-access-log",
                        "--log-level",
                        "warning",
                    ],
                    logs / f"uvicorn-{port}.log",
                )
            )
        for port, proc in zip(ports, procs, strict=True):
            _wait_http(port, proc)
        if not args.inline_dispatch:
            worker_cmd = [sys.executable, "-m", "celery", "-A", "todo_project", "worker", "-l", "WARNING"]
            worker_cmd += [
                "--concurrency",
                str(args.worker_concurrency),
                "--without-gossip",
                "--without-mingle",
            ]
            procs.append(_start(worker_cmd, logs / "worker.log"))
            time.sleep(5)  # the worker connects to the broker
        out = logs / "commits.json"
        writer_cmd = [
            sys.executable,
            __file__,
            "--writer",
            "--out",
            str(out),
            "--rate",
            str(args.rate),
            "--duration",
            str(args.duration),
        ]
        urls = [f"ws://127.0.0.1:{port}/ws/tasks/" for port in ports]
        writer_env = {"CELERY_TASK_ALWAYS_EAGER": "true"} if args.inline_dispatch else {}
        receipts = asyncio.run(
            _run_clients(urls, tokens, args.connections_per_user, writer_cmd, writer_env, logs / "writer.log")
        )
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()

    commits: dict[str, float] = json.loads(out.read_text())
    # How much of the latency is the worker's queue + handlers (event time to
    # dispatched_at), as opposed to the channel layer and the sockets.
    from django.db.models import F

    from todo_project.events.models import OutboxEvent

    dispatch_lags = [
        lag.total_seconds() * 1000
        for lag in OutboxEvent.objects.filter(
            type="task.updated", time__gte=run_started, dispatched_at__isnull=False
        )
        .annotate(lag=F("dispatched_at") - F("time"))
        .values_list("lag", flat=True)
    ]
    latencies = [(at - commits[key]) * 1000 for key, at in receipts if key in commits]
    expected = len(commits) * args.connections_per_user
    print(
        json.dumps(
            {
                "users": args.users,
                "connections": args.users * args.connections_per_user,
                "asgi_processes": 2,
                "updates_per_second": args.rate,
                "dispatch": "inline in the writer"
                if args.inline_dispatch
                else f"celery worker x{args.worker_concurrency}",
                "updates": len(commits),
                "deliveries_expected": expected,
                "deliveries_received": len(latencies),
                "latency_ms": {
                    "p50": round(_percentile(latencies, 50), 1),
                    "p95": round(_percentile(latencies, 95), 1),
                    "p99": round(_percentile(latencies, 99), 1),
                    "max": round(max(latencies), 1),
                    "mean": round(statistics.fmean(latencies), 1),
                },
                "event_time_to_dispatched_ms": {
                    "p50": round(_percentile(dispatch_lags, 50), 1),
                    "p95": round(_percentile(dispatch_lags, 95), 1),
                },
                "load_average_1m_before_and_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
                "cpus": os.cpu_count(),
                "logs": str(logs),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
