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
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

BASE_DIR = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(BASE_DIR))
from todo_project.testing import free_port  # noqa: E402

BENCH_DB = os.environ.get("BENCH_WS_DATABASE", "taskbeat_bench_ws")


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

    names = [f"bench-ws-{n:02d}" for n in range(args.users)]
    # One task per user of this run, the users split over the writers.
    by_owner = {
        task.owner_id: task for task in Task.objects.filter(owner__username__in=names).select_related("owner")
    }
    tasks = sorted(by_owner.values(), key=lambda task: task.owner_id)[args.writer_index :: args.writers]
    commits: dict[str, float] = {}
    interval = 1.0 / args.rate
    total = int(args.rate * args.duration)
    # Set up; all writers start their schedules together, on the benchmark's word.
    print("ready", flush=True)
    sys.stdin.readline()
    start = time.monotonic()
    for n in range(total):
        # Steady pacing against the schedule, not sleep-after-work, so a slow
        # commit does not lower the rate.
        delay = start + n * interval - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        task = tasks[n % len(tasks)]
        if args.push_only:
            key, at = _push_only(task, n, args.writer_index)
            commits[key] = at
            continue
        stamp: dict[str, float] = {}
        # The task service's own atomic block nests in this one, so the
        # callback registered first runs first after the real COMMIT,
        # before the event's dispatch is enqueued.
        with transaction.atomic():
            transaction.on_commit(lambda stamp=stamp: stamp.setdefault("t", time.time()))
            result = task_update(user=task.owner, task_id=task.id, values={"title": f"update {n}"})
        commits[f"{task.id}:{result.task.version}"] = stamp["t"]
    Path(args.out).write_text(json.dumps(commits))


_PUSH_ONLY_BASE = 10**12  # seq and version of pushed-only messages: past any real one


def _push_only(task: Any, n: int, writer: int) -> tuple[str, float]:
    """``--push-only``: the push path alone (push_to_users → channels-redis → ws →
    socket), with a message shaped like a task.updated one (a task snapshot of
    the usual size), and no commit, no outbox and no worker. Returns its key and
    the time of the call, which stands in for the commit time."""
    import uuid
    from datetime import UTC, datetime

    from todo_project.sync.push import push_to_users

    number = _PUSH_ONLY_BASE + n * 100 + writer
    snapshot = {
        "id": str(task.id), "title": f"update {n}", "notes": "", "status": "open", "priority": 2,
        "project_id": None, "section_id": None, "position": 1024, "tags": ["bench"], "due_at": None,
        "completed_at": None, "created_at": "2026-01-01T00:00:00+00:00", "version": number,
        "updated_at": datetime.now(UTC).isoformat(), "recurrence": None, "reminders": [],
    }  # fmt: skip
    message: Any = {
        "type": "task.updated", "channel": "tasks", "id": str(uuid.uuid4()), "seq": number, "prev_seq": None,
        "time": datetime.now(UTC).isoformat(), "version": number, "request_id": None,
        "data": {"task_id": str(task.id), "task": snapshot, "changes": ["title"]},
    }  # fmt: skip
    at = time.time()
    push_to_users([(task.owner_id, message)])
    return f"{task.id}:{number}", at


# --- the client processes ---------------------------------------------------------------------


