"""Concurrent generation of one series' next occurrence: exactly one.

Contract (docs/recurrence.md "Next occurrence on completion"): the series row
is locked, an existing successor is not made again, and a unique constraint
on (series, occurrence time) backs it up — so two concurrent completions, a
repeated event, a redelivered task or the repair scan racing the handler
create exactly one next occurrence.

Here it is raced for real: two web processes complete the same occurrence at
the same moment, two worker processes (two Celery nodes, 2 children each)
dispatch the ``task.completed`` events, and the repair scan
(``series_repair``, the hourly beat job) runs in another process meanwhile.
"""

from __future__ import annotations

import subprocess
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from faults.harness import BASE_DIR, PYTHON, Http, Proc, wait_until
from faults.load import iso

KAFKA = False
pytestmark = [pytest.mark.faults, pytest.mark.slow]

USERS = 3
SERIES_PER_USER = 4


@pytest.fixture(scope="module")
def running(cluster):
    worker = cluster.procs["worker"]
    argv = [*worker.argv[:-1], "faults2@%h"]  # a second Celery node
    cluster.procs["worker2"] = Proc("worker2", argv, worker.env, cluster.workdir / "worker2.log", None)
    cluster.procs["worker2"].ready = lambda: " ready." in cluster.procs["worker2"].output_since_start()
    cluster.start("web", "web2", "worker", "worker2")
    yield cluster
    cluster.kill("worker2")


def _series_state(cluster, series_ids: list[str]) -> dict[str, tuple[int, int, int]]:
    """Per series: (open occurrences, all occurrences, task.occurrence.generated events)."""
    rows = cluster.postgres.query(
        "SELECT s.id::text, "
        " (SELECT count(*) FROM tasks_app_task t WHERE t.series_id = s.id AND NOT t.is_completed),"
        " (SELECT count(*) FROM tasks_app_task t WHERE t.series_id = s.id),"
        " (SELECT count(*) FROM events_outboxevent e WHERE e.type = 'task.occurrence.generated'"
        "    AND e.data->>'series_id' = s.id::text)"
        " FROM tasks_app_taskseries s WHERE s.id::text = ANY(%s)",
        [series_ids],
    )
    return {series_id: (open_, total, generated) for series_id, open_, total, generated in rows}


