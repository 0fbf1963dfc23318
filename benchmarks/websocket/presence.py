"""What the push handler costs for an event whose user has no open socket.

    DATABASE_URL=postgres://... REDIS_URL=redis://.../N .venv/bin/python benchmarks/websocket/presence.py

Runs the real handler (``push_event_to_sockets``) on real PostgreSQL and
Redis, one event per call, in two modes interleaved block by block in the
same run (so load on the shared machine hits both alike):

- ``unfiltered``: the presence view answers "maybe present" for everyone,
  which is what the handler did before presence (and still does while the
  view is not current): the prev_seq query, then channels-redis'
  group_send, which for an empty group is ZREMRANGEBYSCORE + ZRANGE.
- ``presence``: the view is current and the user is not in it.

Counted per call: commands written to Redis by this process' asyncio
clients (the push path; the presence follower's own pings and reloads are
counted apart), SQL statements, and wall time. Uses the database of
benchmarks/websocket/run.py (``taskbeat_bench_ws``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(BASE_DIR))
sys.path.insert(0, str(BASE_DIR / "benchmarks" / "websocket"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=2000, help="calls per mode")
    parser.add_argument("--blocks", type=int, default=10)
    args = parser.parse_args()

    import run as ws_bench  # benchmarks/websocket/run.py: its database

    ws_bench._ensure_database()
    os.environ.update(DEBUG="true", DATABASE_URL=ws_bench._bench_db_url(os.environ["DATABASE_URL"]))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "todo_project.settings")
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone
    from redis.asyncio.connection import AbstractConnection

    from todo_project.events.models import OutboxEvent
    from todo_project.sync import presence
    from todo_project.sync.handlers import push_event_to_sockets
    from todo_project.sync.push import present_users

    sent: list[bytes] = []
    original = AbstractConnection.send_packed_command

    async def counting(self, command, check_health=True):  # type: ignore[no-untyped-def]
        sent.append(bytes(command if isinstance(command, bytes | bytearray) else b"".join(command)))
        return await original(self, command, check_health)

    AbstractConnection.send_packed_command = counting  # type: ignore[method-assign]

    def follower(command: bytes) -> bool:
        return b"PING" in command or b"EVALSHA" in command or b"SUBSCRIBE" in command

    present_users(set())
    deadline = time.monotonic() + 10
    while not presence.view.is_current() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert presence.view.is_current(), "presence view did not become current"

    absent_base = 900_000_000  # user ids nobody has a socket for
    now = timezone.now()

    def event(i: int) -> OutboxEvent:
        return OutboxEvent(
            id=uuid.uuid4(),
            user_id=absent_base + i,
            seq=1,
            type="task.updated",
            time=now,
            data={"task_id": str(uuid.uuid4()), "version": 2},
            context={},
        )

    real_maybe_present = presence.view.maybe_present
    modes = {"unfiltered": lambda user_id: True, "presence": real_maybe_present}
    stats = {m: {"ms": [], "redis": 0, "sql": 0, "calls": 0} for m in modes}
    follower_commands = 0
    per_block = args.events // args.blocks
    load_before = os.getloadavg()
    for block in range(args.blocks):
        for mode, answer in modes.items():
            presence.view.maybe_present = answer  # type: ignore[method-assign]
            for i in range(per_block):
                ev = event(block * per_block + i)
                sent.clear()
                with CaptureQueriesContext(connection) as queries:
                    start = time.perf_counter()
                    push_event_to_sockets([ev])
                    elapsed = (time.perf_counter() - start) * 1000
                follower_commands += sum(1 for c in sent if follower(c))
                s = stats[mode]
                s["ms"].append(elapsed)  # type: ignore[union-attr]
                s["redis"] += sum(1 for c in sent if not follower(c))  # type: ignore[operator]
                s["sql"] += len(queries)  # type: ignore[operator]
                s["calls"] += 1  # type: ignore[operator]
    presence.view.maybe_present = real_maybe_present  # type: ignore[method-assign]
    load_after = os.getloadavg()

    print(f"load average (1 min) before/after: {load_before[0]:.2f} / {load_after[0]:.2f}")
    print("| mode | calls | Redis commands/call | SQL/call | p50 ms | p95 ms | p99 ms | mean ms |")
    print("|---|---|---|---|---|---|---|---|")
    for mode, s in stats.items():
        ms = sorted(s["ms"])  # type: ignore[type-var]
        q = statistics.quantiles(ms, n=100)
        calls = s["calls"]
        print(
            f"| {mode} | {calls} | {s['redis'] / calls:.2f} | {s['sql'] / calls:.2f} | "  # type: ignore[operator]
            f"{q[49]:.3f} | {q[94]:.3f} | {q[98]:.3f} | {statistics.fmean(ms):.3f} |"
        )
    print(f"presence follower's own commands during the run (pings, reloads): {follower_commands}")


if __name__ == "__main__":
    main()
