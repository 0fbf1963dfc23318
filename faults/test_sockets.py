"""WebSocket clients through a killed ``ws`` process, a channel layer (Redis) that goes away,
and a channel layer that drops pushes (over capacity) for a process gone quiet.

Clients follow docs/realtime.md: apply pushes by ``prev_seq``, resync from
their last seq on a gap and after every reconnect. The promise: writes keep
answering 2xx, and every client ends with exactly the user's pushable events,
in order — whatever the live pushes missed comes back by resync (counted).
"""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest
import redis

from faults.checker import check
from faults.harness import wait_until
from faults.load import Writer
from faults.ws import SocketClient
from todo_project.sync.messages import PUSH_EVENT_TYPES
from todo_project.sync.presence import (
    PRESENCE_CATCH_UP_SECONDS,
    PRESENCE_CLOCK_MARGIN_SECONDS,
    PRESENCE_MAX_STALENESS_SECONDS,
)

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


def _all_connected(sockets: dict[int, SocketClient], connects: int, what: str) -> None:
    """Every client connected ``connects`` times and finished the resync that follows."""
    wait_until(
        lambda: all(min(s.connects, s.kinds["resync.complete"]) >= connects for s in sockets.values()),
        timeout=90,
        what=what,
    )


def _diagnose(cluster, sockets, expected, exc: AssertionError, stats) -> AssertionError:
    notes = [
        line
        for line in cluster.logs("ws", 10**7).splitlines()
        if "layer" in line or "--- start" in line or "Exception" in line
    ]
    keys = sorted(
        k.decode() if isinstance(k, bytes) else k
        for k in redis.Redis.from_url(cluster.redis.url).keys("asgi:group:*")
    )
    return AssertionError(f"{exc}\n{stats()}\nlayer groups: {keys}\n" + "\n".join(notes[-20:]))


def _stats(sockets: dict[int, SocketClient], expected: dict[int, list[str]]):
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

    return stats


def test_clients_miss_nothing_through_a_ws_kill_and_a_channel_layer_outage(running):
    cluster = running
    users = [cluster.new_user("ws") for _ in range(3)]
    sockets = {u.id: SocketClient(cluster.ws_port, u.client.token or "", u.id).start() for u in users}
    _all_connected(sockets, 1, "every socket connected")
    writer = Writer(users, reads=False, idempotency=False).start(threads=2)
    _write_more(writer, 15, "writes with every socket up")

    cluster.kill("ws")
    _write_more(writer, 15, "writes while ws is down")
    cluster.start("ws")
    # Redis goes away as soon as every client is back: in the ws process's first
    # seconds, the window the first layer watch missed (faults/README.md, defect 11).
    _all_connected(sockets, 2, "every socket reconnected after the ws kill")

    # From here a supervisor restarts ws whenever it exits (as Kubernetes would):
    # a ws process whose channel layer stopped delivering stops itself.
    supervisor = Supervisor(cluster.procs["ws"]).start()
    # The channel layer gone, and back empty: every group membership is lost with it.
    cluster.redis.kill()
    _write_more(writer, 15, "writes while Redis is away")
    cluster.redis.start()
    _write_more(writer, 15, "writes after Redis is back")
    _all_connected(sockets, 3, "every socket told of the outage (closed) and reconnected")
    _write_more(writer, 15, "writes with every socket back")
    calls = writer.stop()
    failed = [(c.status, str(c.body or c.error)[:160]) for c in calls if not c.ok]
    assert not failed, f"{len(failed)} of {len(calls)} writes failed: {failed[:3]}"

    wait_until(lambda: cluster.outbox_undispatched() == 0, timeout=90, what="the outbox dispatched")
    ids = [u.id for u in users]
    expected = _pushable(cluster, ids)

    stats = _stats(sockets, expected)
    try:
        wait_until(
            lambda: all(len(sockets[u].applied) >= len(expected[u]) for u in ids),
            timeout=60,
            what="every socket to apply every event",
        )
    except AssertionError as exc:
        raise _diagnose(cluster, sockets, expected, exc, stats) from None
    finally:
        supervisor.stop()
        for client in sockets.values():
            client.stop()
    report = check(expected, [(u, event_id) for u in ids for event_id in sockets[u].applied])
    print(f"{len(calls)} writes, all 2xx; ws restarted by the supervisor {supervisor.restarts}x; sockets:")
    print(report.summary(), stats())
    totals = (report.lost, report.duplicated, report.unexpected, report.out_of_order)
    assert totals == (0, 0, 0, 0), f"{report}\n{stats()}"
    assert sum(s.recovered_by_resync for s in sockets.values()) > 0, "nothing was missed live: no fault?"