def test_two_webs_two_workers_and_the_repair_scan_racing_make_exactly_one_next_occurrence(running):
    cluster = running
    users = [cluster.new_user("sr") for _ in range(USERS)]
    due = (datetime.now(UTC) + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    tasks: list[tuple[object, dict]] = []
    for user in users:
        for number in range(SERIES_PER_USER):
            status, task, _ = user.client.call(
                "POST",
                "/api/tasks",
                {"title": f"daily {number}", "due_at": iso(due), "recurrence_rule": "FREQ=DAILY"},
            )
            assert status == 201, task
            assert task["series_id"], task
            tasks.append((user, task))
    wait_until(lambda: cluster.outbox_undispatched() == 0, timeout=60, what="the creations dispatched")

    results: list[tuple[int, object]] = []
    lock = threading.Lock()
    calls = [(user, task, port) for user, task in tasks for port in (cluster.web_port, cluster.web2_port)]
    barrier = threading.Barrier(len(calls) + 1)

    def complete(user, task, port) -> None:
        client = Http(port, user.client.token)
        barrier.wait(60)
        status, body, _ = client.call("PATCH", f"/api/tasks/{task['id']}", {"is_completed": True}, timeout=60)
        with lock:
            results.append((status, body))

    threads = [threading.Thread(target=complete, args=call) for call in calls]
    for thread in threads:
        thread.start()
    repair = subprocess.Popen(
        [PYTHON, "manage.py", "shell", "-c",
         "from tasks_app.recurrence.services import series_repair\n"
         "for _ in range(20): series_repair()"],
        cwd=BASE_DIR, env=cluster.env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    barrier.wait(60)
    for thread in threads:
        thread.join(120)
    assert not any(t.is_alive() for t in threads), "a completion hung"
    _, repair_errors = repair.communicate(timeout=120)
    assert repair.returncode == 0, repair_errors[-2000:]

    statuses = sorted(status for status, _ in results)
    print("completions:", {s: statuses.count(s) for s in set(statuses)})
    assert all(200 <= s < 300 for s in statuses), [(s, b) for s, b in results if not 200 <= s < 300][:3]

    series_ids = [task["series_id"] for _, task in tasks]
    wait_until(lambda: cluster.outbox_undispatched() == 0, timeout=60, what="the completions dispatched")
    state = wait_until(
        lambda: (s := _series_state(cluster, series_ids)) and all(v[0] >= 1 for v in s.values()) and s,
        timeout=60,
        what="a next occurrence for every series",
    )
    wrong = {series_id: v for series_id, v in state.items() if v != (1, 2, 1)}
    completed_events = cluster.postgres.query(
        "SELECT count(*) FROM events_outboxevent WHERE type = 'task.completed' AND user_id = ANY(%s)",
        [[u.id for u in users]],
    )[0][0]
    print(
        f"{len(state)} series, {completed_events} task.completed events: "
        f"(open, total, generated) {set(state.values())}"
    )
    assert not wrong, f"{len(wrong)} series without exactly one next occurrence: {wrong}"


def test_two_workers_dispatching_the_same_completions_at_once_make_exactly_one_next_occurrence(running):
    """A slow worker (held ``hold`` s right after leasing its events, past the
    10 s dispatch lease) and a healthy one that takes the same events from the
    sweep when the lease runs out: both run the generator for one completion."""
    cluster = running
    hold = 25
    cluster.kill("worker2")
    cluster.start("beat")
    user = cluster.new_user("sl")
    due = (datetime.now(UTC) + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    tasks = []
    for number in range(2):
        body = {"title": f"slow {number}", "due_at": iso(due), "recurrence_rule": "FREQ=DAILY"}
        status, task, _ = user.client.call("POST", "/api/tasks", body)
        assert status == 201, task
        tasks.append(task)
    wait_until(lambda: cluster.outbox_undispatched() == 0, timeout=60, what="the creations dispatched")
    # Only the slow worker runs when the completions commit: it leases them and sleeps.
    cluster.kill("worker")
    cluster.procs["worker2"].start(extra_env={"TASKBEAT_FAULT_HOLD": f"events.after_lease:{hold}"})
    for task in tasks:
        status, body, _ = user.client.call("PATCH", f"/api/tasks/{task['id']}", {"is_completed": True})
        assert status == 200, body
    completed_at = time.monotonic()
    wait_until(
        lambda: (
            cluster.postgres.query(
                "SELECT count(*) FROM events_outboxevent WHERE type = 'task.completed' AND user_id = %s "
                "AND dispatched_at IS NULL AND next_dispatch_at > now()",
                [user.id],
            )[0][0]
            == len(tasks)
        ),
        timeout=30,
        what="the slow worker to lease the completions",
    )
    # The healthy worker starts; when the lease runs out the sweep hands it the same events.
    cluster.start("worker")
    series_ids = [task["series_id"] for task in tasks]
    wait_until(
        lambda: all(v[0] >= 1 and v[2] >= 1 for v in _series_state(cluster, series_ids).values()),
        timeout=90,
        what="the next occurrences",
    )
    generated_after = time.monotonic() - completed_at
    wait_until(lambda: cluster.outbox_undispatched() == 0, timeout=90, what="the completions dispatched")
    # Past the slow worker's wake-up: it has run (or skipped) the handlers too.
    wait_until(lambda: time.monotonic() - completed_at > hold + 5, timeout=60, what="the slow worker to wake")
    state = _series_state(cluster, series_ids)
    print(
        f"slow and healthy worker: generated {generated_after:.1f} s after the completions "
        f"(slow worker held {hold} s); (open, total, generated) {set(state.values())}"
    )
    assert set(state.values()) == {(1, 2, 1)}, state
    assert cluster.procs["worker2"].alive
    cluster.kill("beat")
