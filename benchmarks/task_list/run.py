"""Task list benchmark: 1,000,000 tasks, 100,000 of them one user's.

    .venv/bin/python benchmarks/task_list/run.py            # load (once), measure, print
    .venv/bin/python benchmarks/task_list/run.py --reload   # rebuild the data set first

Measures, against a separate database (``taskbeat_bench`` by default):
1. server-side latency of ``GET /api/tasks`` (q + tags + priority and other
   shapes) through the whole Django stack in-process (middleware, JWT auth,
   throttle, validation, SQL, rendering) — no network, no client;
2. ``EXPLAIN (ANALYZE, BUFFERS)`` of the list query, to show the GIN indexes;
3. throughput of the authenticated 20-task list under gunicorn (2 workers,
   the product's gunicorn.conf) against a plain Django view returning the same
   20 rows via ``.values()``, in the same run, alternating.

Environment: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/taskbeat_bench),
REDIS_URL (default redis://127.0.0.1:6379/1).
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import secrets
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._common import machine, start_gunicorn, wait_for_health  # noqa: E402

TOTAL_TASKS = 1_000_000
HEAVY_TASKS = 100_000
SMALL_USERS = 200  # 20 tasks each: the throughput comparison spreads its load over them
SMALL_TASKS = 20
FILLER_USERS = 896  # the other 896,000 tasks, 1,000 each

BENCH_DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/taskbeat_bench")
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/1")

# The everyday views (tasks_app/agenda/), for the same 100,000-task user.
VIEW_SCENARIOS = {
    "views/today": "/api/views/today",
    "views/upcoming?days=7": "/api/views/upcoming?days=7",
    "views/overdue": "/api/views/overdue",
    "views/inbox": "/api/views/inbox",
    "views/counts": "/api/views/counts",
    "tasks?project=…&include_subprojects": "/api/tasks?project=inbox&include_subprojects=true",
    "tasks?q=groc (prefix search)": "/api/tasks?q=groc",
    # Calibration: the list's default page, measured at p95 6–9 ms on a quiet
    # machine (below); how far this run's number is off says how loaded it was.
    "calibration: default page (position order)": "/api/tasks",
}
SCENARIOS = {
    "q+tags+priority (goal)": "/api/tasks?q=quarterly&tags=work&priority=high",
    "q only": "/api/tasks?q=quarterly%20report",
    "tags=work,finance (AND)": "/api/tasks?tags=work,finance",
    "default page (position order)": "/api/tasks",
    "sort_by=due_at, status=active": "/api/tasks?status=active&sort_by=due_at",
}


def _admin_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/postgres"))


def _db_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def _keys() -> tuple[str, str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def _env(keys: tuple[str, str]) -> dict[str, str]:
    # Production mode (DEBUG off): no query logging, the real settings path.
    env = dict(os.environ)
    env.update(
        {
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(48),
            "JWT_PRIVATE_KEY": keys[0],
            "JWT_PUBLIC_KEY": keys[1],
            "DATABASE_URL": BENCH_DB_URL,
            "REDIS_URL": REDIS_URL,
            "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
            "SESSION_COOKIE_SECURE": "false",
            "SECURE_HSTS_SECONDS": "0",
            "PYTHONPATH": f"{HERE}{os.pathsep}{ROOT}",
            "DJANGO_SETTINGS_MODULE": "bench_settings",
        }
    )
    return env


def ensure_database() -> None:
    import psycopg

    name = _db_name(BENCH_DB_URL)
    with psycopg.connect(_admin_url(BENCH_DB_URL), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')  # noqa: S608 - our own fixed name


# Words for titles/descriptions; "quarterly" is put in about 1% of titles so
# a search for it is selective, as real searches are.
_LOAD_SQL = """
BEGIN;
TRUNCATE tasks_app_task, tasks_app_section, tasks_app_project, tasks_app_savedfilter, accounts_profile,
    auth_user
    RESTART IDENTITY CASCADE;

INSERT INTO auth_user (id, password, is_superuser, username, first_name, last_name, email,
                       is_staff, is_active, date_joined)
