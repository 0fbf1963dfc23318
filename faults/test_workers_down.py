"""Every worker down while beat keeps enqueuing, then back.

Contract (settings.CELERY_BEAT_SCHEDULE, docs/operations.md): each periodic
sweep is harmless when doubled or missed and carries ``expires`` = its
interval, so the scans beat enqueued while no worker ran are discarded on
arrival (revoked as expired) instead of each doing the work late; the first
fresh scan catches up, and every reminder that came due in the outage fires
once. What Redis holds meanwhile is measured and printed (the messages beat
published: they stay in the list until a worker takes them).
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter

import pytest
import redis

from faults.checker import check
from faults.harness import wait_until
from faults.load import fired_reminders, in_app_notifications, owners, reminders_due

KAFKA = False
pytestmark = [pytest.mark.faults, pytest.mark.slow]
OUTAGE_SECONDS = 12


def _queued(cluster) -> Counter[str]:
    """The task names of the messages waiting in the broker's default queue."""
    client = redis.Redis(port=cluster.redis.port)
    try:
        return Counter(json.loads(raw)["headers"]["task"] for raw in client.lrange("celery", 0, -1))
    finally:
        client.close()


def test_beat_enqueuing_while_every_worker_is_down_expires_its_stale_scans_and_each_reminder_fires_once(
    cluster,
):
    cluster.start("web", "worker", "beat")
    users = [cluster.new_user("wd") for _ in range(3)]
    wait_until(lambda: cluster.outbox_undispatched() == 0, timeout=60, what="the sign-ups dispatched")
    cluster.kill("worker")
    down_at = time.monotonic()
    expected = reminders_due(cluster, users, per_user=4, due_in=4)
    ids = [u.id for u in users]
    wait_until(lambda: time.monotonic() - down_at > OUTAGE_SECONDS, timeout=60, what="the outage")
    queued = _queued(cluster)
    assert set(fired_reminders(cluster, ids).values()) == {"pending"}, "a reminder fired with no worker"
    assert queued["reminders_app.tasks.reminders_scan_task"] >= 2, queued

    worker = cluster.procs["worker"]
    worker.start()
    back_at = time.monotonic()
    wait_until(
        lambda: set(fired_reminders(cluster, ids).values()) == {"triggered"},
        timeout=60,
        what="every reminder fired after the workers came back",
    )
    wait_until(
        lambda: {rid for _, rid in in_app_notifications(cluster, ids)} == set(owners(expected)),
        timeout=60,
        what="every in-app notification",
    )
    fired_after = time.monotonic() - back_at
    report = check(expected, in_app_notifications(cluster, ids), ordered=False)
    assert (report.lost, report.duplicated, report.unexpected) == (0, 0, 0), str(report)
    triggered = cluster.postgres.query(
        "SELECT count(*) FROM events_outboxevent WHERE type = 'reminder.triggered' AND user_id = ANY(%s)",
        [ids],
    )[0][0]
    assert triggered == len(owners(expected))

    # The stale scans were discarded as expired, not run late one after another.
    wait_until(lambda: sum(_queued(cluster).values()) < 5, timeout=60, what="the queue drained")
    log = worker.output_since_start()
    expired = len(re.findall(r"Discarding revoked task: reminders_app\.tasks\.reminders_scan_task", log))
    print(
        f"workers down {OUTAGE_SECONDS} s: Redis held {sum(queued.values())} messages {dict(queued)}; "
        f"{expired} stale scans discarded as expired; all {len(owners(expected))} reminders fired "
        f"{fired_after:.1f} s after the worker started"
    )
    assert expired >= 1, "no stale scan was discarded as expired"
