"""Which users have an open socket, so that a push to nobody costs no Redis round trip.

Two halves share one Redis sorted set and one pub/sub channel:

- **The ws processes write it** (``PresenceBoard``). The first socket of a
  user on a process adds the member ``<user id>:<process>`` with an expiry
  score (Redis' own clock) and publishes it; the last one to close removes
  it; a heartbeat keeps the scores ahead of their expiry, so a crashed
  process's members age out after ``PRESENCE_TTL_SECONDS``.
- **The push side reads it** (``PresenceView``, on the push loop of
  ``todo_project.sync.push``). It loads the set once, follows the pub/sub
  channel for joins, reloads now and then to drop members that left, and
  pings its pub/sub connection: a pong means every join published before
  the ping has been applied, so the view is known to be complete as of the
  ping's send time. A push for a user the view does not hold is skipped
  without touching Redis. When the view is older than
  ``PRESENCE_MAX_STALENESS_SECONDS`` (Redis unreachable, the follower not
  started yet) it answers "maybe present" and the push goes out as before.

The race this leaves: a socket that joins after the view's last pong may
miss a push decided in that window. The window ends at most
``PRESENCE_MAX_STALENESS_SECONDS`` after the join, and the event behind
such a push was committed before it; so each new socket looks once, at
``PRESENCE_CATCH_UP_SECONDS`` after its join, for events after its
``connected`` cursor, recorded in that window, that it did not receive, and
sends them (the consumer's ``_catch_up``). Clients drop duplicates by seq, so a copy too many is
harmless. A member that lapsed while its socket was open (a stalled
heartbeat) is found by the next heartbeat, re-published and caught up the
same way.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import socket
import time
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any

from django.conf import settings
from redis import asyncio as aioredis

logger = logging.getLogger(__name__)

PRESENCE_KEY = "taskbeat:presence"
PRESENCE_CHANNEL = "taskbeat:presence:joined"
# A member's life without a heartbeat; the heartbeat renews it well before.
PRESENCE_TTL_SECONDS = 60
PRESENCE_HEARTBEAT_SECONDS = 15
# The push side trusts its view for this long after a confirmed ping ...
PRESENCE_MAX_STALENESS_SECONDS = 1.0
PRESENCE_PING_SECONDS = 0.2
# ... reloads it this often to forget members that left or expired ...
PRESENCE_RELOAD_SECONDS = 10.0
# ... and stops following when no push asked for this long (a web process
# that pushed once does not keep a pub/sub connection for nothing).
PRESENCE_IDLE_STOP_SECONDS = 120.0
# A new socket's one look for pushes it may have missed. Only events
# committed before the join plus the view's staleness (and a margin for the
# clocks of two hosts) can have been skipped; every later one is pushed. The
# look waits well past that window, so the live pushes of the window's events
# have arrived and are not sent a second time.
PRESENCE_CLOCK_MARGIN_SECONDS = 1.0
PRESENCE_CATCH_UP_SECONDS = 3.0
# Lua's unpack has a stack limit; heartbeats send members in slices of this.
_HEARTBEAT_SLICE = 500

# ARGV: ttl seconds, channel, members… Renews each member (ZADD GT never
# shortens another process's newer score) and publishes the ones that were
# missing, which it returns: for a join that is the member itself, for a
# heartbeat the members that lapsed.
_ADD_LUA = """
local now = tonumber(redis.call('TIME')[1])
if ARGV[3] == nil then return {} end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. now)
local expiry = now + tonumber(ARGV[1])
local added = {}
for i = 3, #ARGV do
  if redis.call('ZADD', KEYS[1], 'GT', expiry, ARGV[i]) == 1 then
    redis.call('PUBLISH', ARGV[2], ARGV[i])
    added[#added + 1] = ARGV[i]
  end
end
return added
"""
_LOAD_LUA = """
local now = tonumber(redis.call('TIME')[1])
return redis.call('ZRANGEBYSCORE', KEYS[1], now, '+inf')
"""


def _user_of(member: bytes | str) -> int | None:
    text = member.decode() if isinstance(member, bytes) else member
    head = text.split(":", 1)[0]
    return int(head) if head.isdigit() else None


def _client() -> aioredis.Redis:
    return aioredis.Redis.from_url(str(settings.REDIS_URL), socket_timeout=5, socket_connect_timeout=5)


# --- the ws side ----------------------------------------------------------------------


class PresenceBoard:
    """This ws process's users with open sockets, kept in Redis.

    Writes go one at a time under a lock, so a user's leave and next join on
    this process reach Redis in the order they happened (a late ZREM must not
    undo a newer join).
    """

    def __init__(self) -> None:
        self.process = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._sockets: dict[int, set[Any]] = {}
        self._lock: asyncio.Lock | None = None
        self._redis: aioredis.Redis | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._heartbeat: asyncio.Task[None] | None = None
        self._add: Any = None

    @staticmethod
    def _args() -> list[str | int]:
        return [PRESENCE_TTL_SECONDS, PRESENCE_CHANNEL]

    def member(self, user_id: int) -> str:
        return f"{user_id}:{self.process}"

    def _bind(self) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a new loop (tests) needs its own client and lock
            self._loop = loop
            self._lock = asyncio.Lock()
            self._redis = _client()
            self._add = self._redis.register_script(_ADD_LUA)
            self._heartbeat = loop.create_task(self._beat())

    async def join(self, user_id: int, sock: Any) -> None:
        """Count ``sock`` as open for the user; returns once Redis holds it."""
        self._bind()
        assert self._lock is not None
        async with self._lock:
            present = self._sockets.get(user_id)
            if present:
                present.add(sock)
                return
            await self._add(
                keys=[PRESENCE_KEY], args=[PRESENCE_TTL_SECONDS, PRESENCE_CHANNEL, self.member(user_id)]
            )
            self._sockets[user_id] = {sock}

    async def leave(self, user_id: int, sock: Any) -> None:
        present = self._sockets.get(user_id)
        if present is None or sock not in present:
            return
        assert self._lock is not None
        assert self._redis is not None
        async with self._lock:
            present.discard(sock)
            if present:
                return
            del self._sockets[user_id]
            try:
                await self._redis.zrem(PRESENCE_KEY, self.member(user_id))
            except Exception:  # noqa: BLE001 - the member then expires after the TTL
                logger.warning("presence of user %s not removed", user_id, exc_info=True)

    async def beat(self) -> list[int]:
        """Renew every member of this process; the users whose member had
        lapsed (their sockets are told to catch up)."""
        assert self._lock is not None
        lapsed: list[int] = []
        async with self._lock:
            users = list(self._sockets)
            for start in range(0, len(users), _HEARTBEAT_SLICE):
                members = [self.member(user) for user in users[start : start + _HEARTBEAT_SLICE]]
                added = await self._add(
                    keys=[PRESENCE_KEY], args=[PRESENCE_TTL_SECONDS, PRESENCE_CHANNEL, *members]
                )
                lapsed.extend(user for user in map(_user_of, added) if user is not None)
        for user in lapsed:
            for sock in list(self._sockets.get(user, ())):
                sock.schedule_catch_up(delay=PRESENCE_CATCH_UP_SECONDS)
        return lapsed

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(PRESENCE_HEARTBEAT_SECONDS)
            try:
                lapsed = await self.beat()
            except Exception:  # noqa: BLE001 - retried at the next beat, well inside the TTL
                logger.warning("presence heartbeat failed", exc_info=True)
                continue
            if lapsed:
                logger.warning("presence of %d users had lapsed; their sockets catch up", len(lapsed))


board = PresenceBoard()


# --- the push side ----------------------------------------------------------------------


class PresenceView:
    """The push side's copy of the set of users with an open socket anywhere.

    ``maybe_present`` is called from any thread and never does I/O; the
    follower task runs on the push loop.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._users: frozenset[int] = frozenset()
        # The send time of the newest ping whose pong came back after the view
        # had applied everything before it; -inf: never.
        self._complete_as_of = float("-inf")
        self._last_asked = clock()
        self._task: concurrent.futures.Future[None] | None = None

    def maybe_present(self, user_id: int) -> bool:
        self._last_asked = self._clock()
        if self._clock() - self._complete_as_of > PRESENCE_MAX_STALENESS_SECONDS:
            return True
        return user_id in self._users

    def is_current(self) -> bool:
        return self._clock() - self._complete_as_of <= PRESENCE_MAX_STALENESS_SECONDS

    def ensure_following(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start the follower on ``loop`` unless it runs (called per push; cheap)."""
        task = self._task
        if task is None or task.done():
            self._last_asked = self._clock()
            self._task = asyncio.run_coroutine_threadsafe(self._follow_while_used(), loop)

    async def _follow_while_used(self) -> None:
        while self._clock() - self._last_asked < PRESENCE_IDLE_STOP_SECONDS:
            try:
                await self._follow()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - pushes go out unfiltered meanwhile
                logger.warning("presence follower lost Redis; retrying", exc_info=True)
                self._complete_as_of = float("-inf")
                await asyncio.sleep(1.0)
        self._complete_as_of = float("-inf")

    async def _follow(self) -> None:
        redis = _client()
        pubsub = redis.pubsub()
        load = redis.register_script(_LOAD_LUA)
        try:
            # Subscribe first, then load: a join is either in the loaded set
            # or published after the subscription (the script adds and
            # publishes atomically), so none falls between.
            await pubsub.subscribe(PRESENCE_CHANNEL)
            users = {_user_of(m) for m in await load(keys=[PRESENCE_KEY])}
            self._users = frozenset(u for u in users if u is not None)
            reloaded_at = self._clock()
            pings: deque[tuple[str, float]] = deque()
            counter = 0
            next_ping = self._clock()
            while self._clock() - self._last_asked < PRESENCE_IDLE_STOP_SECONDS:
                now = self._clock()
                if now - reloaded_at >= PRESENCE_RELOAD_SECONDS:
                    # Joins published while this runs stay queued on the
                    # pub/sub connection and are applied after it.
                    users = {_user_of(m) for m in await load(keys=[PRESENCE_KEY])}
                    self._users = frozenset(u for u in users if u is not None)
                    reloaded_at = self._clock()
                if now >= next_ping:
                    counter += 1
                    token = f"p{counter}"
                    pings.append((token, self._clock()))
                    await pubsub.ping(token)
                    next_ping = now + PRESENCE_PING_SECONDS
                message = await pubsub.get_message(
                    ignore_subscribe_messages=True, timeout=max(0.0, next_ping - self._clock())
                )
                if message is None:
                    continue
                if message["type"] == "message":
                    user = _user_of(message["data"])
                    if user is not None and user not in self._users:
                        self._users = self._users | {user}
                elif message["type"] == "pong":
                    token = (
                        message["data"].decode() if isinstance(message["data"], bytes) else message["data"]
                    )
                    while pings:
                        sent_token, sent_at = pings.popleft()
                        if sent_token == token:
                            self._complete_as_of = sent_at
                            break
                if pings and self._clock() - pings[0][1] > PRESENCE_MAX_STALENESS_SECONDS * 5:
                    raise ConnectionError("presence pings unanswered")
        finally:
            self._complete_as_of = float("-inf")
            try:
                await pubsub.aclose()
                await redis.aclose()
            except Exception:  # noqa: BLE001 - closing a broken connection
                logger.debug("presence follower close failed", exc_info=True)


view = PresenceView()