SELECT i, '!', false, 'user' || i, '', '', 'user' || i || '@example.com', false, true, now()
FROM generate_series(1, {users}) AS i;
SELECT setval(pg_get_serial_sequence('auth_user', 'id'), {users});
INSERT INTO accounts_profile (user_id, timezone, created_at, updated_at)
SELECT id, 'Europe/Berlin', now(), now() FROM auth_user;

-- Every user's Inbox; user 1 also has nine projects and gets a tenth of their
-- tasks in each of the ten.
INSERT INTO tasks_app_project (id, owner_id, name, color, position, is_inbox, is_archived, version,
                               created_at, updated_at)
SELECT gen_random_uuid(), id, 'Inbox', '#808080', 0, true, false, 1, now(), now() FROM auth_user;
INSERT INTO tasks_app_project (id, owner_id, name, color, position, is_inbox, is_archived, version,
                               created_at, updated_at)
SELECT gen_random_uuid(), 1, 'Project ' || k, '#808080', k, false, false, 1, now(), now()
FROM generate_series(1, 9) AS k;
CREATE TEMP TABLE heavy_projects AS
SELECT position AS k, id FROM tasks_app_project WHERE owner_id = 1;
CREATE TEMP TABLE inboxes AS SELECT owner_id, id FROM tasks_app_project WHERE is_inbox;
CREATE UNIQUE INDEX ON inboxes (owner_id);

CREATE TEMP TABLE words AS SELECT ARRAY[
  'call','email','review','plan','buy','fix','write','read','clean','book','pay','send','check',
  'prepare','update','meeting','invoice','report','dentist','groceries','car','garden','budget',
  'slides','taxes','contract','flight','hotel','gift','birthday','code','deploy','backup','team'
] AS w, ARRAY['Work','home','Finance','urgent','errands','health','q4-2026','family','someday',
              'reading','travel','admin'] AS t;

INSERT INTO tasks_app_task (id, owner_id, title, description, is_completed, completed_at, due_date,
    due_at, remind_at, is_recurring, recurrence_rule, priority, tags, tag_keys, position, version,
    created_at, updated_at, is_skipped, project_id)
SELECT gen_random_uuid(),
       g.owner,
       CASE WHEN i % 97 = 0 THEN 'Quarterly report ' || (i % 13)
            ELSE w[1 + i % 34] || ' ' || w[1 + (i / 34) % 34] || ' ' || w[1 + (i * 7) % 34] END,
       w[1 + (i * 3) % 34] || ' the ' || w[1 + (i * 11) % 34] || ' before ' || w[1 + (i * 13) % 34]
         || CASE WHEN i % 89 = 0 THEN ' for the quarterly review' ELSE '' END,
       i % 5 = 0, CASE WHEN i % 5 = 0 THEN now() END,
       -- Due from 20 (dates) or 30 (times) days ago: about a tenth of open
       -- tasks are overdue, as in a list that is actually used.
       CASE WHEN i % 10 = 3 THEN (current_date - 20 + (i % 200)) END,
       CASE WHEN i % 10 < 7 THEN now() - interval '30 days' + make_interval(hours => i % 5000) END,
       NULL,
       i % 50 = 0, CASE WHEN i % 50 = 0 THEN 'FREQ=WEEKLY' ELSE '' END,
       (ARRAY['low','medium','high'])[1 + (i * 31) % 3],
       CASE WHEN t[1 + i % 12] = t[1 + (i / 12) % 12] THEN jsonb_build_array(t[1 + i % 12])
            ELSE jsonb_build_array(t[1 + i % 12], t[1 + (i / 12) % 12]) END,
       CASE WHEN t[1 + i % 12] = t[1 + (i / 12) % 12] THEN jsonb_build_array(lower(t[1 + i % 12]))
            ELSE jsonb_build_array(lower(t[1 + i % 12]), lower(t[1 + (i / 12) % 12])) END,
       i, 1, now() - make_interval(secs => {total} - i), now(), false,
       CASE WHEN g.owner = 1 THEN (SELECT id FROM heavy_projects WHERE k = (i / 10) % 10)
            ELSE (SELECT id FROM inboxes WHERE inboxes.owner_id = g.owner) END