class _Connection:
    """One WebSocket client as the web app behaves: applies pushes by seq,
    resyncs on a gap (``prev_seq`` ahead of what it has) and after every
    reconnect. Live pushes are timed; what came by resync is counted apart."""

    def __init__(self, url: str, token: str, user: int, stats: dict[str, Any]) -> None:
        self.url, self.token, self.user, self.stats = url, token, user, stats
        self.last_seq: int | None = None
        self.live: list[tuple[str, float]] = []  # (update key, receipt time)
        self.resynced: set[str] = set()
        self.resyncing = False
        self.ready = asyncio.Event()
        self.quiet_since = time.monotonic()

    async def _resync(self, ws: Any) -> None:
        self.resyncing = True
        await ws.send(json.dumps({"type": "resync", "since": self.last_seq or 0}))

    async def run(self, stop: asyncio.Event, connecting: asyncio.Semaphore) -> None:
        from websockets.asyncio.client import connect
        from websockets.exceptions import ConnectionClosed, InvalidHandshake

        first = True
        while not stop.is_set():
            try:
                async with connecting:
                    ws = await connect(
                        self.url,
                        subprotocols=["bearer", self.token],  # type: ignore[list-item]
                        compression=None,
                        max_size=None,
                        open_timeout=60,
                        ping_interval=None,  # the app-level ping below
                    )
                try:
                    await self._session(ws, stop, first)
                finally:
                    await ws.close()
            except ConnectionClosed as exc:
                self.stats["closes"][str(exc.rcvd.code if exc.rcvd else None)] += 1
            except (OSError, InvalidHandshake, TimeoutError) as exc:
                self.stats["closes"][type(exc).__name__] += 1
            first = False
            if not stop.is_set():
                self.stats["reconnects"] += 1
                await asyncio.sleep(0.5)

    async def _session(self, ws: Any, stop: asyncio.Event, first: bool) -> None:
        connected = json.loads(await ws.recv())
        if self.last_seq is None:
            self.last_seq = int(connected["last_seq"])
        await ws.send(json.dumps({"type": "subscribe", "channel": "tasks"}))
        if not first:
            await self._resync(ws)
        last_ping = time.monotonic()
        stopped = asyncio.ensure_future(stop.wait())
        try:
            while True:
                receiving = asyncio.ensure_future(ws.recv())
                done, _ = await asyncio.wait(
                    {receiving, stopped}, timeout=5, return_when=asyncio.FIRST_COMPLETED
                )
                if receiving not in done:
                    receiving.cancel()
                    if stopped in done:
                        return
                    if time.monotonic() - last_ping > 20:
                        await ws.send(json.dumps({"type": "ping"}))
                        last_ping = time.monotonic()
                    continue
                raw = receiving.result()
                now = time.time()
                frame = json.loads(raw)
                kind = frame.get("type")
                if kind == "subscribed":
                    self.ready.set()
                elif kind == "resync.complete":
                    if frame.get("has_more"):
                        await self._resync(ws)
                    else:
                        self.resyncing = False
                elif kind == "resync.required":
                    self.stats["resync_required"] += 1
                    if frame.get("reason") == "too_far_behind":
                        await self._resync(ws)
                    else:  # not retained (or --push-only's seqs): a full reload, not measured here
                        self.resyncing = False
                elif "seq" in frame and frame.get("channel") == "tasks":
                    await self._apply(ws, frame, now)
                if time.monotonic() - last_ping > 20:
                    await ws.send(json.dumps({"type": "ping"}))
                    last_ping = time.monotonic()
        finally:
            stopped.cancel()

    async def _apply(self, ws: Any, frame: dict[str, Any], now: float) -> None:
        seq, prev = int(frame["seq"]), frame.get("prev_seq")
        last = self.last_seq or 0
        if seq <= last:
            return  # a duplicate (resync after a live push)
        if prev is not None and prev > last:
            self.stats["gaps"] += 1
            if not self.resyncing:
                await self._resync(ws)
            return
        self.last_seq = seq
        self.quiet_since = time.monotonic()
        if frame.get("type") != "task.updated":
            return
        key = f"{frame['data']['task_id']}:{frame['version']}"
        if self.resyncing:
            self.resynced.add(key)
        else:
            self.live.append((key, now))

    async def reconcile(self, stop: asyncio.Event) -> None:
        """At the end: one resync from the last seq on a fresh socket, so a push
        missed at the tail (no later push to reveal it) is recovered and counted."""
        from websockets.exceptions import ConnectionClosed, InvalidHandshake

        for attempt in range(5):
            try:
                await self._reconcile_once()
                return
            except (ConnectionClosed, InvalidHandshake, OSError, TimeoutError):
                self.stats["reconcile_retries"] += 1
                await asyncio.sleep(1 + attempt)
        self.stats["reconcile_failed"] += 1

    async def _reconcile_once(self) -> None:
        from websockets.asyncio.client import connect

        async with connect(self.url, subprotocols=["bearer", self.token], compression=None) as ws:  # type: ignore[list-item]
            await ws.recv()  # connected
            await self._resync(ws)
            while self.resyncing:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 60))
                if frame.get("type") == "resync.complete":
                    if frame.get("has_more"):
                        await self._resync(ws)
                    else:
                        self.resyncing = False
                elif frame.get("type") == "resync.required":
                    self.resyncing = False
                elif "seq" in frame and frame.get("channel") == "tasks":
                    await self._apply(ws, frame, time.time())


