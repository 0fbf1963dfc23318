"""A worker dies mid-burst: before the provider call, after it, or SIGKILLed from outside.

Issue 18's third finding: webhooks in flight reached their receivers 129.5 s
after a worker was SIGKILLed (leases of 120 s). With the defaults now
(``EVENTS_DISPATCH_LEASE_SECONDS`` 10, ``NOTIFICATION_LEASE_SECONDS`` 15, both
sweeps every 5 s) every effect is delivered within 30 s of the replacement
worker starting, which each test waits for as its bound.

Contract per channel: in-app and webhook *effects* once (a webhook request may
repeat after a crash between the receiver's 2xx and recording it, with the
same ``webhook-id``: counted, at most one per crash); e-mail likewise with the
same ``taskbeat_delivery_id``.
"""

from __future__ import annotations

import time

import pytest

from faults.checker import check
from faults.harness import wait_until
from faults.load import (
    email_deliveries,
    fired_reminders,
    in_app_notifications,
    owners,
    register_webhook,
    reminders_due,
    verify_email,
    webhook_deliveries,
)

KAFKA = False
USES_FAKES = True
pytestmark = [pytest.mark.faults, pytest.mark.slow]

RECOVERY_BOUND_SECONDS = 30  # issue 18: every effect within 30 s of the replacement starting
# The bursts are small (12 and 24 reminders, each with an e-mail and a webhook) so
# the bound measures recovery, not a 2-concurrency worker's throughput on a
# shared machine (a 24-reminder burst once missed it at a load average of 17).


@pytest.fixture(scope="module")
def running(cluster):
    cluster.start("web", "beat")
    yield cluster
    cluster.kill("worker")


def _burst(cluster, sendgrid, receiver, users_count: int = 3, per_user: int = 4):
    # A healthy worker sends the verification mails (reminder mail goes to
    # verified addresses only), then leaves before the reminders are created.
    cluster.start("worker")
    users = [cluster.new_user("wk") for _ in range(users_count)]
    for user in users:
        register_webhook(user, receiver.url + "/hook")
        verify_email(cluster, user, sendgrid)
    wait_until(lambda: cluster.outbox_undispatched() == 0, timeout=60, what="the sign-ups dispatched")
    cluster.kill("worker")
    expected = reminders_due(cluster, users, per_user=per_user)
    return users, expected


def _all_delivered(cluster, users, expected, sendgrid, receiver) -> bool:
    ids = [u.id for u in users]
    want = set(owners(expected))
    if set(fired_reminders(cluster, ids).values()) != {"triggered"}:
        return False
    if {rid for _, rid in in_app_notifications(cluster, ids)} != want:
        return False
    if not want <= {rid for rid, _ in webhook_deliveries(receiver)}:
        return False
    sent = cluster.postgres.query(
        "SELECT count(*) FROM notifications_app_notification "
        "WHERE user_id = ANY(%s) AND channel IN ('email', 'webhook') AND status <> 'sent'",
        [ids],
    )[0][0]
    return sent == 0


def _state(cluster, users) -> dict:
    """What is still in flight (printed when the recovery bound is missed)."""
    ids = [u.id for u in users]
    return {
        "reminders": cluster.postgres.query(
            "SELECT status, count(*) FROM reminders_app_reminder WHERE owner_id = ANY(%s) GROUP BY 1", [ids]
        ),
        "notifications": cluster.postgres.query(
            "SELECT channel, status, count(*), max(claimed_until) FROM notifications_app_notification "
            "WHERE user_id = ANY(%s) GROUP BY 1, 2",
            [ids],
        ),
        "undispatched": cluster.postgres.query(
            "SELECT type, count(*), max(next_dispatch_at) - now() FROM events_outboxevent "
            "WHERE dispatched_at IS NULL GROUP BY 1"
        ),
    }


def _verdict(cluster, users, expected, sendgrid, receiver, crashes: int) -> dict[str, int]:
    ids = [u.id for u in users]
    owner = owners(expected)
    in_app = check(expected, in_app_notifications(cluster, ids), ordered=False)
    assert (in_app.lost, in_app.duplicated, in_app.unexpected) == (0, 0, 0), str(in_app)

    hooks = [(rid, msg) for rid, msg in webhook_deliveries(receiver) if rid in owner]
    webhook = check(expected, [(owner[rid], rid) for rid, _ in hooks], ordered=False)
    assert (webhook.lost, webhook.unexpected) == (0, 0), str(webhook)
    assert webhook.duplicated <= crashes, f"{webhook.duplicated} webhook repeats, {crashes} crash(es)"
    msg_ids: dict[str, set[str]] = {}
    for rid, msg in hooks:
        msg_ids.setdefault(rid, set()).add(msg)
    assert all(len(m) == 1 for m in msg_ids.values()), "a retry changed its webhook-id"

    # E-mail: one notification row per reminder, delivery ids stable across repeats.
    rows = cluster.postgres.query(
        "SELECT 'msg_' || replace(id::text, '-', ''), status FROM notifications_app_notification "
        "WHERE user_id = ANY(%s) AND channel = 'email' AND reminder_id IS NOT NULL",
        [ids],
    )
    email_ids = {delivery_id for delivery_id, _ in rows}
    assert len(rows) == len(owner)
    sent = [delivery_id for _, delivery_id in email_deliveries(sendgrid) if delivery_id in email_ids]
    assert set(sent) == email_ids, f"{len(email_ids - set(sent))} e-mails never sent"
    email_repeats = len(sent) - len(set(sent))
    assert email_repeats <= crashes, f"{email_repeats} repeated e-mail requests for {crashes} crash(es)"
    return {"webhook_repeats": webhook.duplicated, "email_repeats": email_repeats}