FROM (SELECT i, CASE WHEN i <= {heavy} THEN 1
                     WHEN i <= {heavy} + {small_total} THEN 2 + (i - {heavy} - 1) / {small}
                     ELSE 2 + {small_users} + (i - {heavy} - {small_total} - 1) / 1000 END AS owner
      FROM generate_series(1, {total}) AS i) AS g, words;

COMMIT;
ANALYZE;
"""


def load(env: dict[str, str]) -> None:
    import psycopg

    users = 1 + SMALL_USERS + FILLER_USERS
    sql = _LOAD_SQL.format(
        users=users,
        heavy=HEAVY_TASKS,
        total=TOTAL_TASKS,
        small=SMALL_TASKS,
        small_users=SMALL_USERS,
        small_total=SMALL_USERS * SMALL_TASKS,
    )
    started = time.perf_counter()
    with psycopg.connect(BENCH_DB_URL, autocommit=True) as conn:
        conn.execute(sql)
        # What autovacuum does to a live table (it may be off on a test server):
        # sets the visibility map, so COUNTs can be index-only scans.
        conn.execute("VACUUM (ANALYZE) tasks_app_task")
    print(f"loaded {TOTAL_TASKS:,} tasks in {time.perf_counter() - started:.1f} s")


def _needs_load() -> bool:
    import psycopg

    with psycopg.connect(BENCH_DB_URL) as conn:
        try:
            (count,) = conn.execute("SELECT count(*) FROM tasks_app_task").fetchone()
        except psycopg.errors.UndefinedTable:
            return True
        (small,) = conn.execute("SELECT count(*) FROM tasks_app_task WHERE owner_id = 2").fetchone()
        (projects,) = conn.execute("SELECT count(*) FROM tasks_app_project WHERE owner_id = 1").fetchone()
    return count != TOTAL_TASKS or small != SMALL_TASKS or projects != 10


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]


BREAKDOWN_USER_ID = 3  # one of the 20-task users


def _matching(body: dict) -> int:
    """How many tasks a response lists (or counts, for views/counts)."""
    if "count" in body:
        return body["count"]
    if "overdue" in body and isinstance(body["overdue"], list):
        return len(body["overdue"]) + len(body["today"])
    if "days" in body:
        return sum(len(day["tasks"]) for day in body["days"])
    if "results" in body:
        return len(body["results"])
    return body.get("today", 0) + body.get("overdue", 0)


def measure_in_process(requests: int, *, views_only: bool = False) -> dict:
    """Server-side latency: the full Django stack, called in-process."""
    import django

    # bench_urls reads the baseline's owner when the URLconf is first imported.
    os.environ["BENCH_BASELINE_OWNER_ID"] = str(BREAKDOWN_USER_ID)

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from rest_framework_simplejwt.tokens import RefreshToken

    from tasks_app.selectors import parse_task_list_params, task_list

    heavy = get_user_model().objects.get(pk=1)
    token = str(RefreshToken.for_user(heavy).access_token)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    results: dict = {"latency_ms": {}, "explain": {}}
    scenarios = VIEW_SCENARIOS if views_only else {**SCENARIOS, **VIEW_SCENARIOS}
    for name, url in scenarios.items():
        for _ in range(20):  # warm caches and the connection pool
            assert client.get(url).status_code == 200
        timings = []
        count = None
        for _ in range(requests):
            started = time.perf_counter()
            response = client.get(url)
            timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.content[:200]
            count = _matching(response.json())
        results["latency_ms"][name] = {
            "url": url,
            "matching_tasks": count,
            "p50": round(statistics.median(timings), 2),
            "p95": round(_percentile(timings, 95), 2),
            "max": round(max(timings), 2),
            "n": requests,
        }
        print(f"{name:34s} p50 {statistics.median(timings):7.2f} ms  p95 {_percentile(timings, 95):7.2f} ms")

    if not views_only:
        results["in_process_breakdown_ms"] = _breakdown(Client, RefreshToken, requests)

    def explain(sql: str, params: Any) -> str:
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
            return "\n".join(row[0] for row in cursor.fetchall())

    # Every query the heaviest views run (authentication's aside).
    for name in ("views/today", "views/counts", "tasks?q=groc (prefix search)"):
        with CaptureQueriesContext(connection) as captured:
            client.get(VIEW_SCENARIOS[name])
        for number, query in enumerate(q for q in captured.captured_queries if "tasks_app_task" in q["sql"]):
            results["explain"][f"{name} #{number + 1}"] = explain(query["sql"], None)
    if views_only:
        connection.close()
        return results

    # The page query of each shape, and the COUNT the endpoint runs after a full page.
    for name, raw in (
        ("q+tags+priority", {"q": "quarterly", "tags": "work", "priority": "high"}),
        ("tags=work,finance", {"tags": "work,finance"}),
        ("status=active&sort_by=due_at", {"status": "active", "sort_by": "due_at"}),
    ):
        queryset = task_list(user=heavy, params=parse_task_list_params(raw))
        sql, params = queryset.query.sql_with_params()
        results["explain"][name] = explain(f"{sql} LIMIT 20", params)
        if "q" not in raw:  # a search counts inside its page query
            with CaptureQueriesContext(connection) as captured:
                queryset.count()
            count_sql = captured.captured_queries[-1]["sql"]
            results["explain"][f"{name} (COUNT)"] = explain(count_sql, None)
    connection.close()
    return results


def _breakdown(client_class: Any, token_class: Any, requests: int) -> dict[str, float]:
    """Where a 20-row list request's time goes, in-process, one user of 20 tasks.

    "api_tasks_without_throttle" is a diagnostic only: the same endpoint with
    its throttle classes removed in this process, to separate the product's
    rate limiting from the list code.
    """
    from django.contrib.auth import get_user_model

    from tasks_app import views

    user = get_user_model().objects.get(pk=BREAKDOWN_USER_ID)
    client = client_class(HTTP_AUTHORIZATION=f"Bearer {token_class.for_user(user).access_token}")
    variants = {
        "plain_values": "/bench/plain-values",
        "plain_values_jwt": "/bench/plain-values-jwt",
        "api_tasks": "/api/tasks?limit=20",
    }
    for url in variants.values():  # each answers the same 20 rows
        assert len(client.get(url).json()["results"]) == SMALL_TASKS, url
    timings: dict[str, list[float]] = {name: [] for name in [*variants, "api_tasks_without_throttle"]}
    for _ in range(3):
        for name, url in [*variants.items(), ("api_tasks_without_throttle", variants["api_tasks"])]:
            saved = views.TaskListCreateView.throttle_classes
            if name == "api_tasks_without_throttle":
                views.TaskListCreateView.throttle_classes = []
            try:
                for _ in range(10):
                    client.get(url)
                started = time.perf_counter()
                for _ in range(requests // 3):
                    assert client.get(url).status_code == 200
                timings[name].append((time.perf_counter() - started) * 1000 / (requests // 3))
            finally:
                views.TaskListCreateView.throttle_classes = saved
    out = {name: round(statistics.median(values), 3) for name, values in timings.items()}
    print("in-process per request (ms): " + ", ".join(f"{k} {v}" for k, v in out.items()))
    return out


def _worker(args: tuple[str, int, list[str], float, int]) -> tuple[int, int]:
    path, port, tokens, deadline, offset = args
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    ok = failed = 0
    index = offset
    while time.monotonic() < deadline:
        # Rotate over the users so each stays under the product's per-user rate limit.
        index = (index + 1) % len(tokens)
        headers = {"Authorization": f"Bearer {tokens[index]}", "Host": "127.0.0.1"}
        try:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            if response.status == 200:
                ok += 1
            else:
                failed += 1
            if response.getheader("Connection", "").lower() == "close":
                conn.close()
        except (OSError, http.client.HTTPException):
            failed += 1
            conn.close()
    return ok, failed


def _throughput(
    path: str, port: int, tokens: list[str], seconds: float, concurrency: int
) -> tuple[float, int]:
    # spawn, not fork: the parent holds a database pool with its own threads.
    with multiprocessing.get_context("spawn").Pool(concurrency) as pool:
        deadline = time.monotonic() + seconds
        jobs = [(path, port, tokens, deadline, n * len(tokens) // concurrency) for n in range(concurrency)]
        outcomes = pool.map(_worker, jobs)
    ok = sum(o for o, _ in outcomes)
    failed = sum(f for _, f in outcomes)
    return ok / seconds, failed


def measure_throughput(env: dict[str, str], seconds: float, concurrency: int, rounds: int) -> dict:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from rest_framework_simplejwt.tokens import RefreshToken

    users = get_user_model().objects.filter(pk__gte=2, pk__lt=2 + SMALL_USERS).order_by("pk")
    tokens = [str(RefreshToken.for_user(user).access_token) for user in users]
    port = 8765
    server_env = {**env, "BENCH_BASELINE_OWNER_ID": "2", "WEB_BIND": f"127.0.0.1:{port}", "WEB_WORKERS": "2"}
    server = start_gunicorn(server_env)
    paths = {
        "plain_values": "/bench/plain-values",
        "plain_values_jwt": "/bench/plain-values-jwt",
        "api_tasks": "/api/tasks?limit=20",
    }
    runs: dict[str, list[float]] = {name: [] for name in paths}
    failures = 0
    try:
        wait_for_health(port)
        for path in paths.values():  # each answers the same 20 rows
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", path, headers={"Authorization": f"Bearer {tokens[0]}"})
            body = json.loads(conn.getresponse().read())
            assert len(body["results"]) == SMALL_TASKS, (path, body)
        for path in paths.values():
            _throughput(path, port, tokens, 2, concurrency)  # warm-up
        for _ in range(rounds):
            for name, path in paths.items():
                rate, failed = _throughput(path, port, tokens, seconds, concurrency)
                runs[name].append(rate)
                failures += failed
            print("round: " + "   ".join(f"{name} {runs[name][-1]:7.1f} req/s" for name in paths))
    finally:
        server.terminate()
        server.wait(timeout=30)
    mean = {name: statistics.mean(values) for name, values in runs.items()}
    return {
        **{f"{name}_rps": round(value, 1) for name, value in mean.items()},
        "ratio_vs_plain_values": round(mean["api_tasks"] / mean["plain_values"], 3),
        "ratio_vs_plain_values_jwt": round(mean["api_tasks"] / mean["plain_values_jwt"], 3),
        "rounds": rounds,
        "seconds_per_run": seconds,
        "client_processes": concurrency,
        "failed_requests": failures,
        "runs": {name: [round(r, 1) for r in values] for name, values in runs.items()},
    }


def _markdown(results: dict) -> str:
    machine = results["machine"]
    lines = [
        f"Run at {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {machine['cpus']} CPUs, "
        f"PostgreSQL {machine['postgres']}, load average before/after "
        f"{machine['load_average_before'][0]:.1f}/{machine['load_average_after'][0]:.1f}.",
        "",
        "| GET (user with 100,000 of 1,000,000 tasks) | matching | p50 ms | p95 ms | max ms | n |",
        "|---|---|---|---|---|---|",
    ]
    for name, row in results["latency_ms"].items():
        lines.append(
            f"| {name}: `{row['url']}` | {row['matching_tasks']} | {row['p50']} | {row['p95']} "
            f"| {row['max']} | {row['n']} |"
        )
    breakdown = results["in_process_breakdown_ms"]
    lines += ["", "| in-process, 20-row list | ms per request |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in breakdown.items()]
    throughput = results["throughput"]
    lines += [
        "",
        "| gunicorn, 2 workers (gthread), 20 rows | req/s (mean) | runs |",
        "|---|---|---|",
    ]
    for name in ("plain_values", "plain_values_jwt", "api_tasks"):
        lines.append(f"| {name} | {throughput[name + '_rps']} | {throughput['runs'][name]} |")
    lines += [
        "",
        f"Ratio /api/tasks ÷ plain .values(): **{throughput['ratio_vs_plain_values']}**; "
        f"÷ plain .values() + JWT: **{throughput['ratio_vs_plain_values_jwt']}** "
        f"({throughput['rounds']} alternating rounds of {throughput['seconds_per_run']} s, "
        f"{throughput['client_processes']} client processes, "
        f"{throughput['failed_requests']} failed requests).",
        "",
    ]
    for name, plan in results["explain"].items():
        lines += [f"EXPLAIN (ANALYZE, BUFFERS) — {name}:", "", "```", plan, "```", ""]
    return "\n".join(lines)


def _machine(load_before: tuple[float, float, float]) -> dict:
    return machine(BENCH_DB_URL, load_before)


def _write_views_results(results: dict, load_before: tuple[float, float, float]) -> None:
    results["machine"] = machine = _machine(load_before)
    (HERE / "views_results.json").write_text(json.dumps(results, indent=2) + "\n")
    lines = [
        f"Run at {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {machine['cpus']} CPUs, "
        f"PostgreSQL {machine['postgres']}, load average (1/5/15 min) before "
        f"{'/'.join(f'{v:.1f}' for v in machine['load_average_before'])}, after "
        f"{'/'.join(f'{v:.1f}' for v in machine['load_average_after'])}.",
        "",
        "| GET (user with 100,000 of 1,000,000 tasks) | tasks listed | p50 ms | p95 ms | max ms | n |",
        "|---|---|---|---|---|---|",
    ]
    for name, row in results["latency_ms"].items():
        lines.append(
            f"| {name}: `{row['url']}` | {row['matching_tasks']} | {row['p50']} | {row['p95']} "
            f"| {row['max']} | {row['n']} |"
        )
    for name, plan in results["explain"].items():
        lines += ["", f"EXPLAIN (ANALYZE, BUFFERS) — {name}:", "", "```", plan, "```"]
    (HERE / "views_results.md").write_text("\n".join(lines) + "\n")
    print("wrote views_results.json and views_results.md")


# --- the curve: one user each with 1,000, 10,000, 100,000 and 1,000,000 tasks -------

CURVE_DB_URL = os.environ.get(
    "BENCH_CURVE_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/taskbeat_bench_curve"
)
CURVE_SIZES = (1_000, 10_000, 100_000, 1_000_000)
CURVE_SCENARIOS = {
    "list (default page)": "/api/tasks",
    "q only": "/api/tasks?q=quarterly%20report",
    "prefix q=groc": "/api/tasks?q=groc",
    "views/today": "/api/views/today",
    "views/counts": "/api/views/counts",
}

# Users 1–4 own CURVE_SIZES tasks (1,111,000 in all), made like the main data
# set's (same titles, tags, due times, completion), each user's in their Inbox.
_CURVE_LOAD_SQL = """
BEGIN;
TRUNCATE tasks_app_task, tasks_app_section, tasks_app_project, tasks_app_savedfilter, accounts_profile,
    auth_user
    RESTART IDENTITY CASCADE;
