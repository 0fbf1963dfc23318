"""Local-engine chat turns, server side (goal: p95 < 20 ms per message).

Run: .venv/bin/python benchmarks/assistant/run.py [--users 20] [--rounds 5]

Needs PostgreSQL (DATABASE_URL; a throwaway ``test_…`` database is created
and dropped) and Redis (REDIS_URL). Each user holds a small realistic
conversation: adds (one-off and recurring), queries, completes, moves,
re-prioritises, skips, stops, and answers a confirmation. Every message is a
full ``services.chat_send`` — the user's message stored, intent recognition,
the tool's service call with its outbox events, the reply stored — timed
with ``perf_counter``. Event handlers are not run (they run on workers after
commit, not in the request).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from benchmarks._common import setup_django  # noqa: E402

setup_django(DEBUG="true")

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

SCRIPT = [
    "Remind me to exercise every Monday",
    "Pay bills on the 1st of every month",
    "add call the plumber tomorrow at 9am #home",
    "make it high priority",
    "what's due today?",
    "show overdue high-priority tasks",
    "what do I have this week",
    "move plumber to Friday at 10am",
    "Team standup every weekday at 9am",
    "skip next week's standup",
    "done with exercise",
    "I paid the bills",
    "remind me about plumber 30 minutes before",
    "delete call the plumber",
    "yes",
    "Stop my exercise reminder",
    "purple elephants sing",
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3, help="times each user runs the script")
    args = parser.parse_args()

    setup_test_environment()
    # A name of its own, so a test run on the same server is not disturbed.
    connection.settings_dict.setdefault("TEST", {})["NAME"] = (
        "bench_assistant_" + connection.settings_dict["NAME"]
    )
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        from assistant_app.services import chat_send
        from todo_project.accounts.models import Profile

        users = []
        for i in range(args.users):
            user = get_user_model().objects.create_user(username=f"bench{i}", password=None)
            Profile.objects.create(user=user, timezone="Europe/Berlin" if i % 2 else "America/New_York")
            users.append(user)
        chat_send(user=users[0], text="hello")  # warm up imports, regexes, zoneinfo
        samples: dict[str, list[float]] = {text: [] for text in SCRIPT}
        # This process's CPU time per turn (Python, psycopg, Redis client; not
        # PostgreSQL's side, nor the time spent waiting for the CPU), which
        # other processes on the machine change far less than wall time.
        cpu: list[float] = []
        for _ in range(args.rounds):
            for user in users:
                for text in SCRIPT:
                    start, cpu_start = time.perf_counter(), time.process_time()
                    chat_send(user=user, text=text)
                    samples[text].append((time.perf_counter() - start) * 1000)
                    cpu.append((time.process_time() - cpu_start) * 1000)
        every = sorted(s for values in samples.values() for s in values)

        # Round trips per message (load-independent): one more user, one pass,
        # every statement the turn sends (BEGIN and COMMIT included).
        counter = get_user_model().objects.create_user(username="bench-count", password=None)
        Profile.objects.create(user=counter, timezone="Europe/Berlin")
        statements: dict[str, int] = {}
        for text in SCRIPT:
            connection.queries_log.clear()  # a full log (9,000 entries) would count nothing
            with CaptureQueriesContext(connection) as captured:
                chat_send(user=counter, text=text)
            statements[text] = len(captured.captured_queries)

        # Whole requests: POST /api/chat through Django's test client (every
        # middleware, JWT authentication, DRF parsing, the turn, rendering; no
        # network), for a quarter of the users, one pass of the script.
        from rest_framework.test import APIClient
        from rest_framework_simplejwt.tokens import RefreshToken

        http: list[float] = []
        http_statements: dict[str, int] = {}
        for user in users[: max(1, len(users) // 4)]:
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
            for text in SCRIPT:
                connection.queries_log.clear()
                with CaptureQueriesContext(connection) as captured:
                    start = time.perf_counter()
                    response = client.post("/api/chat", {"message": text}, format="json")
                    http.append((time.perf_counter() - start) * 1000)
                assert response.status_code == 200, response.content
                http_statements[text] = len(captured.captured_queries)
        http.sort()

        # The recogniser alone: the same messages through the local engine with
        # a tool caller that records the call and answers "not found", so only
        # intent matching and argument building are timed (no database).
        from assistant_app.engine import reply as engine_reply
        from assistant_app.models import Conversation

        def refuse(name: str, arguments: dict) -> dict:
            return {
                "tool": name,
                "arguments": arguments,
                "ok": False,
                "error": {"code": "not_found", "message": "-"},
            }

        conversation = Conversation(owner=users[0])
        recognise: list[float] = []
        for _ in range(args.rounds * 20):
            for text in SCRIPT:
                start = time.perf_counter()
                engine_reply(
                    user=users[0], conversation=conversation, text=text, now=timezone.now(), call=refuse
                )
                recognise.append((time.perf_counter() - start) * 1000)
        recognise.sort()

        def pct(values: list[float], p: float) -> float:
            return values[min(len(values) - 1, int(len(values) * p))]

        result = {
            "messages": len(every),
            "p50_ms": round(pct(every, 0.50), 2),
            "p95_ms": round(pct(every, 0.95), 2),
            "p99_ms": round(pct(every, 0.99), 2),
            "max_ms": round(every[-1], 2),
            "mean_ms": round(statistics.fmean(every), 2),
            "cpu_ms_of_this_process": {
                "p50": round(pct(sorted(cpu), 0.50), 2),
                "p95": round(pct(sorted(cpu), 0.95), 2),
            },
            "recogniser_only": {
                "messages": len(recognise),
                "p50_ms": round(pct(recognise, 0.50), 3),
                "p95_ms": round(pct(recognise, 0.95), 3),
                "max_ms": round(recognise[-1], 3),
            },
            "per_message_ms": {
                text: {
                    "p50": round(pct(sorted(v), 0.50), 2),
                    "p95": round(pct(sorted(v), 0.95), 2),
                    "p99": round(pct(sorted(v), 0.99), 2),
                }
                for text, v in samples.items()
            },
            "slowest_p95": sorted(
                ((text, round(pct(sorted(v), 0.95), 2)) for text, v in samples.items()), key=lambda kv: -kv[1]
            )[:3],
            "post_api_chat": {
                "messages": len(http),
                "p50_ms": round(pct(http, 0.50), 2),
                "p95_ms": round(pct(http, 0.95), 2),
                "max_ms": round(http[-1], 2),
                "statements_total": sum(http_statements.values()),
            },
            "statements_per_message": statements,
            "statements_total": sum(statements.values()),
            "python": platform.python_version(),
            "load_average": [round(x, 2) for x in os.getloadavg()],
        }
        print(json.dumps(result, indent=2, ensure_ascii=False))
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
