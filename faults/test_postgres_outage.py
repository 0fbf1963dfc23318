"""PostgreSQL stopped (``pg_ctl -m immediate``: a crash) under API writes, a worker and a bridge.

Issue 18's second finding: writes during the outage answered Django's HTML
500 after up to 7 s, the first write after PostgreSQL was back failed on a dead
pooled connection, and ``/ready`` kept answering 200. Now: every request
fails fast (within ``DATABASE_POOL_TIMEOUT``, 2 s) with the JSON 503 in the
error shape, ``/ready`` answers 503, the first request after the restart
succeeds (``CONN_HEALTH_CHECKS``), no process is restarted, every 201 has its
outbox event, and the outbox drains (dispatched and published).
"""

from __future__ import annotations

import time

import pytest

from faults.harness import wait_until
from faults.load import Writer, rate_per_second

pytestmark = [pytest.mark.faults, pytest.mark.slow, pytest.mark.kafka]

POOL_TIMEOUT = 2.0  # DATABASE_POOL_TIMEOUT's default, which the cluster keeps


def _is_503_in_the_error_shape(call) -> bool:
    body = call.body
    return (
        call.status == 503
        and isinstance(body, dict)
        and body.get("error", {}).get("code") == "service_unavailable"
        and isinstance(body["error"].get("message"), str)
    )


def test_a_postgres_crash_fails_requests_fast_and_everything_recovers_without_restarts(cluster):
    cluster.start("web", "worker", "beat", "bridge")
    users = [cluster.new_user("pg") for _ in range(5)]
    writer = Writer(users, reads=True).start(threads=3)

    baseline_from = time.monotonic()
    wait_until(lambda: time.monotonic() - baseline_from > 8, timeout=20, what="a baseline")
    baseline_to = time.monotonic()
    baseline = rate_per_second(writer.calls, baseline_from, baseline_to)

    cluster.postgres.stop("immediate")
    stopped_at = time.monotonic()
    try:
        ready_status, ready_body, _ = cluster.web.call("GET", "/ready", timeout=10)
    except TimeoutError:
        ready_status, ready_body = 0, "no answer within 10 s"
    ready_seconds = time.monotonic() - stopped_at
    wait_until(lambda: time.monotonic() - stopped_at > 6, timeout=20, what="6 s of outage")
    cluster.postgres.start()
    restarted_at = time.monotonic()
    # The first request after the restart: no dead pooled connection handed out.
    first_status, first_body, _ = users[0].client.call("POST", "/api/tasks", {"title": "first after"})
    wait_until(lambda: time.monotonic() - restarted_at > 35, timeout=60, what="35 s after the restart")
    calls = writer.stop()

    assert ready_status == 503, ready_body
    assert ready_body["failed"] == ["postgres"], ready_body
    assert ready_seconds < 2, f"/ready took {ready_seconds:.2f} s"
    assert first_status == 201, (first_status, first_body)

    # A bound against hanging, not a benchmark: the pool timeout plus slack for a shared machine.
    in_flight = [c for c in calls if c.started < restarted_at and c.started + c.seconds > stopped_at + 0.5]
    slowest = max(c.seconds for c in in_flight)
    assert slowest < POOL_TIMEOUT + 3, f"a call in flight during the outage took {slowest:.1f} s"
    during = [c for c in in_flight if c.started > stopped_at + 0.5 and c.started + c.seconds < restarted_at]
    assert during, "no call started and ended during the outage"
    wrong = [(c.status, str(c.body or c.error)[:160]) for c in during if not _is_503_in_the_error_shape(c)]
    assert not wrong, f"{len(wrong)} of {len(during)} calls during the outage: {wrong[:3]}"

    # Throughput back to 95 % of the baseline within 30 s of the restart (3 s windows).
    recovered_after = None
    for offset in range(0, 31):
        start = restarted_at + offset
        if rate_per_second(calls, start, start + 3) >= 0.95 * baseline:
            recovered_after = offset
            break
    print(
        f"baseline {baseline:.1f} writes/s; outage calls {len(during)} (slowest {slowest:.2f} s); "
        f"/ready {ready_seconds:.2f} s; throughput >= 95 % after {recovered_after} s"
    )
    assert recovered_after is not None, "throughput did not come back to 95 % within 30 s"

    # No half-written task: each 201 (and the probe) has its task.created event.
    created = {c.body["id"] for c in calls if c.method == "POST" and c.status == 201} | {first_body["id"]}
    subjects = {
        subject.removeprefix("tasks/")
        for (subject,) in cluster.postgres.query(
            "SELECT subject FROM events_outboxevent WHERE type = 'task.created' AND user_id = ANY(%s)",
            [[u.id for u in users]],
        )
    }
    assert created <= subjects, f"{len(created - subjects)} created tasks have no outbox event"

    # Worker and bridge resume on their own.
    wait_until(lambda: cluster.outbox_undispatched() == 0, timeout=60, what="the outbox dispatched")
    wait_until(lambda: cluster.outbox_unpublished() == 0, timeout=60, what="the outbox published")
    for name in ("web", "worker", "bridge"):
        assert cluster.procs[name].starts == 1, name
        assert cluster.procs[name].alive, name


