"""The one helper that pushes a message to a user's WebSocket connections."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
from collections.abc import Coroutine
from typing import Any

from channels.layers import get_channel_layer
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder

from todo_project.sync import presence
from todo_project.sync.messages import SyncMessage, group_name

logger = logging.getLogger(__name__)

# The consumer method that receives a push (``sync.push`` → ``sync_push``).
PUSH_HANDLER_TYPE = "sync.push"
PUSH_TIMEOUT_SECONDS = 5.0
# A batch gets this much longer per message (one group_send is ~0.2 ms), so
# 500 messages wait at most 10 s on a stuck Redis.
PUSH_TIMEOUT_PER_MESSAGE = 0.01


class _PushLoop:
    """One event loop per process, on a daemon thread, for channel-layer calls.

    ``async_to_sync`` from a worker thread builds a fresh event loop per call,
    and channels-redis keeps its connection pools per loop, so every push paid
    for a new Redis connection (10 ms idle, 30 ms under load in
    benchmarks/websocket). A long-lived loop keeps the pool warm. The pid
    check restarts it in a forked child (Celery's prefork pool), where the
    parent's thread does not exist.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._pid = 0

    def _ensure(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            alive = self._thread is not None and self._thread.is_alive()
            if self._loop is None or self._pid != os.getpid() or not alive:
                self._loop = asyncio.new_event_loop()
                self._thread = threading.Thread(target=self._loop.run_forever, name="sync-push", daemon=True)
                self._thread.start()
                self._pid = os.getpid()
            return self._loop

    def loop(self) -> asyncio.AbstractEventLoop:
        return self._ensure()

    def run(self, coroutine: Coroutine[Any, Any, Any], timeout: float) -> Any:
        future = asyncio.run_coroutine_threadsafe(coroutine, self._ensure())
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise


_push_loop = _PushLoop()


def present_users(user_ids: set[int]) -> set[int]:
    """Those of ``user_ids`` that may have an open socket, with no I/O: the
    push loop's presence view (``todo_project.sync.presence``). Every one of
    them while the view is not current, so nothing is skipped on a guess."""
    if not settings.SYNC_PRESENCE:
        return set(user_ids)
    presence.view.ensure_following(_push_loop.loop())
    return {user_id for user_id in user_ids if presence.view.maybe_present(user_id)}


def push_to_user(*, user_id: int, message: SyncMessage) -> None:
    """Send ``message`` to every connection of the user (see ``push_to_users``)."""
    push_to_users([(user_id, message)])


def push_to_users(messages: list[tuple[int, SyncMessage]]) -> None:
    """Send each (user id, message) to every connection of that user, on every
    ASGI process, in one trip to the push loop; each user's messages are sent
    one after the other in the given order, so they arrive in sequence.

    Payloads are round-tripped through JSON here (style rule 4), so a value
    that cannot be serialised fails at the call site, not inside a consumer.
    channels-redis' group_send never waits for a slow connection: a channel
    whose buffer is full drops the message, and that client resyncs by seq.
    A user with no open socket anywhere is skipped without a Redis round
    trip (``present_users``); a socket that opened just then catches up.
    """
    present = present_users({user_id for user_id, _ in messages})
    messages = [(user_id, message) for user_id, message in messages if user_id in present]
    if not messages:
        return
    payloads = [
        (user_id, json.loads(json.dumps(message, cls=DjangoJSONEncoder))) for user_id, message in messages
    ]
    layer = get_channel_layer()
    if layer is None:
        logger.warning("no channel layer configured; %d pushes dropped", len(payloads))
        return

    per_user: dict[int, list[dict[str, Any]]] = {}
    for user_id, payload in payloads:
        per_user.setdefault(user_id, []).append(payload)

    async def send_in_order(user_id: int, queue: list[dict[str, Any]]) -> None:
        for payload in queue:
            await layer.group_send(group_name(user_id), {"type": PUSH_HANDLER_TYPE, "message": payload})

    async def send_all() -> list[BaseException | None]:
        # Users' queues overlap their Redis round trips; each user's own
        # messages still go one after the other. One user's failure does not
        # stop the others', and nothing is left running when this returns.
        return await asyncio.gather(
            *(send_in_order(user_id, queue) for user_id, queue in per_user.items()), return_exceptions=True
        )

    # Redis down or slow: pushes are lost, not retried. Retrying the dispatch
    # would rerun every other handler for nothing; clients recover by resync.
    try:
        outcomes = _push_loop.run(send_all(), PUSH_TIMEOUT_SECONDS + PUSH_TIMEOUT_PER_MESSAGE * len(payloads))
    except Exception:  # noqa: BLE001 - at-most-once by design
        logger.warning("push of %d messages to %d users failed", len(payloads), len(per_user), exc_info=True)
        return
    for user_id, outcome in zip(per_user, outcomes, strict=True):
        if isinstance(outcome, BaseException):
            logger.warning("push to user %s failed", user_id, exc_info=outcome)


# The consumer method that closes a connection (``sync.close`` → ``sync_close``).
CLOSE_HANDLER_TYPE = "sync.close"


def close_user_sockets(*, user_id: int, reason: str, session: str | None = None) -> None:
    """Close (4401) every connection of the user on every ASGI process.

    ``session``: only the connections authenticated by that cookie session
    (its fingerprint, ``accounts.services.session_fingerprint``). The close
    goes through the user's group on the real channel layer, like pushes; a
    failed send is logged (the connection then ends at its token's expiry).
    """
    layer = get_channel_layer()
    if layer is None:
        logger.warning("no channel layer configured; sockets of user %s not closed", user_id)
        return
    message = {"type": CLOSE_HANDLER_TYPE, "reason": reason, "session": session}
    try:
        _push_loop.run(layer.group_send(group_name(user_id), message), PUSH_TIMEOUT_SECONDS)
    except Exception:  # noqa: BLE001 - the request that caused it has committed
        logger.warning("closing the sockets of user %s failed", user_id, exc_info=True)
