"""Noticing that the channel layer lost this process's sockets, and making their clients catch up.

Pushes reach a socket through its user's group in the channel layer (Redis).
When Redis restarts empty every group membership is gone, and the sockets
stay open receiving nothing: no push arrives to reveal a gap, so a client
never resyncs (found by the fault suite, ``faults/test_sockets.py``). While
Redis is away, the pushes sent meanwhile are lost as well.

So each ``ws`` process keeps a sentinel: a group of its own whose one member
is a channel only this watch reads. **The sentinel joins before any socket
of the process does** (``watching``, awaited by every connect before its
own ``group_add``): whatever empties Redis after a socket joined empties the
sentinel too, so there is no window in which a loss goes unseen (the first
version joined from its first probe, which came 12-16 s after the first
socket, and missed a restart in that window). Every
``WS_LAYER_CHECK_SECONDS`` a probe then looks for a loss, by three signs:

- Redis cannot be reached (any error), or a socket's own receive from the
  layer failed (``note_unreachable``);
- Redis restarted: its ``run_id`` differs from the one seen at the join
  (with persistence the groups survive a restart, the pushes sent while it
  was down do not);
- the sentinel's membership is gone (a restart without persistence, a
  flush, an eviction; also channels-redis's ``group_expiry``, a day after
  the join, which ends the oldest sockets' memberships the same way: their
  clients reconnect once and join afresh).

Once the layer answers again after a loss, the sentinel joins again and every
socket of the process is closed with 1012 (service restart): the clients
reconnect, which joins their groups again, and resync from their last seq,
which brings what the lost pushes carried (docs/realtime.md, "Close codes").

The layer itself drops messages too: a process's Redis key over capacity,
or messages expired in it unread (the process paused or too slow). The
layer records those (``todo_project.sync.layer``); each probe takes the
record and closes the sockets that missed a push the same way (all of them
when expired messages' channels are unknown).

Each probe also sends a message to the sentinel group and waits for it: if
the layer accepts the probes but ``STUCK_AFTER_PROBES`` in a row never come
back, this process can no longer receive pushes: it stops itself with
SIGTERM (its sockets close with 1001, see shutdown.py) so its supervisor
(Kubernetes, uvicorn's own) starts a fresh one, rather than keep clients on
stale data.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from django.conf import settings

from todo_project.prometheus import WS_LAYER_LOSSES
from todo_project.sync.layer import ALL_CHANNELS

logger = logging.getLogger(__name__)

PROBE_TYPE = "layer.probe"
# Probes sent through a reachable layer (after rejoining) that never came back.
STUCK_AFTER_PROBES = 3
# Probes in a row whose Redis calls had not returned after the probe timeout.
SLOW_AFTER_PROBES = 3

_watch: LayerWatch | None = None


Close = Callable[[set[str] | None], Awaitable[int]]


async def watching(layer: Any, close: Close) -> None:
    """Make sure this process's watch runs and its sentinel is in the layer.

    Awaited by each connect before the socket joins its group, so the
    sentinel is always older than every membership it stands for. Raises
    what the layer raises when the sentinel cannot join (Redis away): the
    socket is then refused (1013) like one whose own join failed.
    """
    global _watch
    interval = settings.WS_LAYER_CHECK_SECONDS
    if interval <= 0 or layer is None:
        return
    loop = asyncio.get_running_loop()
    if _watch is None or _watch.loop is not loop or _watch.layer is not layer:
        _watch = LayerWatch(layer, close, interval=interval)
    await _watch.start()


def note_unreachable() -> None:
    """A socket's receive from the layer failed: the layer is away (the next
    probe that gets through closes every socket of the process to resync)."""
    if _watch is not None:
        _watch.mark_lost("a socket's receive from the channel layer failed")


class LayerWatch:
    def __init__(
        self,
        layer: Any,
        close: Close,
        *,
        interval: float,
        probe_timeout: float | None = None,
    ) -> None:
        self.layer = layer
        # close(None): every socket of the process; close(names): those channels' sockets.
        self.close = close
        self.interval = interval
        # A probe is one Redis round trip each way; give a loaded host plenty.
        self.probe_timeout = probe_timeout if probe_timeout is not None else max(2.0, interval)
        self.group = f"ws-layer-watch.{uuid.uuid4().hex}"
        self.channel: str | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.lost = False
        self.joined = False
        self.run_ids: list[str] | None = None  # each Redis host's run_id when the sentinel joined
        self.sent = 0
        self.dropped: set[str] = set()  # channels the layer dropped a push for (not closed yet)
        self.slow = 0  # probes in a row still waiting on Redis at their timeout
        self.unanswered = 0  # probes sent (the layer reachable) that did not come back, in a row
        self.received = 0  # the highest probe number read back
        self._join_lock: asyncio.Lock | None = None
        self._task: asyncio.Task[None] | None = None
        self._receiver: asyncio.Task[None] | None = None
        self._sending: asyncio.Task[None] | None = None
        self.stop_process = lambda: os.kill(os.getpid(), signal.SIGTERM)

    async def start(self) -> None:
        """Join the sentinel (once; again after a failed try) and start probing."""
        self.loop = asyncio.get_running_loop()
        if self._join_lock is None:
            self._join_lock = asyncio.Lock()
        if not self.joined:
            async with self._join_lock:
                if not self.joined:
                    await self.join()
        if self._task is None or self._task.done():
            self._task = self.loop.create_task(self.run())

    def mark_lost(self, why: str) -> None:
        if not self.lost:
            WS_LAYER_LOSSES.inc()
            logger.warning("channel layer lost (%s)", why)
        self.lost = True

    async def join(self) -> None:
        """Put the sentinel in the layer (and note each Redis host's run_id)."""
        if self.channel is None:
            # The default "specific" prefix: channels-redis pops one Redis key per
            # process prefix under one lock, so a channel of another prefix
            # would take turns with the sockets' pushes instead of sharing the pop.
            self.channel = await self.layer.new_channel()
        run_ids = await self._run_ids()
        await self.layer.group_add(self.group, self.channel)
        self.run_ids = run_ids
        self.joined = True
        if self._receiver is None or self._receiver.done():
            self._receiver = asyncio.get_running_loop().create_task(self._receive_forever())

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.check()
            except Exception:  # the watch must outlive any one probe's surprise
                logger.exception("channel layer probe failed unexpectedly")
                self.mark_lost("the probe failed")

    async def check(self) -> bool:
        """One probe; True when the layer is whole. Closes the sockets on a recovery."""
        if self._sending is None or self._sending.done():
            self._sending = asyncio.get_running_loop().create_task(self._inspect_and_send())
        # Waited for with asyncio.wait, which returns at the timeout without
        # cancelling: a wait_for on redis-py mid-reconnect can outlast its timeout.
        done, _ = await asyncio.wait({self._sending}, timeout=self.probe_timeout)
        if not done:
            # Slow (a loaded Redis or event loop) is not lost: closing every socket
            # then would add a reconnect storm to the load. Hanging this long is.
            self.slow += 1
            if self.slow >= SLOW_AFTER_PROBES:
                self.mark_lost(f"no answer for {self.slow} probes")
            return False
        self.slow = 0
        if self._sending.exception() is not None:
            logger.debug("channel layer probe failed", exc_info=self._sending.exception())
            self.mark_lost("unreachable")
            return False
        number = self.sent
        if number:
            deadline = asyncio.get_running_loop().time() + self.probe_timeout
            progress = getattr(self.layer, "received_total", None)
            while self.received < number:
                if asyncio.get_running_loop().time() > deadline:
                    if progress is not None and getattr(self.layer, "received_total", None) != progress:
                        # Behind, not deaf: the process is still taking messages (a backlog; what
                        # it misses past the capacity is recorded and closes those sockets).
                        logger.warning("channel layer probe late: this process is behind on its messages")
                        return False
                    self.unanswered += 1
                    self.mark_lost("a probe sent through it never came back")
                    if self.unanswered >= STUCK_AFTER_PROBES:
                        logger.error(
                            "channel layer reachable but %d probes in a row never came back: this process "
                            "no longer receives pushes; stopping it so its supervisor starts a fresh one",
                            self.unanswered,
                        )
                        self.stop_process()
                    return False
                await asyncio.sleep(0.05)
        self.unanswered = 0
        if self.lost:
            self.lost = False
            self.dropped.clear()
            closed = await self.close(None)
            logger.warning("channel layer back: closed %d socket(s) with 1012 to resync", closed)
        elif self.dropped:
            dropped, self.dropped = self.dropped, set()
            closed = await self.close(None if ALL_CHANNELS in dropped else dropped)
            logger.warning("channel layer dropped pushes: closed %d socket(s) with 1012 to resync", closed)
        return True

    async def _inspect_and_send(self) -> None:
        """Look for a sign of loss (marking it), rejoin after one, then send the probe."""
        run_ids = await self._run_ids()
        if run_ids is not None and self.run_ids is not None and run_ids != self.run_ids:
            self.mark_lost("Redis restarted")
        elif await self._sentinel_missing():
            self.mark_lost("restarted, flushed or evicted without our groups")
        if self.lost:
            await self.join()
        take_dropped = getattr(self.layer, "take_dropped", None)
        if take_dropped is not None and self.channel is not None:
            self.dropped |= await take_dropped(self.channel) - {self.channel}
        self.sent += 1
        await self.layer.group_send(self.group, {"type": PROBE_TYPE, "n": self.sent})

    # --- what channels-redis offers beyond the channel layer API (None: another layer) ---
    def _redis_connections(self) -> list[Any] | None:
        if not (hasattr(self.layer, "ring_size") and hasattr(self.layer, "connection")):
            return None
        return [self.layer.connection(index) for index in range(self.layer.ring_size)]

    async def _run_ids(self) -> list[str] | None:
        connections = self._redis_connections()
        if connections is None:
            return None
        return [str((await connection.info("server")).get("run_id")) for connection in connections]

    async def _sentinel_missing(self) -> bool:
        if self.channel is None:
            return True
        if hasattr(self.layer, "_group_key") and hasattr(self.layer, "consistent_hash"):
            connection = self.layer.connection(self.layer.consistent_hash(self.group))
            score = await connection.zscore(self.layer._group_key(self.group), self.channel)
            return score is None
        groups = getattr(self.layer, "groups", None)  # the in-memory layer
        if isinstance(groups, dict):
            return self.channel not in groups.get(self.group, {})
        return False  # unknown layer: the probe's round trip is the only sign

    async def _receive_forever(self) -> None:
        """Read the sentinel channel; never cancelled while waiting: cancelling a
        channels-redis receive mid-pop can drop a message of the process's shared
        channel (another socket's push)."""
        assert self.channel is not None
        while True:
            try:
                message = await self.layer.receive(self.channel)
            except Exception:  # noqa: BLE001 - the layer away; the probes report it
                await asyncio.sleep(1)
                continue
            if message.get("type") == PROBE_TYPE and isinstance(message.get("n"), int):
                self.received = max(self.received, message["n"])
