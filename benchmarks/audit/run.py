"""Audit log benchmark: feed latency, export streaming, retention purge at 1M entries.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/3 \\
        .venv/bin/python benchmarks/audit/run.py [--rows 1000000] [--heavy 100000]

Creates (and drops afterwards) its own database ``taskbeat_bench_audit`` on the
server of DATABASE_URL, fills ``audit_app_auditlog`` with ``--rows`` entries
over 90 days, ``--heavy`` of them belonging to one user, and measures, in
process through Django's full request stack (JWT auth, DRF, pagination):

- GET /api/audit for the heavy user: first page, a filtered page, a deep page;
- EXPLAIN (ANALYZE) of the feed query: which index serves it;
- GET /api/audit/export of all the heavy user's entries, CSV and JSON: rows/s
  and peak Python memory while streaming (tracemalloc);
- the per-row rendering cost, DRF ModelSerializer against entry_representation;
- the retention purge of the entries older than 80 days.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BASE_DIR = Path(__file__).resolve().parents[2]
BENCH_DB = "taskbeat_bench_audit"


def _with_db(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def _prepare_environment() -> str:
    import psycopg

    admin_url = os.environ.get("DATABASE_URL")
    if not admin_url or not os.environ.get("REDIS_URL"):
        sys.exit("Set DATABASE_URL (any database on the server) and REDIS_URL.")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB}")
        conn.execute(f"CREATE DATABASE {BENCH_DB}")

    # Production-like settings: DEBUG off (no query log), real keys for JWT.
    from todo_project.keys import load_or_create_local_keypair

    private, public = load_or_create_local_keypair(Path(tempfile.mkdtemp()))
    os.environ.update(
        {
            "DATABASE_URL": _with_db(admin_url, BENCH_DB),
            "DEBUG": "false",
            "SECRET_KEY": "bench-" + "x" * 40,
            "JWT_PRIVATE_KEY": private,
            "JWT_PUBLIC_KEY": public,
            "ALLOWED_HOSTS": "localhost",
            "THROTTLE_USER_RATE": "100000/min",
            "LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "todo_project.settings",
        }
    )
    return admin_url


def _fill(rows: int, heavy: int, heavy_user_id: int) -> None:
    from django.db import connection

    # Entries scattered over 90 days (a stride coprime to the span); the
    # heavy user's first, the rest over 999 other actors. Metadata shaped like a task.updated entry.
    sql = """
        INSERT INTO audit_app_auditlog
            (event_id, action, actor_type, actor_id, actor_email, resource_type, resource_id,
             timestamp, metadata, source, created_at)
        SELECT gen_random_uuid(),
               (ARRAY['task.created', 'task.updated', 'task.completed', 'task.deleted',
                      'user.login'])[1 + g %% 5],
               'user',
               CASE WHEN g <= %(heavy)s THEN %(heavy_user)s ELSE 100000 + g %% 999 END,
               'bench@example.com', 'task', gen_random_uuid()::text,
               now() - ((g::bigint * 7919) %% 7776000) * interval '1 second',
               '{"previous": {"title": "Pay rent"}, "new": {"title": "Pay the rent"},
                 "details": {"version": 2}, "client_ip": "203.0.113.9",
                 "user_agent": "Mozilla/5.0 (X11; Linux x86_64)", "request_id": "bench"}'::jsonb,
               '/taskbeat/tasks', now()
        FROM generate_series(1, %(rows)s) AS g
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, {"rows": rows, "heavy": heavy, "heavy_user": heavy_user_id})
        cursor.execute("VACUUM ANALYZE audit_app_auditlog")


def _timed_gets(client, path: str, params: dict, n: int) -> list[float]:
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        response = client.get(path, params)
        samples.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.content[:300]
    return samples