CAPACITY = 10  # CHANNEL_LAYER_CAPACITY for the next case (its minimum)


def test_clients_offline_past_the_channel_layers_capacity_resync_to_the_exact_state(running):
    """The ws process stops reading (SIGSTOP: paused, swapped out) and one client stops
    reading its socket, while several times the channel layer's capacity is pushed:
    channels-redis drops what does not fit, the newest, so with no later push no client
    would ever see a gap. The layer records the drops; the ws process's watch closes
    those sockets (1012), and they resync to exactly the user's events."""
    cluster = running
    small = {"CHANNEL_LAYER_CAPACITY": str(CAPACITY)}
    # The sender's capacity decides (the worker pushes); the ws process's the same.
    for name in ("worker", "ws"):
        cluster.kill(name)
        cluster.procs[name].start(extra_env=small)
    users = [cluster.new_user("cap") for _ in range(3)]
    sockets = {u.id: SocketClient(cluster.ws_port, u.client.token or "", u.id).start() for u in users}
    _all_connected(sockets, 1, "every socket connected")
    # Past each new socket's one look for pushes it may have missed while joining
    # (the presence catch-up): it would send this case's events by itself.
    time.sleep(PRESENCE_CATCH_UP_SECONDS + PRESENCE_MAX_STALENESS_SECONDS + PRESENCE_CLOCK_MARGIN_SECONDS)
    quiet = sockets[users[0].id]
    quiet.pause_reading()  # a client that stops reading its socket

    ws = cluster.procs["ws"]
    assert ws.process is not None
    layer_redis = redis.Redis.from_url(cluster.redis.url)
    os.killpg(ws.process.pid, signal.SIGSTOP)
    try:
        writer = Writer(users, reads=False, idempotency=False).start(threads=2)
        _write_more(writer, 4 * CAPACITY, "writes while the ws process reads nothing")
        calls = writer.stop()
        wait_until(lambda: cluster.outbox_undispatched() == 0, timeout=90, what="the outbox dispatched")
        # The process's one Redis key (all its sockets share it) is full: the rest was dropped.
        held = max((layer_redis.zcard(key) for key in layer_redis.keys("asgispecific.*!")), default=0)
    finally:
        os.killpg(ws.process.pid, signal.SIGCONT)
    failed = [(c.status, str(c.body or c.error)[:160]) for c in calls if not c.ok]
    assert not failed, f"{len(failed)} of {len(calls)} writes failed: {failed[:3]}"
    assert held >= CAPACITY, f"the key held {held}: nothing was dropped, no fault?"
    assert len(calls) > 2 * CAPACITY

    # No write from here on: nothing but the server can tell the clients what they missed.
    ids = [u.id for u in users]
    expected = _pushable(cluster, ids)
    others = [s for u, s in sockets.items() if u != users[0].id]
    stats = _stats(sockets, expected)
    try:
        wait_until(
            lambda: all(len(sockets[s.user_id].applied) >= len(expected[s.user_id]) for s in others),
            timeout=60,
            what="the reading sockets to apply every event",
        )
        quiet.resume_reading()
        wait_until(
            lambda: len(quiet.applied) >= len(expected[quiet.user_id]), timeout=60, what="the quiet one"
        )
    except AssertionError as exc:
        raise _diagnose(cluster, sockets, expected, exc, stats) from None
    finally:
        for client in sockets.values():
            client.stop()
    report = check(expected, [(u, event_id) for u in ids for event_id in sockets[u].applied])
    print(f"{len(calls)} writes, all 2xx; the ws process's key held {held} (capacity {CAPACITY}); sockets:")
    print(report.summary(), stats())
    assert (report.lost, report.duplicated, report.unexpected, report.out_of_order) == (0, 0, 0, 0), report
    assert all(s.connects >= 2 for s in sockets.values()), f"a socket was never told: {stats()}"