def test_backends_terminated_several_times_a_second_never_hang_or_answer_html(cluster):
    """``pg_terminate_backend`` of every Taskbeat connection, 3 times a second for 6 s."""
    for name in ("web", "worker", "beat", "bridge"):
        if not cluster.procs[name].alive:
            cluster.procs[name].start()
    starts = {name: cluster.procs[name].starts for name in ("web", "worker", "bridge")}
    users = [cluster.new_user("term") for _ in range(4)]
    writer = Writer(users, reads=True).start(threads=3)
    wait_until(lambda: writer.count() >= 10, timeout=60, what="writes before the terminations")
    terminated = 0
    until = time.monotonic() + 6
    while time.monotonic() < until:
        terminated += cluster.postgres.terminate_backends()
        time.sleep(0.33)
    after = writer.count()
    wait_until(lambda: writer.count() >= after + 20, timeout=60, what="writes after the terminations")
    calls = writer.stop()

    wrong = [
        (c.status, str(c.body or c.error)[:160]) for c in calls if not (c.ok or _is_503_in_the_error_shape(c))
    ]
    assert not wrong, f"{len(wrong)} of {len(calls)} calls neither 2xx nor the JSON 503: {wrong[:3]}"
    slowest = max(c.seconds for c in calls)
    assert slowest < POOL_TIMEOUT + 3, f"a call took {slowest:.1f} s"
    refused = sum(c.status == 503 for c in calls)
    print(f"terminated {terminated} backends; {len(calls)} calls, {refused} answered 503")
    created = {c.body["id"] for c in calls if c.method == "POST" and c.status == 201}
    subjects = {
        subject.removeprefix("tasks/")
        for (subject,) in cluster.postgres.query(
            "SELECT subject FROM events_outboxevent WHERE type = 'task.created' AND user_id = ANY(%s)",
            [[u.id for u in users]],
        )
    }
    assert created <= subjects
    wait_until(lambda: cluster.outbox_undispatched() == 0, timeout=60, what="the outbox dispatched")
    wait_until(lambda: cluster.outbox_unpublished() == 0, timeout=60, what="the outbox published")
    assert {name: cluster.procs[name].starts for name in starts} == starts, "a process was restarted"
    assert all(cluster.procs[name].alive for name in starts)


def test_a_bridge_and_a_worker_started_while_postgres_is_down_come_up_when_it_returns(cluster):
    """Found by the chaos run: a bridge restarted during a PostgreSQL outage exited at start."""
    for name in ("web", "worker"):
        if not cluster.procs[name].alive:
            cluster.procs[name].start()
    user = cluster.new_user("late")
    cluster.kill("bridge", "worker")
    cluster.postgres.stop("immediate")
    try:
        cluster.procs["bridge"].start()
        cluster.procs["worker"].start(wait=False)
        started = time.monotonic()
        wait_until(lambda: time.monotonic() - started > 5, timeout=20, what="5 s of the outage")
        assert cluster.procs["bridge"].alive, cluster.logs("bridge")
    finally:
        cluster.postgres.start()
    # Not the first request after the restart (the crash test checks that one):
    # this case is about the late starters, so the write may be retried.
    # (Seen once here: the first write right after this restart answered 503.)
    wait_until(
        lambda: user.client.call("POST", "/api/tasks", {"title": "after a late start"})[0] == 201,
        timeout=30,
        what="a write to succeed after the restart",
    )
    wait_until(lambda: cluster.outbox_undispatched() == 0, timeout=60, what="the outbox dispatched")
    wait_until(lambda: cluster.outbox_unpublished() == 0, timeout=60, what="the outbox published")
    assert cluster.procs["bridge"].alive
    assert cluster.procs["worker"].alive