def _p(samples: list[float], q: float) -> float:
    return statistics.quantiles(samples, n=100)[int(q) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--heavy", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()

    sys.path.insert(0, str(BASE_DIR))
    admin_url = _prepare_environment()
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone
    from rest_framework.test import APIClient
    from rest_framework_simplejwt.tokens import RefreshToken

    from audit_app.selectors import audit_entries_for_user
    from audit_app.services import audit_purge

    try:
        call_command("migrate", verbosity=0)
        user = get_user_model().objects.create_user("heavy", "heavy@example.com", "bench-Password-1")
        start = time.perf_counter()
        _fill(args.rows, args.heavy, user.pk)
        print(
            f"filled {args.rows:,} entries ({args.heavy:,} for one user) "
            f"in {time.perf_counter() - start:.1f} s"
        )

        client = APIClient(SERVER_NAME="localhost")
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
        _timed_gets(client, "/api/audit", {}, 10)  # warm up caches and connections

        print(f"\nGET /api/audit, {args.requests} requests each, ms (in-process, full Django stack)")
        print(f"{'case':<52} {'p50':>7} {'p95':>7}")
        cases = [
            ("first page (limit 20)", {}),
            ("limit 100", {"limit": 100}),
            (
                "action=task.updated,task.deleted & since 30 days",
                {
                    "action": "task.updated,task.deleted",
                    "since": (timezone.now() - timedelta(days=30)).isoformat().replace("+00:00", "Z"),
                },
            ),
            ("page 500 (limit 20)", {"page": 500}),
        ]
        for label, params in cases:
            samples = _timed_gets(client, "/api/audit", params, args.requests)
            print(f"{label:<52} {_p(samples, 50):7.2f} {_p(samples, 95):7.2f}")

        query = audit_entries_for_user(user_id=user.pk)[:20]
        with connection.cursor() as cursor:
            sql, params = query.query.sql_with_params()
            cursor.execute("EXPLAIN (ANALYZE, COSTS OFF) " + sql, params)
            plan = [row[0] for row in cursor.fetchall()]
        print("\nEXPLAIN ANALYZE of the first feed page:")
        for line in plan:
            print("   ", line)

        print(f"\nGET /api/audit/export of {args.heavy:,} entries")
        for export_format in ("csv", "json"):
            # Throughput without tracemalloc (which slows allocation-heavy code
            # several-fold), then a second run for the memory peak.
            start = time.perf_counter()
            response = client.get("/api/audit/export", {"format": export_format})
            size = sum(len(chunk) for chunk in response.streaming_content)
            elapsed = time.perf_counter() - start
            tracemalloc.start()
            response = client.get("/api/audit/export", {"format": export_format})
            for _ in response.streaming_content:
                pass
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            print(
                f"  {export_format}: {elapsed:.2f} s, {args.heavy / elapsed:,.0f} rows/s, "
                f"{size / 1e6:.1f} MB streamed, peak Python memory while streaming {peak / 1e6:.1f} MB"
            )

        # The per-row cost that decides export speed: DRF's ModelSerializer
        # (one instance per row) against the hand-built representation.
        from rest_framework import serializers

        from audit_app.serializers import AuditEntrySerializer, entry_representation

        class DeclaredSerializer(AuditEntrySerializer):
            to_representation = serializers.ModelSerializer.to_representation

        sample = list(audit_entries_for_user(user_id=user.pk)[:20000])
        print(f"\nrendering one entry (mean over {len(sample):,} rows)")
        for label, render in (
            ("DRF ModelSerializer per row", lambda e: DeclaredSerializer(e).data),
            ("entry_representation", entry_representation),
        ):
            start = time.perf_counter()
            for entry in sample:
                render(entry)
            print(f"  {label:<28} {(time.perf_counter() - start) / len(sample) * 1e6:7.1f} us/row")

        cutoff = timezone.now() - timedelta(days=80)
        start = time.perf_counter()
        purged = audit_purge(older_than=cutoff)
        elapsed = time.perf_counter() - start
        print(
            f"\nretention purge: {purged:,} entries older than 80 days in {elapsed:.2f} s "
            f"({purged / elapsed:,.0f} rows/s, batches of 5,000)"
        )
    finally:
        connection.close()
        import psycopg

        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")


if __name__ == "__main__":
    main()