INSERT INTO auth_user (id, password, is_superuser, username, first_name, last_name, email,
                       is_staff, is_active, date_joined)
SELECT i, '!', false, 'user' || i, '', '', 'user' || i || '@example.com', false, true, now()
FROM generate_series(1, 4) AS i;
SELECT setval(pg_get_serial_sequence('auth_user', 'id'), 4);
INSERT INTO accounts_profile (user_id, timezone, created_at, updated_at)
SELECT id, 'Europe/Berlin', now(), now() FROM auth_user;
INSERT INTO tasks_app_project (id, owner_id, name, color, position, is_inbox, is_archived, version,
                               created_at, updated_at)
SELECT gen_random_uuid(), id, 'Inbox', '#808080', 0, true, false, 1, now(), now() FROM auth_user;
CREATE TEMP TABLE inboxes AS SELECT owner_id, id FROM tasks_app_project WHERE is_inbox;
CREATE TEMP TABLE words AS SELECT ARRAY[
  'call','email','review','plan','buy','fix','write','read','clean','book','pay','send','check',
  'prepare','update','meeting','invoice','report','dentist','groceries','car','garden','budget',
  'slides','taxes','contract','flight','hotel','gift','birthday','code','deploy','backup','team'
] AS w, ARRAY['Work','home','Finance','urgent','errands','health','q4-2026','family','someday',
              'reading','travel','admin'] AS t;
