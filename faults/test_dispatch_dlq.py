"""A handler that keeps raising: dead-lettered, replayed once after the fix; a whole-partition replay.

Design (docs/events.md "Retries"): each handler of an event runs in its own
transaction with a claim row, so one failing handler neither rolls back nor
repeats the others. A failing handler is retried on the schedule
(``EVENTS_RETRY_SECONDS``, shortened here), then the event is marked
*dispatch failed* — the dead letter of the in-process dispatch — with its
error, logged, and counted in ``taskbeat_outbox_dispatch_failed_events`` (the
alert); it waits there until an operator re-dispatches it (the admin action,
``events_redispatch``). The user's other events are not held back: each
event's handlers are independent (the Kafka bridge, not the dispatcher, is
what keeps per-user order).

The fault: the audit store rejects one task's entry (a trigger in the suite's
PostgreSQL raising for that task: a handler bug, as a worker sees it). Then
"the fix" (the trigger dropped) and the replay: the audit entry appears exactly
once and no other handler runs again. Last, a consumer (``consume_events``, a
real process) reads the topics once, then replays every partition from the
beginning under a new group: nothing is handled twice.
"""

from __future__ import annotations

import re
import subprocess

import psycopg
import pytest

from faults.harness import BASE_DIR, PYTHON, wait_until

pytestmark = [pytest.mark.faults, pytest.mark.slow, pytest.mark.kafka]
RETRIES = (1, 1, 1, 1)
EXTRA_ENV = {"EVENTS_RETRY_SECONDS": ",".join(map(str, RETRIES)), "EVENTS_SWEEP_SECONDS": "1"}
AUDIT = "audit_app.handlers.write_audit_entry"

POISON_SQL = """
CREATE FUNCTION faults_poison() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM tasks_app_task t
             WHERE t.id::text = NEW.resource_id AND t.title = 'poison-pill') THEN
    RAISE EXCEPTION 'audit store rejects the entry of event %', NEW.event_id;
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER faults_poison BEFORE INSERT ON audit_app_auditlog
  FOR EACH ROW EXECUTE FUNCTION faults_poison();
"""


def _execute(cluster, sql: str) -> None:
    with psycopg.connect(cluster.postgres.url(), autocommit=True) as conn:
        conn.execute(sql)


def _manage(cluster, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTHON, "manage.py", *argv],
        cwd=BASE_DIR,
        env=cluster.env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


def _runs(cluster, event_id: str) -> dict[str, int]:
    return dict(
        cluster.postgres.query(
            "SELECT handler, count(*) FROM events_handlerrun WHERE event_id = %s GROUP BY 1", [event_id]
        )
    )


def _audit_counts(cluster, user_ids: list[int]) -> dict[str, int]:
    """Audit entries per outbox event of these users (0 for an event without one)."""
    return {
        event_id: count
        for event_id, count in cluster.postgres.query(
            "SELECT e.id::text, count(a.id) FROM events_outboxevent e "
            "LEFT JOIN audit_app_auditlog a ON a.event_id = e.id WHERE e.user_id = ANY(%s) GROUP BY 1",
            [user_ids],
        )
    }


def _metric(cluster, name: str) -> float:
    status, body, _ = cluster.web.call("GET", "/metrics")
    assert status == 200, body
    found = re.search(rf"^{name} ([0-9.e+]+)$", body, re.M)
    assert found, f"{name} not in /metrics"
    return float(found.group(1))


