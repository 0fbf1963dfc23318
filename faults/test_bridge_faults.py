"""The Kafka bridge under faults: SIGKILL after produce before mark; the broker down while the API writes.

Contract (docs/events.md): at least once, in order per user. A crash between
Kafka's acknowledgement and marking the rows sends that round again with the
same ``ce_id`` (counted as duplicates); nothing is lost, and no user's first
copies are ever out of sequence order.
"""

from __future__ import annotations

from collections.abc import Hashable

import pytest

from faults.checker import check
from faults.harness import wait_until
from faults.kafka import read_all, read_dead_letters, topic_of
from faults.load import Writer

pytestmark = [pytest.mark.faults, pytest.mark.slow, pytest.mark.kafka]


def _expected(cluster, user_ids: list[int]) -> dict[Hashable, list[Hashable]]:
    """Per (topic family, user): the outbox event ids in sequence order."""
    rows = cluster.postgres.query(
        "SELECT user_id, type, id::text FROM events_outboxevent "
        "WHERE user_id = ANY(%s) ORDER BY user_id, seq",
        [user_ids],
    )
    out: dict[Hashable, list[Hashable]] = {}
    for user_id, event_type, event_id in rows:
        out.setdefault((_family(event_type), int(user_id)), []).append(event_id)
    return out


def _family(event_type: str) -> str:
    return topic_of(event_type)


def _observed(cluster, expected_count: int, user_ids: list[int]):
    records = read_all(cluster.broker.bootstrap, expected=expected_count)
    wanted = {str(u) for u in user_ids}
    # Partition order is the order a consumer sees; each user is in one partition per topic.
    records.sort(key=lambda r: (r.topic, r.partition, r.offset))
    return [((r.topic, int(r.key)), r.ce_id) for r in records if r.key in wanted]


@pytest.fixture(scope="module")
def running(cluster):
    cluster.start("web", "worker")
    return cluster


def test_a_bridge_killed_after_produce_before_mark_resends_the_round_and_loses_nothing(running):
    cluster = running
    users = [cluster.new_user("br") for _ in range(5)]
    for user in users:
        for number in range(20):
            status, body, _ = user.client.call("POST", "/api/tasks", {"title": f"bridge {number}"})
            assert status == 201, body
    bridge = cluster.procs["bridge"]
    bridge.start(extra_env={"TASKBEAT_FAULT_POINT": "bridge.after_produce", "KAFKA_BRIDGE_BATCH_SIZE": "40"})
    wait_until(lambda: bridge.exited() is not None, timeout=60, what="the bridge to crash after produce")
    assert "fault point 'bridge.after_produce' reached" in cluster.logs("bridge", 20000)
    bridge.process = None
    bridge.start(extra_env={"KAFKA_BRIDGE_BATCH_SIZE": "40"})
    wait_until(lambda: cluster.outbox_unpublished() == 0, timeout=90, what="the outbox published")

    ids = [u.id for u in users]
    expected = _expected(cluster, ids)
    report = check(expected, _observed(cluster, sum(map(len, expected.values())), ids))
    print("bridge SIGKILL after produce:", report.summary())
    assert (report.lost, report.unexpected, report.out_of_order) == (0, 0, 0), str(report)
    assert report.duplicated >= 1, "the crashed round was not sent again"
    bridge.kill()


def test_the_api_keeps_answering_while_the_broker_is_unreachable_and_everything_is_published_after(running):
    cluster = running
    cluster.start("bridge")
    starts = {name: cluster.procs[name].starts for name in ("web", "worker", "bridge")}
    users = [cluster.new_user("bk") for _ in range(10)]
    writer = Writer(users, reads=False).start(threads=2)
    wait_until(lambda: writer.count() >= 20, timeout=60, what="writes before the outage")
    # Every connection to the broker reset, new ones refused: Kafka is gone for the bridge.
    cluster.broker.proxy.set("reset")
    during_from = writer.count()
    wait_until(lambda: writer.count() >= during_from + 60, timeout=120, what="writes while Kafka is away")
    backlog = cluster.outbox_unpublished()
    cluster.broker.proxy.set("pass")
    after = writer.count()
    wait_until(lambda: writer.count() >= after + 20, timeout=60, what="writes after the outage")
    calls = writer.stop()
    failed = [(c.status, str(c.body or c.error)[:160]) for c in calls if not c.ok]
    assert not failed, f"{len(failed)} of {len(calls)} calls failed: {failed[:3]}"

    wait_until(lambda: cluster.outbox_unpublished() == 0, timeout=120, what="the backlog published")
    ids = [u.id for u in users]
    expected = _expected(cluster, ids)
    report = check(expected, _observed(cluster, sum(map(len, expected.values())), ids))
    print(f"Kafka away: {len(calls)} calls, backlog {backlog} at the end of the outage;", report.summary())
    assert backlog > 0, "the outage left no backlog: did the bridge really lose the broker?"
    assert (report.lost, report.unexpected, report.out_of_order) == (0, 0, 0), str(report)
    assert {name: cluster.procs[name].starts for name in starts} == starts, "a process was restarted"
    cluster.kill("bridge")