INSERT INTO tasks_app_task (id, owner_id, title, description, is_completed, completed_at, due_date,
    due_at, remind_at, is_recurring, recurrence_rule, priority, tags, tag_keys, position, version,
    created_at, updated_at, is_skipped, project_id)
SELECT gen_random_uuid(), g.owner,
       CASE WHEN i % 97 = 0 THEN 'Quarterly report ' || (i % 13)
            ELSE w[1 + i % 34] || ' ' || w[1 + (i / 34) % 34] || ' ' || w[1 + (i * 7) % 34] END,
       w[1 + (i * 3) % 34] || ' the ' || w[1 + (i * 11) % 34] || ' before ' || w[1 + (i * 13) % 34]
         || CASE WHEN i % 89 = 0 THEN ' for the quarterly review' ELSE '' END,
       i % 5 = 0, CASE WHEN i % 5 = 0 THEN now() END,
       CASE WHEN i % 10 = 3 THEN (current_date - 20 + (i % 200)) END,
       CASE WHEN i % 10 < 7 THEN now() - interval '30 days' + make_interval(hours => i % 5000) END,
       NULL, i % 50 = 0, CASE WHEN i % 50 = 0 THEN 'FREQ=WEEKLY' ELSE '' END,
       (ARRAY['low','medium','high'])[1 + (i * 31) % 3],
       CASE WHEN t[1 + i % 12] = t[1 + (i / 12) % 12] THEN jsonb_build_array(t[1 + i % 12])
            ELSE jsonb_build_array(t[1 + i % 12], t[1 + (i / 12) % 12]) END,
       CASE WHEN t[1 + i % 12] = t[1 + (i / 12) % 12] THEN jsonb_build_array(lower(t[1 + i % 12]))
            ELSE jsonb_build_array(lower(t[1 + i % 12]), lower(t[1 + (i / 12) % 12])) END,
       i, 1, now() - make_interval(secs => 2000000 - i), now(), false,
       (SELECT id FROM inboxes WHERE inboxes.owner_id = g.owner)
