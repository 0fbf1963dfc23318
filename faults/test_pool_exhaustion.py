"""PostgreSQL pool exhaustion: more concurrent requests than pooled connections.

A web process with a pool of 2 (``DATABASE_POOL_MAX_SIZE``) and 8 threads
whose writes each hold their transaction (and so their connection) open for a
while (``TASKBEAT_FAULT_HOLD=events.before_commit``), hit by 8 writes at once.
Contract (docs/operations.md): a request waits at most
``DATABASE_POOL_TIMEOUT`` (2 s) for a connection, then answers the JSON 503
``service_unavailable`` with ``Retry-After``; none hangs; the writes holding the
connections commit (201, each with its outbox event); and once they are done
the same process serves reads and writes again, without a restart.
"""

from __future__ import annotations

import threading
import time

import pytest

from faults.harness import Http

KAFKA = False
pytestmark = [pytest.mark.faults, pytest.mark.slow]

POOL_SIZE = 2
THREADS = 8  # the harness's gunicorn --threads
HOLD_SECONDS = 6
POOL_TIMEOUT = 2.0  # DATABASE_POOL_TIMEOUT's default
SLACK = 3.0  # a bound against hanging on a shared machine, not a benchmark


def _is_503_in_the_error_shape(status: int, body, headers: dict[str, str]) -> bool:
    return (
        status == 503
        and isinstance(body, dict)
        and body.get("error", {}).get("code") == "service_unavailable"
        and isinstance(body["error"].get("message"), str)
        and "retry-after" in headers
    )


def test_more_requests_than_pooled_connections_fail_fast_with_the_json_503_and_the_process_recovers(cluster):
    cluster.start("web")
    users = [cluster.new_user("pe") for _ in range(4)]
    web2 = cluster.procs["web2"]
    web2.start(
        extra_env={
            "DATABASE_POOL_MAX_SIZE": str(POOL_SIZE),
            "DATABASE_POOL_MIN_SIZE": "1",
            "TASKBEAT_FAULT_HOLD": f"events.before_commit:{HOLD_SECONDS}",
        }
    )
    clients = [Http(cluster.web2_port, user.client.token) for user in users]
    # Warm up: the process has its pool and has authenticated once (no hold on reads).
    for client in clients:
        status, body, _ = client.call("GET", "/api/tasks?page_size=1")
        assert status == 200, body

    results: list[tuple[int, object, dict, float, int]] = []
    lock = threading.Lock()
    barrier = threading.Barrier(THREADS)

    def write(number: int) -> None:
        client = clients[number % len(clients)]
        barrier.wait(30)
        started = time.monotonic()
        try:
            status, body, headers = client.call(
                "POST", "/api/tasks", {"title": f"pool {number}"}, timeout=HOLD_SECONDS + 30
            )
        except OSError as exc:
            status, body, headers = 0, repr(exc), {}
        with lock:
            results.append((status, body, headers, time.monotonic() - started, number))

    threads = [threading.Thread(target=write, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(HOLD_SECONDS + 60)
    assert not any(t.is_alive() for t in threads), "a request hung"

    created = [r for r in results if r[0] == 201]
    refused = [r for r in results if r[0] != 201]
    summary = sorted((r[0], round(r[3], 1)) for r in results)
    print("pool exhaustion (status, seconds):", summary)
    wrong = [(r[0], str(r[1])[:160]) for r in refused if not _is_503_in_the_error_shape(*r[:3])]
    assert not wrong, f"{len(wrong)} of {len(refused)} refused calls were not the JSON 503: {wrong[:3]}"
    slowest = max((r[3] for r in refused), default=0.0)
    assert slowest < POOL_TIMEOUT + SLACK, f"a refused call took {slowest:.1f} s"
    assert refused, "the pool was never exhausted"
    assert 1 <= len(created) <= POOL_SIZE, summary

    # Nothing half-written: each 201 has its task.created event, each 503 wrote nothing.
    titles = cluster.postgres.query(
        "SELECT data->>'title' FROM events_outboxevent WHERE type = 'task.created' AND user_id = ANY(%s)",
        [[u.id for u in users]],
    )
    assert sorted(t for (t,) in titles) == sorted(r[1]["title"] for r in created)

    # Recovered, same process: reads at once, a write (held, then committed) too.
    for client in clients:
        status, body, _ = client.call("GET", "/api/tasks?page_size=1")
        assert status == 200, body
    status, body, _ = clients[0].call("POST", "/api/tasks", {"title": "after"}, timeout=HOLD_SECONDS + 30)
    assert status == 201, body
    assert web2.starts == 1
    assert web2.alive
    web2.kill()
