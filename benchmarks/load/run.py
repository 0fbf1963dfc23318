"""Load test: a mixed API scenario with sockets open, at rising concurrency, up to the knee.

    DATABASE_URL=postgres://…/postgres REDIS_URL=redis://…/N .venv/bin/python benchmarks/load/run.py
        [--steps 4,8,16,32,64,128] [--step-seconds 20] [--users 200] [--sockets 200]

Starts, on ``--port`` and the next one: gunicorn (the product's
deploy/gunicorn.conf.py, 2 workers) for the API, uvicorn for /ws/tasks/, one
Celery worker (``--worker-concurrency``) and beat, all on a database of its
own (``bench_taskbeat_load`` on the DATABASE_URL server, or BENCH_DATABASE)
and the REDIS_URL DB (flushed). Opens ``--sockets`` authenticated WebSockets
subscribed to ``tasks`` (pinging like the web app), then runs each step: N
virtual users in a closed loop (no think time), each request one of

    list 35 %   GET /api/tasks
    search 20 % GET /api/tasks?q=report
    create 15 % POST /api/tasks
    complete 15 % POST /api/tasks/{id}/toggle (a task of the first page)
    quick-add 15 % POST /api/tasks/quick

over ``--users`` accounts (so the per-user throttle, which stays on, is never
the limit). Per step: requests/s, p50/p95/p99 per operation and overall, the
error rate (any status ≥ 400 or a transport error), and the socket events
received. The knee is the first step whose throughput is less than 1.1× the
step before while its p95 grew: the step before it is named the knee.

An asyncio driver (aiohttp, which pywebpush already brings, and websockets)
rather than Locust: see README.md for why.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
WEIGHTS = {"list": 35, "search": 20, "create": 15, "complete": 15, "quick-add": 15}
QUICK_ADD = [
    "Pay rent on the 1st of every month !high #home",
    "Call the dentist tomorrow at 10am",
    "Team standup every weekday at 9am #work",
    "Send the quarterly report on Friday !high #work",
]


def _env(port: int) -> dict[str, str]:
    server = os.environ["DATABASE_URL"]
    database = os.environ.get("BENCH_DATABASE", "bench_taskbeat_load")
    return {
        # DEBUG on as in the other server benchmarks: generated keys, no
        # secrets to provision. It also makes Django keep each request's SQL
        # text (a few % of a request); the numbers are pessimistic for it.
        "DEBUG": "true",
        "DATABASE_URL": urlunparse(urlparse(server)._replace(path=f"/{database}")),
        "LOG_LEVEL": "WARNING",
        "WEB_BIND": f"127.0.0.1:{port}",
        "WEB_WORKERS": os.environ.get("WEB_WORKERS", "2"),
        "JWT_ACCESS_TTL_SECONDS": "14400",
        "DJANGO_SETTINGS_MODULE": "todo_project.settings",
    }


def _prepare(users: int, tasks_per_user: int) -> list[str]:
    """Create and migrate the database, seed the accounts and their tasks; their access tokens."""
    import psycopg

    database = urlparse(os.environ["DATABASE_URL"]).path.lstrip("/")
    with psycopg.connect(os.environ["BENCH_SERVER_URL"], autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone():
            conn.execute(f'CREATE DATABASE "{database}"')
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, check=True)
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from rest_framework_simplejwt.tokens import AccessToken

    from tasks_app.models import Task

    model = get_user_model()
    tokens = []
    words = ["report", "budget", "groceries", "dentist", "review", "invoice", "plan", "call"]
    for n in range(users):
        user, created = model.objects.get_or_create(
            username=f"load{n}", defaults={"email": f"load{n}@bench.invalid"}
        )
        if created:
            user.set_unusable_password()
            user.save()
        have = Task.objects.filter(owner=user).count()
        if have < tasks_per_user:
            Task.objects.bulk_create(
                Task(
                    owner=user,
                    title=f"{random.choice(words).title()} {random.choice(words)} #{i}",
                    tags=["work"] if i % 3 == 0 else [],
                    tag_keys=["work"] if i % 3 == 0 else [],
                    position=i,
                )
                for i in range(have, tasks_per_user)
            )
        tokens.append(str(AccessToken.for_user(user)))
    return tokens


def _start(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    out = log.open("wb")
    return subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT)


def _wait_http(port: int, proc: subprocess.Popen[bytes], path: str = "/health") -> None:
    import http.client

    for _ in range(300):
        if proc.poll() is not None:
            raise SystemExit(f"the server on {port} exited with {proc.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", path)
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"the server on {port} did not answer")


class Sockets:
    """``count`` open sockets over the tokens, subscribed to tasks; counts events received."""

    def __init__(self, url: str, tokens: list[str], count: int) -> None:
        self.url, self.tokens, self.count = url, tokens, count
        self.events = 0
        self.open = 0
        self.failed = 0
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        for n in range(self.count):
            self._tasks.append(asyncio.create_task(self._one(self.tokens[n % len(self.tokens)])))
            if n % 20 == 19:
                await asyncio.sleep(0.05)  # not all handshakes in one instant
        for _ in range(200):
            if self.open + self.failed >= self.count:
                return
            await asyncio.sleep(0.1)

    async def _one(self, token: str) -> None:
        import websockets

        try:
            ws = await websockets.connect(f"{self.url}?token={token}", max_queue=None)
        except Exception:  # counted, the run goes on
            self.failed += 1
            return
        try:
            await ws.send(json.dumps({"type": "subscribe", "channel": "tasks"}))
            self.open += 1
            last_ping = time.monotonic()
            while True:
                try:
                    message = await asyncio.wait_for(ws.recv(), timeout=10)
                except TimeoutError:
                    message = None
                if message is not None and '"seq"' in str(message):
                    self.events += 1
                if time.monotonic() - last_ping > 10:
                    await ws.send('{"type": "ping"}')
                    last_ping = time.monotonic()
        except asyncio.CancelledError:
            raise
        except Exception:  # a socket closed under load: counted, the run goes on
            self.failed += 1
            self.open = max(0, self.open - 1)
        finally:
            ws.transport.abort()  # no close handshake: the run is over or the socket is gone

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.wait(self._tasks, timeout=10)


async def _virtual_user(
    session: Any,
    base: str,
    token: str,
    deadline: float,
    samples: dict[str, list[float]],
    errors: dict[str, int],
) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    ids: list[str] = []
    ops, weights = list(WEIGHTS), list(WEIGHTS.values())
    while time.monotonic() < deadline:
        op = random.choices(ops, weights)[0]
        if op == "complete" and not ids:
            op = "list"
        if op == "list":
            method, path, body = "GET", "/api/tasks", None
        elif op == "search":
            method, path, body = "GET", "/api/tasks?q=report", None
        elif op == "create":
            method, path, body = "POST", "/api/tasks", {"title": f"Load test task {random.randint(1, 10**9)}"}
        elif op == "complete":
            method, path, body = "POST", f"/api/tasks/{random.choice(ids)}/toggle", None
        else:
            method, path, body = "POST", "/api/tasks/quick", {"text": random.choice(QUICK_ADD)}
        started = time.perf_counter()
        try:
            async with session.request(method, base + path, json=body, headers=headers) as response:
                payload = await response.read()
                status = response.status
        except Exception:
            errors[op] += 1
            errors["transport"] += 1
            continue
        samples[op].append(time.perf_counter() - started)
        if status >= 400:
            errors[op] += 1
        elif op == "list":
            ids = [task["id"] for task in json.loads(payload).get("results", [])][:20]


def _pct(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] * 1000 if values else float("nan")
    return statistics.quantiles(values, n=100)[q - 1] * 1000


async def _step(base: str, tokens: list[str], concurrency: int, seconds: float) -> dict[str, Any]:
    import aiohttp

    samples: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as session:
        started = time.monotonic()
        deadline = started + seconds
        await asyncio.gather(
            *(
                _virtual_user(session, base, tokens[(n * 7) % len(tokens)], deadline, samples, errors)
                for n in range(concurrency)
            )
        )
        elapsed = time.monotonic() - started
    everything = [value for values in samples.values() for value in values]
    total_errors = sum(errors[op] for op in WEIGHTS)
    attempts = len(everything) + errors["transport"]
    return {
        "concurrency": concurrency,
        "requests": len(everything),
        "rps": len(everything) / elapsed,
        "p50": _pct(everything, 50),
        "p95": _pct(everything, 95),
        "p99": _pct(everything, 99),
        "errors": total_errors,
        "error_rate": total_errors / max(1, attempts),
        "per_op": {
            op: (
                len(samples[op]),
                _pct(samples[op], 50),
                _pct(samples[op], 95),
                _pct(samples[op], 99),
                errors[op],
            )
            for op in WEIGHTS
        },
    }


def _knee(steps: list[dict[str, Any]]) -> dict[str, Any] | None:
    for previous, step in zip(steps, steps[1:], strict=False):
        if step["rps"] < 1.1 * previous["rps"] and step["p95"] > previous["p95"]:
            return previous
    return None


async def _run(base: str, ws_url: str, tokens: list[str], args: argparse.Namespace) -> list[dict[str, Any]]:
    sockets = Sockets(ws_url, tokens, args.sockets)
    await sockets.start()
    print(f"sockets open {sockets.open} of {args.sockets} (failed {sockets.failed})", flush=True)
    await _step(base, tokens, 4, 5)  # warm-up: every worker process, the compiled list queries
    results = []
    try:
        for concurrency in [int(c) for c in args.steps.split(",")]:
            load_before = os.getloadavg()[0]
            events_before = sockets.events
            result = await _step(base, tokens, concurrency, args.step_seconds)
            result["load"] = (load_before, os.getloadavg()[0])
            result["socket_events"] = sockets.events - events_before
            result["sockets_open"] = sockets.open
            results.append(result)
            print(
                f"c={concurrency:4d}  {result['rps']:7.1f} req/s  p50 {result['p50']:7.1f}"
                f"  p95 {result['p95']:7.1f}"
                f"  p99 {result['p99']:7.1f} ms  errors {result['errors']} ({result['error_rate']:.2%})"
                f"  socket events {result['socket_events']}  sockets open {sockets.open}"
                f"  load {result['load'][0]:.2f}→{result['load'][1]:.2f}",
                flush=True,
            )
            for op, (count, p50, p95, p99, errs) in result["per_op"].items():
                print(
                    f"        {op:10s} n={count:6d}  p50 {p50:7.1f}  p95 {p95:7.1f}"
                    f"  p99 {p99:7.1f}  errors {errs}"
                )
            if result["error_rate"] > 0.05:
                print("  stopping: more than 5 % errors", flush=True)
                break
    finally:
        await sockets.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", default="4,8,16,32,64,128", help="virtual users per step")
    parser.add_argument("--step-seconds", type=float, default=20)
    parser.add_argument("--users", type=int, default=200, help="accounts the virtual users share")
    parser.add_argument("--tasks-per-user", type=int, default=200)
    parser.add_argument("--sockets", type=int, default=200)
    parser.add_argument("--worker-concurrency", type=int, default=2)
    parser.add_argument("--port", type=int, default=8160, help="gunicorn; uvicorn gets the next port")
    args = parser.parse_args()
    if not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")):
        raise SystemExit("set DATABASE_URL (a PostgreSQL server) and REDIS_URL (a Redis DB of its own)")

    os.environ["BENCH_SERVER_URL"] = os.environ["DATABASE_URL"]
    env = _env(args.port)
    os.environ.update(env)
    tokens = _prepare(args.users, args.tasks_per_user)
    import redis

    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()

    logs = Path(tempfile.mkdtemp(prefix="bench-load-"))
    python = sys.executable
    bin_dir = Path(python).parent
    procs: list[subprocess.Popen[bytes]] = []
    try:
        procs.append(
            _start(
                [
                    str(bin_dir / "gunicorn"),
                    "-c",
                    "deploy/gunicorn.conf.py",
                    "--access-logfile",
                    "/dev/null",
                    "todo_project.wsgi:application",
                ],
                env,
                logs / "gunicorn.log",
            )
        )
        ws_port = args.port + 1
        procs.append(
            _start(
                [
                    python,
                    "-m",
                    "uvicorn",
                    "todo_project.asgi:application",
                    "--port",
                    str(ws_port),
                    "--lifespan",
                    "off",
                    "--no-access-log",
                    "--log-level",
                    "warning",
                    "--timeout-graceful-shutdown",
                    "5",
                ],
                env,
                logs / "uvicorn.log",
            )
        )
        procs.append(
            _start(
                [
                    python,
                    "-m",
                    "celery",
                    "-A",
                    "todo_project",
                    "worker",
                    "-l",
                    "WARNING",
                    "--concurrency",
                    str(args.worker_concurrency),
                    "--without-gossip",
                    "--without-mingle",
                ],
                env,
                logs / "worker.log",
            )
        )
        procs.append(
            _start(
                [
                    python,
                    "-m",
                    "celery",
                    "-A",
                    "todo_project",
                    "beat",
                    "-l",
                    "WARNING",
                    "--schedule",
                    str(logs / "beat-schedule"),
                ],
                env,
                logs / "beat.log",
            )
        )
        _wait_http(args.port, procs[0])
        _wait_http(ws_port, procs[1])
        print(f"servers up (logs in {logs}); load {os.getloadavg()}", flush=True)
        results = asyncio.run(
            _run(f"http://127.0.0.1:{args.port}", f"ws://127.0.0.1:{ws_port}/ws/tasks/", tokens, args)
        )
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
    knee = _knee(results)
    if knee is None:
        print("knee: not reached (throughput still grew ≥ 10 % at the last step)")
    else:
        print(
            f"knee: {knee['concurrency']} virtual users, {knee['rps']:.1f} req/s at p95 {knee['p95']:.1f} ms"
            " (the next step added < 10 % throughput and raised p95)"
        )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