def client_main(args: argparse.Namespace) -> None:
    """A client process: its share of the sockets; "drain" on stdin ends the run."""
    from collections import Counter

    spec = json.loads(Path(args.spec).read_text())
    stats: dict[str, Any] = {"closes": Counter(), "reconnects": 0, "gaps": 0, "resync_required": 0}
    stats.update(reconcile_retries=0, reconcile_failed=0)
    started_cpu = time.process_time()

    async def run() -> list[_Connection]:
        connections = [_Connection(url, token, user, stats) for url, token, user in spec["sockets"]]
        stop = asyncio.Event()
        connecting = asyncio.Semaphore(spec.get("connect_concurrency", 100))
        tasks = [asyncio.create_task(c.run(stop, connecting)) for c in connections]
        await asyncio.wait_for(asyncio.gather(*(c.ready.wait() for c in connections)), timeout=900)
        print("ready", flush=True)
        loop = asyncio.get_running_loop()
        steady_cpu = time.process_time()
        line = await loop.run_in_executor(None, sys.stdin.readline)
        stats["cpu_seconds_steady"] = round(time.process_time() - steady_cpu, 2)
        if line.strip() == "drain":
            # Until nothing has arrived for 3 s (at most 120 s).
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                await asyncio.sleep(1)
                if time.monotonic() - max(c.quiet_since for c in connections) > 3:
                    break
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        if spec.get("reconcile"):
            semaphore = asyncio.Semaphore(50)

            async def one(c: _Connection) -> None:
                async with semaphore:
                    await c.reconcile(stop)

            await asyncio.gather(*(one(c) for c in connections))
        return connections

    connections = asyncio.run(run())
    stats["cpu_seconds_total"] = round(time.process_time() - started_cpu, 2)
    Path(args.out).write_text(
        json.dumps(
            {
                "stats": stats,
                "connections": [
                    {"user": c.user, "live": c.live, "resynced": sorted(c.resynced)} for c in connections
                ],
            }
        )
    )


