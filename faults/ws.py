"""A WebSocket client that behaves like the web app's: applies pushes in chain order, resyncs on gaps.

Each push carries its ``seq`` and ``prev_seq`` (the user's previous event on
that channel). The client applies a message as docs/realtime.md says
(``prev_seq`` null or not beyond the last seq it applied on the channel); a
message whose ``prev_seq`` is further ahead is a gap (a push lost, or
overtaken by a later one) and makes it send ``resync`` from what it has.
After any disconnect it reconnects (bounded backoff), subscribes and
resyncs. What it applied, in order, is the history the checker compares with
the outbox; what it applied while a resync was pending is counted as
``recovered_by_resync``. ``pause_reading`` makes it stop reading its socket
(a client offline, a frozen tab) until ``resume_reading``.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.sync.client import connect

CHANNELS = ("tasks", "notifications", "chat")


@dataclass
class SocketClient:
    port: int
    token: str
    user_id: int
    applied: list[str] = field(default_factory=list)  # event ids, in the order applied
    last: dict[str, int] = field(default_factory=dict)  # channel -> last applied seq
    recovered_by_resync: int = 0
    gaps: int = 0
    duplicates: int = 0
    connects: int = 0
    closes: list[str] = field(default_factory=list)
    kinds: Counter[str] = field(default_factory=Counter)  # frames received, by type
    _stop: threading.Event = field(default_factory=threading.Event)
    _reading: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def pause_reading(self) -> None:
        self._reading.clear()

    def resume_reading(self) -> None:
        self._reading.set()

    def start(self) -> SocketClient:
        self._reading.set()
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"ws-{self.user_id}")
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(15)

    @property
    def since(self) -> int:
        # Every channel's chain is complete up to its own last seq; resync from
        # the lowest, and the duplicates that brings are dropped by seq.
        return min(self.last.values(), default=0)

    def _run(self) -> None:
        backoff = 0.2
        while not self._stop.is_set():
            try:
                with connect(
                    f"ws://127.0.0.1:{self.port}/ws/tasks",
                    subprotocols=["bearer", self.token],  # type: ignore[list-item]
                    open_timeout=5,
                    close_timeout=1,
                    # No protocol pings of its own: a client that gave up on a silent
                    # server would reconnect and resync, hiding what the server missed.
                    ping_interval=None,
                ) as socket:
                    self.connects += 1
                    backoff = 0.2
                    self._session(socket)
            except ConnectionClosed as exc:
                self.closes.append(f"closed {exc.rcvd.code if exc.rcvd else None}")
            except (OSError, InvalidHandshake, TimeoutError) as exc:
                self.closes.append(type(exc).__name__)
            self._stop.wait(backoff)
            backoff = min(backoff * 2, 2.0)

    def _session(self, socket: Any) -> None:
        for channel in CHANNELS:
            socket.send(json.dumps({"type": "subscribe", "channel": channel}))
        socket.send(json.dumps({"type": "resync", "since": self.since}))
        resyncing = True
        last_ping = time.monotonic()
        while not self._stop.is_set():
            if not self._reading.is_set():
                self._reading.wait(0.2)  # not reading: frames pile up in the socket
                continue
            if time.monotonic() - last_ping > 10:
                socket.send(json.dumps({"type": "ping"}))
                last_ping = time.monotonic()
            try:
                frame = json.loads(socket.recv(timeout=0.5))
            except TimeoutError:
                continue
            kind = frame.get("type", "")
            self.kinds["push" if "seq" in frame and "channel" in frame else kind] += 1
            if kind == "resync.complete":
                if frame.get("has_more"):
                    socket.send(json.dumps({"type": "resync", "since": self.since}))
                else:
                    resyncing = False
                continue
            if kind == "resync.required":
                # Too far behind (or the channel layer told us to): start over from what we have.
                socket.send(json.dumps({"type": "resync", "since": self.since}))
                resyncing = True
                continue
            if "seq" not in frame or "channel" not in frame:
                continue  # connected, subscribed, pong, error
            if self._apply(frame, via_resync=resyncing) == "gap" and not resyncing:
                socket.send(json.dumps({"type": "resync", "since": self.since}))
                resyncing = True

    def _apply(self, frame: dict[str, Any], *, via_resync: bool) -> str:
        channel, seq, prev = frame["channel"], int(frame["seq"]), frame.get("prev_seq")
        last = self.last.get(channel, 0)
        if seq <= last:
            self.duplicates += 1
            return "duplicate"
        if prev is not None and prev > last:  # docs/realtime.md "Applying pushes in order"
            self.gaps += 1
            return "gap"
        self.last[channel] = seq
        self.applied.append(frame["id"])
        if via_resync:
            self.recovered_by_resync += 1
        return "applied"
