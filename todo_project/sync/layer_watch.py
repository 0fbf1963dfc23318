"""Noticing that the channel layer lost this process's sockets, and making their clients catch up.

Pushes reach a socket through its user's group in the channel layer (Redis).
When Redis restarts empty every group membership is gone, and the sockets
stay open receiving nothing: no push arrives to reveal a gap, so a client
never resyncs (found by the fault suite, ``faults/test_sockets.py``). While
Redis is away, the pushes sent meanwhile are lost as well.

So each ``ws`` process keeps a sentinel: a group of its own whose one member
is a channel only this watch reads. Every ``WS_LAYER_CHECK_SECONDS`` it sends
a probe to that group and waits for it. A probe that does not come back (the
layer is unreachable, or the membership vanished with a restart) marks the
layer lost. When a probe comes back after a loss, every socket of the process
is closed with 1012 (service restart): the clients reconnect, which joins
their groups again, and resync from their last seq, which brings what the
lost pushes carried (docs/realtime.md, "Close codes").

If the layer accepts the probes but ``STUCK_AFTER_PROBES`` in a row never
come back, this process can no longer receive pushes: it stops itself with
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

logger = logging.getLogger(__name__)

PROBE_TYPE = "layer.probe"
# Probes sent through a reachable layer (after rejoining) that never came back.
STUCK_AFTER_PROBES = 3

_task: asyncio.Task[None] | None = None


def ensure_running(layer: Any, close_all: Callable[[], Awaitable[int]]) -> None:
    """Start the process's watch on the running loop (once; again if its loop ended)."""
    global _task
    interval = settings.WS_LAYER_CHECK_SECONDS
    if interval <= 0 or layer is None:
        return
    loop = asyncio.get_running_loop()
    if _task is not None and not _task.done() and _task.get_loop() is loop:
        return
    _task = loop.create_task(LayerWatch(layer, close_all, interval=interval).run())


class LayerWatch:
    def __init__(
        self,
        layer: Any,
        close_all: Callable[[], Awaitable[int]],
        *,
        interval: float,
        probe_timeout: float | None = None,
    ) -> None:
        self.layer = layer
        self.close_all = close_all
        self.interval = interval
        # A probe is one Redis round trip each way; give a loaded host plenty.
        self.probe_timeout = probe_timeout if probe_timeout is not None else max(2.0, interval)
        self.group = f"ws-layer-watch.{uuid.uuid4().hex}"
        self.channel: str | None = None
        self.lost = False
        self.sent = 0
        self.unanswered = 0  # probes sent (the layer reachable) that did not come back, in a row
        self.received = 0  # the highest probe number read back
        self._receiver: asyncio.Task[None] | None = None
        self._sending: asyncio.Task[None] | None = None
        self.stop_process = lambda: os.kill(os.getpid(), signal.SIGTERM)

    async def run(self) -> None:
        # The first probe at once: it joins the sentinel group, and a loss is
        # only seen from then on (a restart before it would go unnoticed).
        while True:
            try:
                await self.check()
            except Exception:  # the watch must outlive any one probe's surprise
                logger.exception("channel layer probe failed unexpectedly")
                self.lost = True
            await asyncio.sleep(self.interval)

    async def check(self) -> bool:
        """One probe; True when the layer delivered it. Closes the sockets on a recovery."""
        healthy = await self._probe()
        if not healthy:
            if not self.lost:
                WS_LAYER_LOSSES.inc()
                logger.warning("channel layer lost (unreachable, or restarted without our groups)")
            self.lost = True
            if self.unanswered >= STUCK_AFTER_PROBES:
                logger.error(
                    "channel layer reachable but %d probes in a row never came back: this process no "
                    "longer receives pushes; stopping it so its supervisor starts a fresh one",
                    self.unanswered,
                )
                self.stop_process()
            return False
        self.unanswered = 0
        if self.lost:
            self.lost = False
            closed = await self.close_all()
            logger.warning("channel layer back: closed %d socket(s) with 1012 to resync", closed)
        return True

    async def _probe(self) -> bool:
        if self.channel is None:
            # The default "specific" prefix: channels-redis pops one Redis key per
            # process prefix under one lock, so a channel of another prefix
            # would take turns with the sockets' pushes instead of sharing the pop.
            self.channel = await self.layer.new_channel()
            self._receiver = asyncio.get_running_loop().create_task(self._receive_forever())
        if self._sending is not None and not self._sending.done():
            return False  # the last send still hangs (redis-py reconnecting): the layer is away
        self.sent += 1
        number = self.sent
        # Waited for with asyncio.wait, which returns at the timeout without
        # cancelling: a wait_for on redis-py mid-reconnect can outlast its timeout.
        sending = self._send(number, rejoin=self.lost or number == 1)
        self._sending = asyncio.get_running_loop().create_task(sending)
        done, _ = await asyncio.wait({self._sending}, timeout=self.probe_timeout)
        if not done or self._sending.exception() is not None:
            logger.debug("channel layer probe not sent", exc_info=self._sending.exception() if done else None)
            return False
        deadline = asyncio.get_running_loop().time() + self.probe_timeout
        while self.received < number:
            if asyncio.get_running_loop().time() > deadline:
                self.unanswered += 1
                return False
            await asyncio.sleep(0.05)
        return True

    async def _send(self, number: int, *, rejoin: bool) -> None:
        assert self.channel is not None
        if rejoin:
            # The first time, and after a loss (the membership may be gone).
            await self.layer.group_add(self.group, self.channel)
        await self.layer.group_send(self.group, {"type": PROBE_TYPE, "n": number})

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
