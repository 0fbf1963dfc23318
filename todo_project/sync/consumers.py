"""The task sync socket (/ws/tasks/, /api/tasks/ws). Protocol: docs/realtime.md.

One consumer per connection. It only parses frames and shapes replies; the
data comes from ``todo_project.sync.selectors`` and pushes arrive from the
event handler through the user's Channels group. Everything sent goes
through one bounded queue drained by one writer task, so a slow client
backs up only its own queue, never the channel layer or other connections.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from channels.utils import await_many_dispatch
from django.conf import settings

from todo_project.errors import error_body
from todo_project.events.selectors import user_last_seq
from todo_project.sync import layer_watch, presence, shutdown
from todo_project.sync.messages import CHANNEL_OF_TYPE, CHANNELS, group_name
from todo_project.sync.selectors import SyncPage, sync_since

logger = logging.getLogger(__name__)

MAX_FRAME_BYTES = 64 * 1024

# Close codes (4000-4999 are the application's; documented in docs/realtime.md).
CLOSE_GOING_AWAY = 1001
CLOSE_SERVICE_RESTART = 1012
CLOSE_TRY_AGAIN_LATER = 1013
CLOSE_UNAUTHENTICATED = 4401
CLOSE_IDLE = 4408
CLOSE_TOO_FAR_BEHIND = 4429
# Replies to the client's own frames (pong, errors, a resync page) may exceed
# the push bound by this much before the client counts as too far behind.
REPLY_HEADROOM = 16
# The key under which a push event carries its encoded frame (see sync_push).
_ENCODED = "_taskbeat_text"
# A failed receive from the channel layer is tried again after this long.
LAYER_RETRY_SECONDS = 1.0
# The last frame's message when the account's credentials end (sync_close).
_CLOSE_MESSAGES = {
    "password_changed": "The account's password changed; sign in again.",
    "account_deactivated": "The account was deactivated.",
    "session_ended": "The session behind this connection ended; sign in again.",
}


@dataclass(frozen=True)
class _Close:
    code: int


class TaskSyncConsumer(AsyncWebsocketConsumer):
    user_id: int
    group: str | None = None

    # --- connection lifecycle -------------------------------------------------
    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """AsyncConsumer's own, with the channel layer's receive guarded: when
        Redis goes away it raises, which ended the consumer with "Exception in
        ASGI application" and left it registered (never disconnected)."""
        self.scope = scope
        self.channel_layer = get_channel_layer(self.channel_layer_alias)
        self.base_send = send
        if self.channel_layer is None:
            callables = [receive]
        else:
            self.channel_name = await self.channel_layer.new_channel()
            callables = [receive, self._receive_from_layer]
        try:
            await await_many_dispatch(callables, self.dispatch)
        except StopConsumer:
            pass

    async def _receive_from_layer(self) -> dict[str, Any]:
        """The next message of this socket's channel. While the layer fails,
        the socket is closed 1012 (its pushes are being lost: the client
        resyncs once it can reconnect) and this waits for the disconnect."""
        while True:
            try:
                message: dict[str, Any] = await self.channel_layer.receive(self.channel_name)
                return message
            except Exception:  # noqa: BLE001 - redis-py's errors: the channel layer is away
                if not getattr(self, "closing", True):
                    logger.warning("channel layer receive failed; socket closed with 1012", exc_info=True)
                    layer_watch.note_unreachable()
                    self.close_for_layer_loss()
                await asyncio.sleep(LAYER_RETRY_SECONDS)

    async def connect(self) -> None:
        self.queue: asyncio.Queue[tuple[str, int | None] | _Close] = asyncio.Queue()
        self.subscriptions: set[str] = set()
        self.closing = False
        self.last_delivered_seq: int | None = None
        self.background: list[asyncio.Task[None]] = []
        self.last_frame_at = time.monotonic()

        user = self.scope.get("user")
        subprotocol = self.scope.get("subprotocol")
        # Accept before closing: a close code (4401) only reaches the client
        # after the handshake; refusing it would be a bare HTTP 403.
        await self.accept(subprotocol)
        if user is None or not user.is_authenticated:
            self.closing = True  # frames racing the close are ignored
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return

        self.user_id = int(user.pk)
        try:
            # The watch's sentinel first: it must be in the layer before this
            # socket's membership, or a loss in between would go unseen.
            await layer_watch.watching(self.channel_layer, close_for_layer_loss)
            await self.channel_layer.group_add(group_name(self.user_id), self.channel_name)
            # After group_add: once the push side sees the user present, its
            # pushes reach this socket. Before the cursor read: see _catch_up.
            await presence.board.join(self.user_id, self)
        except Exception:  # noqa: BLE001 - redis-py's errors: the channel layer is away
            # No live pushes without the group: say so and let the client retry
            # (it resyncs when it is back) instead of an "Exception in ASGI application".
            logger.warning("channel layer unreachable; closing a new socket with 1013", exc_info=True)
            self.closing = True
            await self.close(code=CLOSE_TRY_AGAIN_LATER)
            return
        self.group = group_name(self.user_id)
        loop = asyncio.get_running_loop()
        self.background.append(loop.create_task(self._write_loop()))
        self.background.append(loop.create_task(self._idle_watchdog()))
        token_exp = self.scope.get("token_exp")
        if token_exp is not None:
            self.background.append(loop.create_task(self._expire_at(float(token_exp))))
        session_exp = self.scope.get("session_exp")
        if session_exp is not None:
            self.background.append(
                loop.create_task(
                    self._expire_at(float(session_exp), "session_expired", "The session expired.")
                )
            )
        shutdown.register(self)

        last_seq = await database_sync_to_async(user_last_seq)(user_id=self.user_id)
        # Per channel, the newest seq this socket was handed live (or the
        # connected cursor): what a catch-up need not send again.
        self.seen = dict.fromkeys(CHANNELS, last_seq)
        self._reply(
            {
                "type": "connected",
                "user_id": self.user_id,
                "last_seq": last_seq,
                "channels": list(CHANNELS),
                "heartbeat_seconds": settings.WS_HEARTBEAT_SECONDS,
                "idle_timeout_seconds": settings.WS_IDLE_TIMEOUT_SECONDS,
            }
        )
        self.schedule_catch_up(delay=presence.PRESENCE_CATCH_UP_SECONDS)

    async def disconnect(self, code: int) -> None:
        shutdown.unregister(self)
        for task in getattr(self, "background", []):
            task.cancel()
        if self.group is not None:
            await presence.board.leave(self.user_id, self)
            try:
                await self.channel_layer.group_discard(self.group, self.channel_name)
            except Exception:  # noqa: BLE001 - the layer away: the membership went with it or expires
                logger.warning("channel layer unreachable; group membership of a closed socket left")

    async def close_for_shutdown(self) -> None:
        self.closing = True
        await self.close(code=CLOSE_GOING_AWAY)

    def close_for_layer_loss(self) -> None:
        """The channel layer lost this socket's group (see layer_watch): the
        client reconnects (joining again) and resyncs what the lost pushes carried."""
        self._terminate(
            CLOSE_SERVICE_RESTART,
            {
                "type": "error",
                **error_body("channel_layer_lost", "Live updates were interrupted; reconnect and resync."),
            },
        )

    # --- frames from the client --------------------------------------------------
    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        self.last_frame_at = time.monotonic()
        if self.closing:
            return
        try:
            await self._handle_frame(text_data, bytes_data)
        except Exception:  # one bad frame must not end the connection's consumer
            logger.exception("sync socket of user %s failed on a frame", self.user_id)
            self._error("internal_error", "The server failed to handle this frame.")

    async def _handle_frame(self, text_data: str | None, bytes_data: bytes | None) -> None:
        if text_data is None:
            self._error("unsupported_frame", "Only text frames carrying JSON are accepted.")
            return
        if len(text_data.encode("utf-8")) > MAX_FRAME_BYTES:
            self._error("frame_too_large", f"Frames are limited to {MAX_FRAME_BYTES} bytes.")
            return
        try:
            frame = json.loads(text_data)
        except (ValueError, RecursionError):  # RecursionError: "[[[[…" nested past the parser's limit
            self._error("invalid_json", "The frame is not valid JSON.")
            return
        if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
            self._error("validation_error", "Invalid input.", {"type": ["A JSON object with a string type."]})
            return
        kind = frame["type"]
        if kind == "ping":
            self._reply({"type": "pong"})
        elif kind in ("subscribe", "unsubscribe"):
            self._subscription(kind, frame)
        elif kind == "resync":
            await self._resync(frame)
        else:
            self._error(
                "unknown_type",
                f"Unknown message type {kind[:50]!r}.",
                {"type": ["One of ping, subscribe, unsubscribe, resync."]},
            )

    def _subscription(self, kind: str, frame: dict[str, Any]) -> None:
        channel = frame.get("channel")
        if channel not in CHANNELS:
            self._error("validation_error", "Invalid input.", {"channel": [f"One of {', '.join(CHANNELS)}."]})
            return
        # The spec's subscribe carries a user_id; the socket's user is the
        # authenticated one, so any other id is refused rather than ignored.
        if "user_id" in frame and str(frame["user_id"]) != str(self.user_id):
            self._error(
                "forbidden", "You can only subscribe to your own events.", {"user_id": ["Not yours."]}
            )
            return
        if kind == "subscribe":
            self.subscriptions.add(channel)
            self._reply({"type": "subscribed", "channel": channel})
        else:
            self.subscriptions.discard(channel)
            self._reply({"type": "unsubscribed", "channel": channel})

    async def _resync(self, frame: dict[str, Any]) -> None:
        since = frame.get("since")
        if isinstance(since, bool) or not isinstance(since, int) or since < 0:
            self._error("validation_error", "Invalid input.", {"since": ["A non-negative integer seq."]})
            return
        page: SyncPage = await database_sync_to_async(sync_since)(
            user_id=self.user_id, since=since, limit=settings.SYNC_RESYNC_BATCH
        )
        if page.resync_required:
            self._reply({"type": "resync.required", "reason": "not_retained", "since": since})
            return
        for message in page.messages:
            self._enqueue(json.dumps(message), message["seq"], reply=True)
        self._reply(
            {
                "type": "resync.complete",
                "since": since,
                "next_since": page.next_since,
                "has_more": page.has_more,
                "last_seq": page.last_seq,
                "count": len(page.messages),
            }
        )

    # --- pushes from the event handler (group message type "sync.push") ---------
    async def sync_push(self, event: dict[str, Any]) -> None:
        message = event["message"]
        channel = CHANNEL_OF_TYPE.get(message.get("type"))
        if self.closing or channel not in self.subscriptions:
            return
        seq = message.get("seq")
        if isinstance(seq, int) and seq > self.seen[channel]:
            self.seen[channel] = seq
        # Encoded once per process, not once per socket: channels-redis hands the
        # same event dict to every channel of this process the push reached.
        text = event.get(_ENCODED)
        if text is None:
            text = event[_ENCODED] = json.dumps(message)
        self._enqueue(text, seq, reply=False)

    # --- the presence race (todo_project/sync/presence.py) -----------------------------
    def schedule_catch_up(self, *, delay: float) -> None:
        if not self.closing:
            self.background.append(asyncio.get_running_loop().create_task(self._catch_up(delay)))

    async def _catch_up(self, delay: float) -> None:
        """Send what a push side may have skipped while it did not yet see
        this socket's user as present: events after ``seen`` on each
        subscribed channel, recorded in the window after the join. A live
        push on a channel moves its ``seen`` on; anything it skipped before
        is then a gap its ``prev_seq`` shows the client, which resyncs."""
        # Scheduled right after the (re)join: only events recorded before the
        # push side's view must hold the member can have been skipped.
        window_end = (
            time.time() + presence.PRESENCE_MAX_STALENESS_SECONDS + presence.PRESENCE_CLOCK_MARGIN_SECONDS
        )
        await asyncio.sleep(delay)
        since = min(self.seen.values())
        if await database_sync_to_async(user_last_seq)(user_id=self.user_id) <= since:
            return  # nothing happened since: the usual case, one cheap read
        sent = 0
        while not self.closing:
            page: SyncPage = await database_sync_to_async(sync_since)(
                user_id=self.user_id, since=since, limit=settings.SYNC_RESYNC_BATCH
            )
            if page.resync_required:
                return  # gone from the outbox: the client's next resync learns it
            past_window = False
            for message in page.messages:
                if datetime.fromisoformat(message["time"]).timestamp() > window_end:
                    past_window = True
                    break
                channel = message["channel"]
                if channel in self.subscriptions and message["seq"] > self.seen[channel]:
                    self.seen[channel] = message["seq"]
                    self._enqueue(json.dumps(message), message["seq"], reply=False)
                    sent += 1
            if past_window or not page.has_more:
                break
            since = page.next_since
        if sent:
            logger.info("sync socket of user %s caught up %d events after joining", self.user_id, sent)

    # --- revocation (group message type "sync.close", see push.close_user_sockets) ---
    async def sync_close(self, event: dict[str, Any]) -> None:
        session = event.get("session")
        if session is not None and session != self.scope.get("session_id"):
            return  # another session of the user ended
        reason = str(event.get("reason") or "revoked")
        self._terminate(
            CLOSE_UNAUTHENTICATED,
            {"type": "error", **error_body(reason, _CLOSE_MESSAGES.get(reason, "Sign in again."))},
        )

    # --- the send queue -------------------------------------------------------------
    def _reply(self, frame: dict[str, Any]) -> None:
        self._enqueue(json.dumps(frame), None, reply=True)

    def _error(self, code: str, message: str, fields: dict[str, list[str]] | None = None) -> None:
        self._reply({"type": "error", **error_body(code, message, fields)})

    def _enqueue(self, text: str, seq: int | None, *, reply: bool) -> None:
        if self.closing:
            return
        limit = settings.WS_SEND_QUEUE_SIZE + (settings.SYNC_RESYNC_BATCH + REPLY_HEADROOM if reply else 0)
        if self.queue.qsize() >= limit:
            # Too far behind to catch up live: tell it where it stopped and let it resync.
            self._terminate(
                CLOSE_TOO_FAR_BEHIND,
                {"type": "resync.required", "reason": "too_far_behind", "since": self.last_delivered_seq},
            )
            return
        self.queue.put_nowait((text, seq))

    def _terminate(self, code: int, final_frame: dict[str, Any] | None = None) -> None:
        """Drop what is still queued, send ``final_frame``, close with ``code``."""
        if self.closing:
            return
        self.closing = True
        while not self.queue.empty():
            self.queue.get_nowait()
        if final_frame is not None:
            self.queue.put_nowait((json.dumps(final_frame), None))
        self.queue.put_nowait(_Close(code))

    async def _write_loop(self) -> None:
        try:
            while True:
                item = await self.queue.get()
                if isinstance(item, _Close):
                    await self.close(code=item.code)
                    return
                text, seq = item
                if seq is not None:
                    # Counted before the send: a frame in flight reaches the
                    # client ahead of any resync.required that follows it.
                    self.last_delivered_seq = seq
                await self.send(text_data=text)
        except (OSError, RuntimeError):
            # The peer went away mid-send; uvicorn delivers the disconnect.
            self.closing = True

    # --- timers -------------------------------------------------------------------------
    async def _idle_watchdog(self) -> None:
        timeout = settings.WS_IDLE_TIMEOUT_SECONDS
        while not self.closing:
            remaining = self.last_frame_at + timeout - time.monotonic()
            if remaining <= 0:
                self._terminate(
                    CLOSE_IDLE,
                    {"type": "error", **error_body("idle_timeout", f"No frame for {timeout} seconds.")},
                )
                return
            await asyncio.sleep(remaining)

    async def _expire_at(
        self, exp: float, code: str = "token_expired", message: str = "The access token expired; reconnect."
    ) -> None:
        await asyncio.sleep(max(0.0, exp - time.time()))
        self._terminate(CLOSE_UNAUTHENTICATED, {"type": "error", **error_body(code, message)})


async def close_for_layer_loss(channels: set[str] | None = None) -> int:
    """Close every socket of this process (or those of ``channels``) after the
    channel layer lost pushes for them; returns how many."""
    connections = [
        c
        for c in shutdown.live()
        if isinstance(c, TaskSyncConsumer) and (channels is None or c.channel_name in channels)
    ]
    for connection in connections:
        connection.close_for_layer_loss()
    return len(connections)