def test_a_handler_that_keeps_raising_is_dead_lettered_replayed_once_and_a_partition_replay_repeats_nothing(
    cluster,
):
    cluster.start("web", "worker", "beat", "bridge")
    _execute(cluster, POISON_SQL)
    poisoned, other = cluster.new_user("dq"), cluster.new_user("dq")
    for title in ("before", "poison-pill", "after 1", "after 2"):
        status, body, _ = poisoned.client.call("POST", "/api/tasks", {"title": title})
        assert status == 201, body
    for number in range(3):
        status, body, _ = other.client.call("POST", "/api/tasks", {"title": f"other {number}"})
        assert status == 201, body
    [(poison_id,)] = cluster.postgres.query(
        "SELECT id::text FROM events_outboxevent "
        "WHERE type = 'task.created' AND data->>'title' = 'poison-pill'"
    )

    # Dead-lettered after the whole schedule, with its error; an alert to act on.
    wait_until(
        lambda: cluster.postgres.query(
            "SELECT dispatch_failed_at IS NOT NULL FROM events_outboxevent WHERE id = %s", [poison_id]
        )[0][0],
        timeout=60,
        what="the poisoned event to be marked dispatch failed",
    )
    [(attempts, error)] = cluster.postgres.query(
        "SELECT dispatch_attempts, dispatch_error FROM events_outboxevent WHERE id = %s", [poison_id]
    )
    assert attempts == len(RETRIES) + 1
    assert "audit store rejects" in error, error
    assert _metric(cluster, "taskbeat_outbox_dispatch_failed_events") == 1
    assert "failed dispatch for good" in cluster.logs("worker", 200000)

    # Everything else was handled: the user's later events are not held back.
    ids = [poisoned.id, other.id]
    wait_until(lambda: cluster.outbox_undispatched() == 0, timeout=60, what="the other events dispatched")
    before_fix = _audit_counts(cluster, ids)
    assert before_fix.pop(poison_id) == 0
    assert set(before_fix.values()) == {1}, before_fix
    other_runs = _runs(cluster, poison_id)
    assert AUDIT not in other_runs
    assert set(other_runs.values()) == {1}, other_runs

    # The fix, then the operator's replay: the entry once, nothing else again.
    _execute(cluster, "DROP TRIGGER faults_poison ON audit_app_auditlog")
    replay = (
        "from todo_project.events.services import events_redispatch; "
        f"print('redispatched', events_redispatch(event_ids=['{poison_id}']))"
    )
    assert "redispatched 1" in _manage(cluster, "shell", "-c", replay).stdout
    wait_until(
        lambda: cluster.postgres.query(
            "SELECT dispatched_at IS NOT NULL FROM events_outboxevent WHERE id = %s", [poison_id]
        )[0][0],
        timeout=30,
        what="the replayed event dispatched",
    )
    after_fix = _audit_counts(cluster, ids)
    assert after_fix.pop(poison_id) == 1
    assert after_fix == before_fix
    assert _runs(cluster, poison_id) == {**other_runs, AUDIT: 1}
    # A second click on the action finds nothing to do.
    assert "redispatched 0" in _manage(cluster, "shell", "-c", replay).stdout
    assert _metric(cluster, "taskbeat_outbox_dispatch_failed_events") == 0

    # A whole-partition replay by a consumer: every message again, no effect again.
    wait_until(lambda: cluster.outbox_unpublished() == 0, timeout=60, what="the outbox published")
    first = _manage(cluster, "consume_events", "--name", "copy", "--assign", "--max-idle", "4")
    handled = [line for line in first.stdout.splitlines() if line.startswith("{")]
    replayed = _manage(
        cluster, "consume_events", "--name", "copy", "--group", "copy-replay", "--assign", "--max-idle", "4"
    )
    again = [line for line in replayed.stdout.splitlines() if line.startswith("{")]
    consumed = cluster.postgres.query("SELECT count(*) FROM events_consumedevent WHERE consumer = 'copy'")[0][
        0
    ]
    published = cluster.postgres.query(
        "SELECT count(*) FROM events_outboxevent WHERE published_at IS NOT NULL AND dead_lettered_at IS NULL"
    )[0][0]
    print("replay:", first.stderr.strip(), "|", replayed.stderr.strip(), f"| published {published}")
    assert len(handled) == consumed == published
    assert again == []
    assert f"read {published} events, skipped {published} already handled" in replayed.stderr
    cluster.kill("bridge", "beat", "worker")
