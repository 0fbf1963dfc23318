"""WebSocket clients through a killed ``ws`` process and a channel layer (Redis) that goes away.

Clients follow docs/realtime.md: apply pushes by ``prev_seq``, resync from
their last seq on a gap and after every reconnect. The promise: writes keep
answering 2xx, and every client ends with exactly the user's pushable events,
in order — whatever the live pushes missed comes back by resync (counted).
"""

from __future__ import annotations

import threading

import pytest

from faults.checker import check
from faults.harness import wait_until
from faults.load import Writer
from faults.ws import SocketClient
from todo_project.sync.messages import PUSH_EVENT_TYPES

pytestmark = [pytest.mark.faults, pytest.mark.slow]

KAFKA = False


@pytest.fixture(scope="module")
def running(cluster):
    cluster.start("web", "ws", "worker")
    return cluster


def _pushable(cluster, user_ids: list[int]) -> dict[int, list[str]]:
    rows = cluster.postgres.query(
        "SELECT user_id, id::text FROM events_outboxevent WHERE user_id = ANY(%s) AND type = ANY(%s)"
        " ORDER BY user_id, seq",
        [user_ids, list(PUSH_EVENT_TYPES)],
    )
    out: dict[int, list[str]] = {user_id: [] for user_id in user_ids}
    for user_id, event_id in rows:
        out[int(user_id)].append(event_id)
    return out


class Supervisor:
    """Starts a process again whenever it has exited (a Deployment's restart policy)."""

    def __init__(self, proc) -> None:
        self.proc = proc
        self.restarts = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> Supervisor:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(100)

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            if self.proc.exited() is not None:
                self.restarts += 1
                self.proc.start()


def _write_more(writer: Writer, count: int, what: str) -> None:
    target = writer.count() + count
    wait_until(lambda: writer.count() >= target, timeout=90, what=what)


# Quarantined (long): with the layer watch it passed 3 of 8 runs; in the last four one
# client of three stalled (99 of 110 events) after the Redis restart, without a close and with
# no loss logged by the layer watch. Open defect, described in faults/README.md.
@pytest.mark.long
def test_clients_miss_nothing_through_a_ws_kill_and_a_channel_layer_outage(running):
    cluster = running
    users = [cluster.new_user("ws") for _ in range(3)]
    sockets = {u.id: SocketClient(cluster.ws_port, u.client.token or "", u.id).start() for u in users}
    wait_until(lambda: all(s.connects for s in sockets.values()), timeout=30, what="every socket connected")
    writer = Writer(users, reads=False, idempotency=False).start(threads=2)
    _write_more(writer, 15, "writes with every socket up")

    cluster.kill("ws")
    _write_more(writer, 15, "writes while ws is down")
    cluster.start("ws")
    _write_more(writer, 15, "writes after ws is back")

    # From here a supervisor restarts ws whenever it exits (as Kubernetes would):
    # a ws process whose channel layer stopped delivering stops itself.
    supervisor = Supervisor(cluster.procs["ws"]).start()
    # The channel layer gone, and back empty: every group membership is lost with it.
    cluster.redis.kill()
    _write_more(writer, 15, "writes while Redis is away")
    cluster.redis.start()
    _write_more(writer, 30, "writes after Redis is back")
    calls = writer.stop()
    failed = [(c.status, str(c.body or c.error)[:160]) for c in calls if not c.ok]
    assert not failed, f"{len(failed)} of {len(calls)} writes failed: {failed[:3]}"

    wait_until(lambda: cluster.outbox_undispatched() == 0, timeout=90, what="the outbox dispatched")
    ids = [u.id for u in users]
    expected = _pushable(cluster, ids)

    def stats() -> dict:
        return {
            u: {
                "applied": f"{len(s.applied)}/{len(expected[u])}",
                "connects": s.connects,
                "gaps": s.gaps,
                "recovered_by_resync": s.recovered_by_resync,
                "frames": dict(s.kinds),
                "closes": s.closes[-6:],
            }
            for u, s in sockets.items()
        }

    try:
        wait_until(
            lambda: all(len(sockets[u].applied) >= len(expected[u]) for u in ids),
            timeout=60,
            what="every socket to apply every event",
        )
    except AssertionError as exc:
        notes = [
            line for line in cluster.logs("ws", 10**7).splitlines() if "layer" in line or "--- start" in line
        ]
        import redis

        keys = sorted(k.decode() for k in redis.Redis.from_url(cluster.redis.url).keys("asgi:group:*"))
        raise AssertionError(f"{exc}\n{stats()}\nlayer groups: {keys}\n" + "\n".join(notes[-20:])) from None
    finally:
        supervisor.stop()
        for client in sockets.values():
            client.stop()
    report = check(expected, [(u, event_id) for u in ids for event_id in sockets[u].applied])
    print(f"{len(calls)} writes, all 2xx; ws restarted by the supervisor {supervisor.restarts}x; sockets:")
    print(report.summary(), stats())
    totals = (report.lost, report.duplicated, report.unexpected, report.out_of_order)
    assert totals == (0, 0, 0, 0), f"{report}\n{stats()}"
    assert all(s.connects >= 2 for s in sockets.values()), "a socket did not reconnect after the ws kill"
    assert sum(s.recovered_by_resync for s in sockets.values()) > 0, "nothing was missed live: no fault?"