def _crash_at(cluster, point: str, sendgrid, receiver) -> None:
    users, expected = _burst(cluster, sendgrid, receiver)
    worker = cluster.procs["worker"]
    # Not waited for: with work already queued it may reach the point (and die)
    # before it logs "ready".
    worker.start(extra_env={"TASKBEAT_FAULT_POINT": point}, wait=False)
    wait_until(lambda: worker.exited() is not None, timeout=90, what=f"the worker to crash at {point}")
    assert worker.exited() in (137, -9), cluster.logs("worker")
    assert f"fault point {point!r} reached" in cluster.logs("worker", 20000)
    worker.process = None
    worker.start()
    replacement_ready = time.monotonic()
    try:
        wait_until(
            lambda: _all_delivered(cluster, users, expected, sendgrid, receiver),
            timeout=RECOVERY_BOUND_SECONDS,
            what=f"every effect after the crash at {point}",
        )
    except AssertionError:
        print(_state(cluster, users))
        raise
    print(f"{point}: everything delivered {time.monotonic() - replacement_ready:.1f} s after the replacement")
    print(_verdict(cluster, users, expected, sendgrid, receiver, crashes=1))
    cluster.kill("worker")


def test_a_worker_killed_right_after_the_provider_accepted_repeats_at_most_that_request(running, fakes):
    _crash_at(running, "notifications.after_provider_call", *fakes)


def test_a_worker_killed_after_claiming_a_delivery_sends_it_once_when_the_lease_runs_out(running, fakes):
    _crash_at(running, "notifications.after_claim", *fakes)


def test_a_worker_killed_after_leasing_events_leaves_them_to_the_sweep(running, fakes):
    _crash_at(running, "events.after_lease", *fakes)


def test_a_worker_sigkilled_mid_burst_recovers_within_the_bound(running, fakes):
    sendgrid, receiver = fakes
    cluster = running
    users, expected = _burst(cluster, sendgrid, receiver, users_count=4, per_user=6)
    cluster.start("worker")
    before = len(receiver.requests)
    wait_until(lambda: len(receiver.requests) > before, timeout=60, what="the first webhook of the burst")
    cluster.kill("worker")  # SIGKILL to the worker's process group, mid-burst
    cluster.start("worker")
    replacement_ready = time.monotonic()
    wait_until(
        lambda: _all_delivered(cluster, users, expected, sendgrid, receiver),
        timeout=RECOVERY_BOUND_SECONDS,
        what="every effect after the SIGKILL",
    )
    print(f"SIGKILL: everything delivered {time.monotonic() - replacement_ready:.1f} s after the replacement")
    # One crash, but up to --concurrency (2) deliveries in flight.
    print(_verdict(cluster, users, expected, sendgrid, receiver, crashes=2))
    cluster.kill("worker")


def test_a_worker_killed_between_the_change_and_its_audit_entry_leaves_the_entry_exactly_once(running, fakes):
    """Crash after the handlers of a batch committed (audit entries written) but before
    the batch is marked dispatched: the redispatch must not write the entries again;
    and a crash right after leasing (before any handler) must still write them."""
    cluster = running
    users = [cluster.new_user("au") for _ in range(3)]
    ids = [u.id for u in users]
    worker = cluster.procs["worker"]
    for point in ("events.after_handlers", "events.after_lease"):
        worker.start(extra_env={"TASKBEAT_FAULT_POINT": point}, wait=False)
        for user in users:
            status, body, _ = user.client.call("POST", "/api/tasks", {"title": f"audited {point}"})
            assert status == 201, body
        wait_until(lambda: worker.exited() is not None, timeout=60, what=f"the worker to crash at {point}")
        worker.process = None
        worker.start()
        wait_until(
            lambda: cluster.outbox_undispatched() == 0, timeout=RECOVERY_BOUND_SECONDS, what="the redispatch"
        )
        cluster.kill("worker")
    rows = cluster.postgres.query(
        "SELECT e.user_id, e.id::text, count(a.id) FROM events_outboxevent e "
        "LEFT JOIN audit_app_auditlog a ON a.event_id = e.id "
        "WHERE e.user_id = ANY(%s) AND e.type = 'task.created' GROUP BY 1, 2",
        [ids],
    )
    assert len(rows) == 2 * len(users)
    expected = {}
    for user_id, event_id, _ in rows:
        expected.setdefault(user_id, []).append(event_id)
    observed = [(user_id, event_id) for user_id, event_id, count in rows for _ in range(count)]
    report = check(expected, observed, ordered=False)
    assert (report.lost, report.duplicated, report.unexpected) == (0, 0, 0), str(report)