def _check_published(cluster, users, what: str):
    wait_until(lambda: cluster.outbox_unpublished() == 0, timeout=120, what="the outbox published")
    ids = [u.id for u in users]
    expected = _expected(cluster, ids)
    report = check(expected, _observed(cluster, sum(map(len, expected.values())), ids))
    print(f"{what}:", report.summary())
    assert (report.lost, report.unexpected, report.out_of_order) == (0, 0, 0), str(report)
    return report


def test_a_half_open_broker_mid_batch_loses_nothing_and_inverts_nothing(running):
    """The proxy blackholes every live connection (no FIN, no RST: the broker
    just stops answering) while the bridge is producing, then the link heals
    and the bytes held in it are delivered late."""
    cluster = running
    cluster.start("bridge")
    users = [cluster.new_user("hb") for _ in range(6)]
    writer = Writer(users, reads=False).start(threads=2)
    wait_until(lambda: writer.count() >= 20, timeout=60, what="writes before the blackhole")
    cluster.broker.proxy.set("blackhole")
    during = writer.count()
    # Past the producer's delivery timeout (KAFKA_DELIVERY_TIMEOUT_MS = 3 s in the suite).
    wait_until(lambda: writer.count() >= during + 60, timeout=120, what="writes while half-open")
    backlog = cluster.outbox_unpublished()
    cluster.broker.proxy.set("pass")
    after = writer.count()
    wait_until(lambda: writer.count() >= after + 20, timeout=60, what="writes after the link healed")
    calls = writer.stop()
    failed = [(c.status, str(c.body or c.error)[:160]) for c in calls if not c.ok]
    assert not failed, f"{len(failed)} of {len(calls)} calls failed: {failed[:3]}"
    report = _check_published(cluster, users, f"half-open broker ({len(calls)} calls, backlog {backlog})")
    assert backlog > 0, "the blackhole left no backlog: did the bridge really lose the broker?"
    assert cluster.procs["bridge"].alive, "the bridge died"
    print("Kafka duplicates (same ce_id, at least once):", report.duplicated)
    cluster.kill("bridge")


def test_three_bridges_at_once_publish_each_user_in_order(running):
    """A botched deploy (or a scale-up) runs three replicas over one outbox."""
    cluster = running
    users = [cluster.new_user("b3") for _ in range(12)]
    writer = Writer(users, reads=False).start(threads=2)
    wait_until(lambda: writer.count() >= 30, timeout=60, what="a backlog before the bridges start")
    for name in ("bridge", "bridge2", "bridge3"):
        cluster.procs[name].start(extra_env={"KAFKA_BRIDGE_BATCH_SIZE": "20"})
    start = writer.count()
    wait_until(lambda: writer.count() >= start + 90, timeout=120, what="writes with three bridges running")
    calls = writer.stop()
    assert all(c.ok for c in calls), [c.status for c in calls if not c.ok][:5]
    report = _check_published(cluster, users, "three bridges")
    # Advisory locks give each user to one replica at a time: no resend without a fault.
    assert report.duplicated == 0, str(report)
    assert all(cluster.procs[name].alive for name in ("bridge", "bridge2", "bridge3"))
    cluster.kill("bridge", "bridge2", "bridge3")


def test_a_poison_event_goes_to_the_dead_letter_topic_with_its_reason_and_others_keep_flowing(running):
    """An event larger than the broker takes (KAFKA_MESSAGE_MAX_BYTES lowered
    for this bridge) is dead-lettered with the reason; the other users' events
    and the poisoned user's next ones are published in order."""
    cluster = running
    cluster.procs["bridge"].start(extra_env={"KAFKA_MESSAGE_MAX_BYTES": "4000"})
    poisoned, *others = [cluster.new_user("px") for _ in range(3)]
    status, big, _ = poisoned.client.call("POST", "/api/tasks", {"title": "big", "description": "x" * 4500})
    assert status == 201, big
    for user in (poisoned, *others):
        for number in range(5):
            status, body, _ = user.client.call("POST", "/api/tasks", {"title": f"after {number}"})
            assert status == 201, body
    wait_until(lambda: cluster.outbox_unpublished() == 0, timeout=90, what="the outbox handled")
    dead = cluster.postgres.query(
        "SELECT id::text, publish_error FROM events_outboxevent"
        " WHERE dead_lettered_at IS NOT NULL AND user_id = %s",
        [poisoned.id],
    )
    assert len(dead) == 1, dead
    dead_id, reason = dead[0]
    assert "too large" in reason, reason
    dlq = [r for r in read_dead_letters(cluster.broker.bootstrap) if r.ce_id == dead_id]
    assert dlq, "the dead-lettered event is not on the dead-letter topic"
    assert "too large" in dlq[0].error
    # Everything else: in order, nothing lost (the dead-lettered event is expected on the DLQ, not the topic).
    ids = [u.id for u in (poisoned, *others)]
    expected = {key: [e for e in events if e != dead_id] for key, events in _expected(cluster, ids).items()}
    report = check(expected, _observed(cluster, sum(map(len, expected.values())), ids))
    print("poison:", report.summary(), "reason:", reason[:80])
    assert (report.lost, report.unexpected, report.out_of_order) == (0, 0, 0), str(report)
    cluster.kill("bridge")
