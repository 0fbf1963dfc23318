"""Write throughput: POST /api/tasks and PATCH /api/tasks/{id} against the
plain baseline (benchmarks/writes/bench_urls.py), same run, under gunicorn.

    DATABASE_URL=postgres://.../postgres REDIS_URL=redis://.../N .venv/bin/python benchmarks/writes/run.py

gunicorn runs the product's deploy/gunicorn.conf.py (2 workers, gthread) with
bench_settings (the product's settings plus the baseline URLs). Client
processes on the same machine keep one HTTP/1.1 connection each and send
requests back to back, spread over 200 users (each under the per-user
throttle, which stays on). The four paths alternate round by round, so load
from the shared machine falls on all alike; the ratio of means is the result.
No Celery worker runs: the on-commit enqueue of each dispatch is measured,
not the handlers. Uses its own database, ``taskbeat_bench_writes``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
BENCH_DB = "taskbeat_bench_writes"
USERS = 200
PORT = 8767
sys.path.insert(0, str(ROOT))

from benchmarks._common import start_gunicorn, wait_for_health  # noqa: E402


def bench_env() -> dict[str, str]:
    parsed = urlparse(os.environ["DATABASE_URL"])
    return {
        "DEBUG": "true",
        "DATABASE_URL": urlunparse(parsed._replace(path="/" + BENCH_DB)),
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": os.pathsep.join([str(HERE), str(ROOT)]),
    }


def ensure_database() -> None:
    import psycopg

    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DB]).fetchone():
            conn.execute(f'CREATE DATABASE "{BENCH_DB}"')
    env = {**os.environ, **bench_env()}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)


def bench_users() -> list:
    from django.contrib.auth import get_user_model

    model = get_user_model()
    users = []
    for n in range(USERS):
        user, created = model.objects.get_or_create(
            username=f"writer{n}", defaults={"email": f"writer{n}@bench.invalid"}
        )
        if created:
            user.set_unusable_password()
            user.save()
        users.append(user)
    return users


def bench_user():  # type: ignore[no-untyped-def]
    return bench_users()[0]


def token_for(user) -> str:  # type: ignore[no-untyped-def]
    from rest_framework_simplejwt.tokens import AccessToken

    return str(AccessToken.for_user(user))


def _client(job: tuple) -> tuple[int, int, list[float]]:
    method, paths, tokens, deadline = job
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
    ok = failed = 0
    latencies: list[float] = []
    i = 0
    body = json.dumps({"title": "Write benchmark task"})
    while time.time() < deadline:
        n = i % len(tokens)
        i += 1
        start = time.perf_counter()
        conn.request(
            method,
            paths[n],
            body=body,
            headers={"Authorization": f"Bearer {tokens[n]}", "Content-Type": "application/json"},
        )
        response = conn.getresponse()
        response.read()
        latencies.append((time.perf_counter() - start) * 1000)
        if response.status in (200, 201):
            ok += 1
        else:
            failed += 1
            if failed < 3:
                print("failed:", method, paths[n], response.status, file=sys.stderr)
    return ok, failed, latencies


def _round(method: str, paths: list[str], tokens: list[str], seconds: float, clients: int) -> dict:
    deadline = time.time() + seconds
    with multiprocessing.Pool(clients) as pool:
        share = len(tokens) // clients
        jobs = [
            (method, paths[n * share : (n + 1) * share], tokens[n * share : (n + 1) * share], deadline)
            for n in range(clients)
        ]
        outcomes = pool.map(_client, jobs)
    latencies = sorted(x for _, _, lat in outcomes for x in lat)
    return {
        "rps": sum(o for o, _, _ in outcomes) / seconds,
        "failed": sum(f for _, f, _ in outcomes),
        "latencies": latencies,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    ensure_database()
    os.environ.update(bench_env())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "todo_project.settings")
    sys.path.insert(0, str(HERE))
    import django

    django.setup()
    from tasks_app.models import Task

    users = bench_users()
    tokens = [token_for(user) for user in users]
    targets = []
    for user in users:
        task = Task.objects.filter(owner=user, title="PATCH target").first()
        if task is None:
            task = Task.objects.create(owner=user, title="PATCH target")
        targets.append(str(task.id))

    env = {**os.environ, **bench_env(), "DJANGO_SETTINGS_MODULE": "bench_settings"}
    env.update(WEB_BIND=f"127.0.0.1:{PORT}", WEB_WORKERS="2")
    server = start_gunicorn(env)
    cases = {
        "plain create": ("POST", ["/bench/plain-create"] * USERS),
        "POST /api/tasks": ("POST", ["/api/tasks"] * USERS),
        "plain update": ("POST", [f"/bench/plain-update/{t}" for t in targets]),
        "PATCH /api/tasks/{id}": ("PATCH", [f"/api/tasks/{t}" for t in targets]),
    }
    runs: dict[str, list[dict]] = {name: [] for name in cases}
    try:
        wait_for_health(PORT, attempts=150)
        load_before = os.getloadavg()
        for method, paths in cases.values():
            _round(method, paths, tokens, 2, args.clients)  # warm-up
        for _ in range(args.rounds):
            for name, (method, paths) in cases.items():
                runs[name].append(_round(method, paths, tokens, args.seconds, args.clients))
            print("round: " + "  ".join(f"{n} {r[-1]['rps']:.0f}/s" for n, r in runs.items()), flush=True)
        load_after = os.getloadavg()
    finally:
        server.terminate()
        server.wait(timeout=30)

    def summary(name: str) -> dict:
        lat = sorted(x for r in runs[name] for x in r["latencies"])
        q = statistics.quantiles(lat, n=100)
        return {
            "rps": statistics.mean(r["rps"] for r in runs[name]),
            "p50": q[49],
            "p95": q[94],
            "p99": q[98],
            "failed": sum(r["failed"] for r in runs[name]),
        }

    s = {name: summary(name) for name in cases}
    print(
        f"\nload average (1 min) before/after: {load_before[0]:.2f} / {load_after[0]:.2f}; "
        f"{args.rounds} rounds × {args.seconds:.0f} s, {args.clients} client processes"
    )
    print("| path | req/s (mean) | p50 ms | p95 ms | p99 ms | failed |")
    print("|---|---|---|---|---|---|")
    for name, v in s.items():
        row = f"{v['rps']:.1f} | {v['p50']:.1f} | {v['p95']:.1f} | {v['p99']:.1f} | {v['failed']}"
        print(f"| {name} | {row} |")
    print(
        f"ratio POST ÷ plain create: **{s['POST /api/tasks']['rps'] / s['plain create']['rps']:.2f}**; "
        f"PATCH ÷ plain update: **{s['PATCH /api/tasks/{id}']['rps'] / s['plain update']['rps']:.2f}**"
    )


if __name__ == "__main__":
    main()