def _cpu_seconds(pid: int) -> float:
    """utime + stime of a process and its children (a prefork worker's pool), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry.name) == pid or int(fields[1]) == pid:  # fields[1]: ppid
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _rss_mib(pid: int) -> dict[str, float]:
    status = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line
    )
    return {key: round(int(status[key].split()[0]) / 1024, 1) for key in ("VmRSS", "VmHWM")}


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def _uvicorn(port: int) -> list[str]:
    return [
        sys.executable, "-m", "uvicorn", "todo_project.asgi:application", "--port", str(port),
        "--lifespan", "off", "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip


def _users(count: int) -> tuple[list[Any], list[str]]:
    from django.contrib.auth import get_user_model
    from rest_framework_simplejwt.tokens import AccessToken

    from tasks_app.models import Task
    from tasks_app.services import task_create

    model = get_user_model()
    existing = {u.username: u for u in model.objects.filter(username__startswith="bench-ws-")}
    with_tasks = set(
        Task.objects.filter(owner__username__startswith="bench-ws-").values_list("owner_id", flat=True)
    )
    users = []
    for n in range(count):
        name = f"bench-ws-{n:02d}"
        user = existing.get(name) or model.objects.create(username=name)
        if user.pk not in with_tasks:
            task_create(owner=user, title="benchmark task")
        users.append(user)
    return users, [str(AccessToken.for_user(user)) for user in users]


def _start_clients(
    count: int, sockets: list[tuple[str, str, int]], logs: Path, *, reconcile: bool
) -> list[tuple[subprocess.Popen[str], Path]]:
    clients = []
    for index in range(count):
        spec = logs / f"client-{index}.spec.json"
        out = logs / f"client-{index}.json"
        spec.write_text(json.dumps({"sockets": sockets[index::count], "reconcile": reconcile}))
        proc = subprocess.Popen(
            [sys.executable, __file__, "--client", "--spec", str(spec), "--out", str(out)],
            cwd=BASE_DIR, env=_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=(logs / f"client-{index}.log").open("wb"), text=True,
        )  # fmt: skip
        clients.append((proc, out))
    for proc, _ in clients:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if line.strip() != "ready":
            raise SystemExit(f"a client process did not get its sockets up ({line!r}); see {logs}")
    return clients


def _finish_clients(clients: list[tuple[subprocess.Popen[str], Path]], command: str) -> list[dict[str, Any]]:
    for proc, _ in clients:
        assert proc.stdin is not None
        proc.stdin.write(command + "\n")
        proc.stdin.flush()
    results = []
    for proc, out in clients:
        if proc.wait(timeout=900) != 0:
            raise SystemExit(f"a client process failed ({proc.returncode})")
        results.append(json.loads(out.read_text()))
    return results


def idle_main(args: argparse.Namespace, logs: Path, procs: list[subprocess.Popen[bytes]]) -> dict[str, Any]:
    """``--idle N``: one ws process holding N authenticated, subscribed sockets; its RSS."""
    per_user = args.connections_per_user
    users, tokens = _users(max(1, args.idle // per_user))
    port = args.port_base or free_port()
    ws = _start(_uvicorn(port), logs / f"uvicorn-{port}.log")
    procs.append(ws)
    _wait_http(port, ws)
    baseline = _rss_mib(ws.pid)
    url = f"ws://127.0.0.1:{port}/ws/tasks/"
    sockets = [(url, tokens[n % len(tokens)], users[n % len(users)].pk) for n in range(args.idle)]
    connect_started = time.monotonic()
    cpu_before = _cpu_seconds(ws.pid)
    clients = _start_clients(args.client_processes, sockets, logs, reconcile=False)
    connect_seconds = time.monotonic() - connect_started
    connected = _rss_mib(ws.pid)
    time.sleep(args.duration)  # idle: only the clients' pings and the server's timers
    held = _rss_mib(ws.pid)
    ws_cpu = _cpu_seconds(ws.pid) - cpu_before
    client_cpu = [_cpu_seconds(proc.pid) for proc, _ in clients]
    results = _finish_clients(clients, "stop")
    closes: dict[str, int] = {}
    for result in results:
        for code, n in result["stats"]["closes"].items():
            closes[code] = closes.get(code, 0) + n
    return {
        "mode": "idle",
        "sockets": args.idle,
        "users": len(users),
        "ws_processes": 1,
        "client_processes": args.client_processes,
        "connect_seconds_all": round(connect_seconds, 1),
        "idle_seconds": args.duration,
        "ws_rss_mib": {"before_sockets": baseline, "all_connected": connected, "after_idle": held},
        "ws_rss_kib_per_socket": round((held["VmRSS"] - baseline["VmRSS"]) * 1024 / args.idle, 1),
        "ws_cpu_seconds_connect_and_idle": round(ws_cpu, 1),
        "client_cpu_seconds": [round(c, 1) for c in client_cpu],
        "closed_by_server_during_idle": closes,
    }


def fanout_main(args: argparse.Namespace, logs: Path, procs: list[subprocess.Popen[bytes]]) -> dict[str, Any]:
    from django.db.models import F
    from django.utils import timezone

    from todo_project.events.models import OutboxEvent

    per_user = args.sockets // args.users if args.sockets else args.connections_per_user
    users, tokens = _users(args.users)
    ports = [args.port_base + n if args.port_base else free_port() for n in range(args.ws_processes)]
    ws_procs = [_start(_uvicorn(port), logs / f"uvicorn-{port}.log") for port in ports]
    procs.extend(ws_procs)
    for port, proc in zip(ports, ws_procs, strict=True):
        _wait_http(port, proc)
    worker = None
    if not (args.inline_dispatch or args.push_only):
        worker_cmd = [sys.executable, "-m", "celery", "-A", "todo_project", "worker", "-l", "WARNING"]
        worker_cmd += ["--concurrency", str(args.worker_concurrency), "--without-gossip", "--without-mingle"]
        worker = _start(worker_cmd, logs / "worker.log")
        procs.append(worker)
        time.sleep(5)  # the worker connects to the broker
    urls = [f"ws://127.0.0.1:{port}/ws/tasks/" for port in ports]
    # A user's sockets spread over the ws processes (like a load balancer would).
    sockets = [
        (urls[n % len(urls)], token, user.pk)
        for user, token in zip(users, tokens, strict=True)
        for n in range(per_user)
    ]
    clients = _start_clients(args.client_processes, sockets, logs, reconcile=not args.push_only)
    print(
        f"{len(sockets)} sockets subscribed over {len(ports)} ws processes; starting the writers", flush=True
    )

    run_started = timezone.now()
    load_before = os.getloadavg()
    watched = {f"ws-{n}": p.pid for n, p in enumerate(ws_procs)}
    if worker is not None:
        watched["worker"] = worker.pid
    watched.update({f"client-{n}": proc.pid for n, (proc, _) in enumerate(clients)})
    writers = []
    for index in range(args.writers):
        out = logs / f"commits-{index}.json"
        rate = str(args.rate / args.writers)
        cmd = [
            sys.executable,
            __file__,
            "--writer",
            "--out",
            str(out),
            "--rate",
            rate,
            "--writers",
            str(args.writers),
        ]
        cmd += ["--duration", str(args.duration), "--writer-index", str(index), "--users", str(args.users)]
        cmd += ["--push-only"] if args.push_only else []
        env = {"CELERY_TASK_ALWAYS_EAGER": "true"} if args.inline_dispatch else {}
        log = (logs / f"writer-{index}.log").open("wb")
        proc = subprocess.Popen(
            cmd, cwd=BASE_DIR, env=_env(**env), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=log, text=True,
        )  # fmt: skip
        writers.append((proc, out))
    for proc, _ in writers:
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != "ready":
            raise SystemExit(f"a writer did not start; see {logs}")
    cpu_before = {name: _cpu_seconds(pid) for name, pid in watched.items()}
    steady_started = time.monotonic()
    for proc, _ in writers:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    commits: dict[str, float] = {}
    for proc, out in writers:
        if proc.wait() != 0:
            raise SystemExit(f"a writer failed; see {logs}")
        commits.update(json.loads(out.read_text()))
    steady_seconds = time.monotonic() - steady_started
    span = max(commits.values()) - min(commits.values()) or 1.0
    cpu = {
        name: round(100 * (_cpu_seconds(pid) - cpu_before[name]) / steady_seconds, 1)
        for name, pid in watched.items()
    }
    load_after_steady = os.getloadavg()
    results = _finish_clients(clients, "drain")

    owner_of_task = {str(task_id): owner for task_id, owner in _task_owners()}
    per_user_updates: dict[int, set[str]] = {}
    for key in commits:
        per_user_updates.setdefault(owner_of_task[key.split(":", 1)[0]], set()).add(key)
    latencies: list[float] = []
    live = resynced = lost = 0
    stats = {"gaps": 0, "reconnects": 0, "resync_required": 0, "reconcile_retries": 0, "reconcile_failed": 0}
    stats["closes"] = {}
    for result in results:
        for name in ("gaps", "reconnects", "resync_required", "reconcile_retries", "reconcile_failed"):
            stats[name] += result["stats"][name]
        for code, n in result["stats"]["closes"].items():
            stats["closes"][code] = stats["closes"].get(code, 0) + n
        for connection in result["connections"]:
            expected = per_user_updates.get(connection["user"], set())
            got_live = {key for key, _ in connection["live"] if key in expected}
            latencies += [(at - commits[key]) * 1000 for key, at in connection["live"] if key in commits]
            recovered = (set(connection["resynced"]) & expected) - got_live
            live += len(got_live)
            resynced += len(recovered)
            lost += len(expected - got_live - recovered)
    dispatch_lags = [
        lag.total_seconds() * 1000
        for lag in OutboxEvent.objects.filter(
            type="task.updated", time__gte=run_started, dispatched_at__isnull=False
        )
        .annotate(lag=F("dispatched_at") - F("time"))
        .values_list("lag", flat=True)
    ]
    return {
        "mode": "fan-out",
        "users": args.users,
        "sockets": len(sockets),
        "ws_processes": args.ws_processes,
        "client_processes": args.client_processes,
        "writers": args.writers,
        "updates_per_second_asked": args.rate,
        "updates": len(commits),
        "updates_per_second_committed": round(len(commits) / span, 1),
        "dispatch": _dispatch_name(args),
        "deliveries_expected": live + resynced + lost,
        "deliveries_live": live,
        "deliveries_recovered_by_resync": resynced,
        "deliveries_lost": lost,
        "latency_ms_live": {
            "p50": round(_percentile(latencies, 50), 1),
            "p95": round(_percentile(latencies, 95), 1),
            "p99": round(_percentile(latencies, 99), 1),
            "max": round(max(latencies), 1),
            "mean": round(statistics.fmean(latencies), 1),
        }
        if latencies
        else None,
        "event_time_to_dispatched_ms": {
            "p50": round(_percentile(dispatch_lags, 50), 1),
            "p95": round(_percentile(dispatch_lags, 95), 1),
        }
        if dispatch_lags
        else None,
        "clients": stats,
        "cpu_percent_of_one_core_during_writes": cpu,
        "load_average_before_and_after_writes": [list(map(lambda x: round(x, 2), load_before)),
                                                 list(map(lambda x: round(x, 2), load_after_steady))],
    }  # fmt: skip


def _dispatch_name(args: argparse.Namespace) -> str:
    if args.push_only:
        return "push only (no commit, no worker)"
    return "inline in the writers" if args.inline_dispatch else f"celery worker x{args.worker_concurrency}"


def _task_owners() -> list[tuple[Any, int]]:
    from tasks_app.models import Task

    return list(Task.objects.filter(owner__username__startswith="bench-ws-").values_list("id", "owner_id"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--connections-per-user", type=int, default=10)
    parser.add_argument("--sockets", type=int, default=0, help="total sockets (split evenly over --users)")
    parser.add_argument("--ws-processes", type=int, default=2)
    parser.add_argument(
        "--client-processes", type=int, default=1, help="processes running the WebSocket clients"
    )
    parser.add_argument("--writers", type=int, default=1, help="writer processes sharing --rate")
    parser.add_argument("--rate", type=float, default=20.0, help="task updates committed per second")
    parser.add_argument(
        "--duration", type=float, default=30.0, help="seconds of steady updates (idle: of idling)"
    )
    parser.add_argument("--worker-concurrency", type=int, default=2)
    parser.add_argument(
        "--idle", type=int, default=0, help="idle mode: this many sockets on one ws process; reports its RSS"
    )
    parser.add_argument(
        "--port-base", type=int, default=0, help="ws ports from here (default: any free port)"
    )
    parser.add_argument(
        "--inline-dispatch",
        action="store_true",
        help="run the dispatcher in the writer right after commit (Celery eager) instead of a worker: "
        "isolates the push path from the worker's queue",
    )
    parser.add_argument(
        "--push-only",
        action="store_true",
        help="the writers call the push helper directly with task.updated-shaped messages (no commit, no "
        "outbox, no worker): the fan-out path alone, push call to receipt",
    )
    parser.add_argument("--writer", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--writer-index", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--spec", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")):
        raise SystemExit("set DATABASE_URL (PostgreSQL server) and REDIS_URL (a Redis DB of its own)")
    # Thousands of sockets: as many descriptors as allowed (children inherit it).
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if args.writer:
        writer_main(args)
        return
    if args.client:
        client_main(args)
        return

    _ensure_database()
    os.environ.update(_env())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "todo_project.settings")
    import django

    django.setup()
    load_before = os.getloadavg()[0]
    logs = Path(tempfile.mkdtemp(prefix="bench-ws-"))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        result = idle_main(args, logs, procs) if args.idle else fanout_main(args, logs, procs)
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
    result.update(
        {
            "load_average_1m_before_and_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
            "cpus": os.cpu_count(),
            "nofile_limit": resource.getrlimit(resource.RLIMIT_NOFILE)[0],
            "logs": str(logs),
        }
    )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
