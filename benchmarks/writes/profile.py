"""SQL statements and Redis commands of one POST /api/tasks and one PATCH.

    DATABASE_URL=postgres://... REDIS_URL=redis://.../N \
        .venv/bin/python benchmarks/writes/profile.py [--idempotency-key] [--quiet]

Runs the requests through Django's full stack (WSGI handler, every
middleware, DRF, the services, on-commit dispatch enqueue) in this process
against real PostgreSQL and Redis, and prints each SQL statement and each
Redis command in order. Uses the database of benchmarks/writes/run.py.
"""

from __future__ import annotations

import argparse
import os
import sys
import uuid
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(BASE_DIR))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--idempotency-key", action="store_true")
    parser.add_argument("--quiet", action="store_true", help="counts only")
    args = parser.parse_args()
    import run as writes_bench

    writes_bench.ensure_database()
    os.environ.update(writes_bench.bench_env())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "todo_project.settings")
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from redis.connection import AbstractConnection

    commands: list[str] = []
    original = AbstractConnection.send_packed_command

    def counting(self, command, check_health=True):  # type: ignore[no-untyped-def]
        raw = command if isinstance(command, bytes | bytearray) else b"".join(command)
        commands.append(bytes(raw)[:90].decode(errors="replace").replace("\r\n", " "))
        return original(self, command, check_health)

    AbstractConnection.send_packed_command = counting  # type: ignore[method-assign]

    token = writes_bench.token_for(writes_bench.bench_user())
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_HOST="127.0.0.1")

    def show(label: str, response, queries, cmds) -> None:  # type: ignore[no-untyped-def]
        print(f"\n## {label}: HTTP {response.status_code}, {len(queries)} SQL, {len(cmds)} Redis commands")
        if args.quiet:
            return
        for q in queries:
            print("  SQL  ", q["sql"][:160])
        for c in cmds:
            print("  REDIS", c)

    extra = (lambda: {"HTTP_IDEMPOTENCY_KEY": str(uuid.uuid4())}) if args.idempotency_key else dict
    # Warm up: first requests load caches (content types, schema validators).
    for _ in range(3):
        r = client.post("/api/tasks", {"title": "warm"}, content_type="application/json", **extra())
    task_id = r.json()["id"]
    for _ in range(3):
        client.patch(
            f"/api/tasks/{task_id}", {"title": "warm again"}, content_type="application/json", **extra()
        )

    commands.clear()
    with CaptureQueriesContext(connection) as queries:
        r = client.post("/api/tasks", {"title": "profile me"}, content_type="application/json", **extra())
    show("POST /api/tasks", r, queries.captured_queries, list(commands))
    task_id = r.json()["id"]
    commands.clear()
    with CaptureQueriesContext(connection) as queries:
        r = client.patch(
            f"/api/tasks/{task_id}", {"title": "profiled"}, content_type="application/json", **extra()
        )
    show("PATCH /api/tasks/{id}", r, queries.captured_queries, list(commands))


if __name__ == "__main__":
    main()