FROM (SELECT i, CASE WHEN i <= 1000 THEN 1 WHEN i <= 11000 THEN 2 WHEN i <= 111000 THEN 3 ELSE 4 END
      AS owner FROM generate_series(1, 1111000) AS i) AS g, words;
COMMIT;
"""


def _curve_needs_load() -> bool:
    import psycopg

    with psycopg.connect(CURVE_DB_URL) as conn:
        try:
            rows = conn.execute(
                "SELECT owner_id, count(*) FROM tasks_app_task GROUP BY 1 ORDER BY 1"
            ).fetchall()
        except psycopg.errors.UndefinedTable:
            return True
    return [n for _, n in rows] != list(CURVE_SIZES)


def measure_curve(requests: int) -> dict:
    """List, search and view latency for users with 1k, 10k, 100k and 1M tasks (in-process)."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.test import Client
    from rest_framework_simplejwt.tokens import RefreshToken

    results: dict = {"latency_ms": {}}
    for user_id, size in enumerate(CURVE_SIZES, start=1):
        user = get_user_model().objects.get(pk=user_id)
        client = Client(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
        row: dict = {}
        for name, url in CURVE_SCENARIOS.items():
            for _ in range(5):
                assert client.get(url).status_code == 200
            timings = []
            for _ in range(requests):
                started = time.perf_counter()
                response = client.get(url)
                timings.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, response.content[:200]
            row[name] = {
                "p50": round(statistics.median(timings), 2),
                "p95": round(_percentile(timings, 95), 2),
                "matching": _matching(response.json()),
            }
            print(
                f"{size:>9,} tasks  {name:22s} p50 {row[name]['p50']:8.2f} ms  p95 {row[name]['p95']:8.2f} ms"
            )
        results["latency_ms"][str(size)] = row
    return results


def _write_curve_results(results: dict, load_before: tuple[float, float, float], requests: int) -> None:
    results["machine"] = machine = _machine(load_before)
    results["requests_per_cell"] = requests
    (HERE / "curve_results.json").write_text(json.dumps(results, indent=2) + "\n")
    lines = [
        f"Run at {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {machine['cpus']} CPUs, "
        f"PostgreSQL {machine['postgres']}, load average (1/5/15 min) before "
        f"{'/'.join(f'{v:.1f}' for v in machine['load_average_before'])}, after "
        f"{'/'.join(f'{v:.1f}' for v in machine['load_average_after'])}; {requests} requests per cell.",
        "",
        "p50 / p95 ms (matching tasks) | " + " | ".join(f"{size:,} tasks" for size in CURVE_SIZES),
        "|---" * (len(CURVE_SIZES) + 1) + "|",
    ]
    for name in CURVE_SCENARIOS:
        cells = []
        for size in CURVE_SIZES:
            cell = results["latency_ms"][str(size)][name]
            cells.append(f"{cell['p50']} / **{cell['p95']}** ({cell['matching']:,})")
        lines.append(f"| {name}: `{CURVE_SCENARIOS[name]}` | " + " | ".join(cells) + " |")
    (HERE / "curve_results.md").write_text("\n".join(lines) + "\n")
    print("wrote curve_results.json and curve_results.md")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reload", action="store_true", help="rebuild the data set")
    parser.add_argument("--requests", type=int, default=150, help="timed requests per latency scenario")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each throughput run")
    parser.add_argument("--rounds", type=int, default=3, help="alternating plain/api throughput rounds")
    parser.add_argument("--concurrency", type=int, default=4, help="client processes")
    parser.add_argument(
        "--views-only",
        action="store_true",
        help="only the everyday views' latency (no throughput); writes views_results.json/.md",
    )
    parser.add_argument(
        "--curve",
        action="store_true",
        help="list/search/view latency for users with 1k, 10k, 100k and 1M tasks (its own database, "
        "BENCH_CURVE_DATABASE_URL); writes curve_results.json/.md",
    )
    args = parser.parse_args()
    if args.curve:
        global BENCH_DB_URL
        BENCH_DB_URL = CURVE_DB_URL

    env = _env(_keys())
    os.environ.update(env)
    sys.path[:0] = [str(HERE), str(ROOT)]

    ensure_database()
    subprocess.run(
        [str(ROOT / ".venv/bin/python"), "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "todo_project.settings"},
        check=True,
    )
    if args.curve:
        if args.reload or _curve_needs_load():
            import psycopg

            started = time.perf_counter()
            with psycopg.connect(BENCH_DB_URL, autocommit=True) as conn:
                conn.execute(_CURVE_LOAD_SQL)
                conn.execute("VACUUM (ANALYZE) tasks_app_task")
            print(f"loaded {sum(CURVE_SIZES):,} tasks in {time.perf_counter() - started:.1f} s")
        load_before = os.getloadavg()
        _write_curve_results(measure_curve(args.requests), load_before, args.requests)
        return
    if args.reload or _needs_load():
        load(env)

    load_before = os.getloadavg()
    if args.views_only:
        _write_views_results(measure_in_process(args.requests, views_only=True), load_before)
        return
    results = measure_in_process(args.requests)
    results["throughput"] = measure_throughput(env, args.seconds, args.concurrency, args.rounds)
    throughput = results["throughput"]
    print(
        f"throughput: plain .values() {throughput['plain_values_rps']} req/s, "
        f"plain .values() + JWT {throughput['plain_values_jwt_rps']} req/s, "
        f"/api/tasks {throughput['api_tasks_rps']} req/s; ratio {throughput['ratio_vs_plain_values']} "
        f"(vs plain + JWT: {throughput['ratio_vs_plain_values_jwt']})"
    )
    results["machine"] = machine(BENCH_DB_URL, load_before)
    out = HERE / "results.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    (HERE / "results.md").write_text(_markdown(results))
    print(f"wrote {out.relative_to(ROOT)} and results.md")
    for name, plan in results["explain"].items():
        print(f"\nEXPLAIN {name}:\n{plan}")


if __name__ == "__main__":
    main()
