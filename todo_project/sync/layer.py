"""The channel layer: channels-redis's, recording what it drops for the receiving process to see.

channels-redis never waits for a slow receiver: ``group_send`` skips a
channel whose Redis key already holds ``capacity`` messages, and drops the
messages that waited there longer than ``expiry`` seconds. Every socket of
one ``ws`` process shares one such key, so a process that stops reading
for a while (paused, swapped, its loop saturated) loses pushes silently,
and if no later push follows, its clients never see a gap (found by
``faults/test_sockets.py``, "offline past the channel layer's capacity").

This layer notes each drop in a Redis set next to the receiving key
(``<key>:dropped``): the names of the channels that missed a message, or
``*`` when expired messages were removed unread (whose channels are no
longer known). The ``ws`` process's layer watch takes the set at each probe
and closes those sockets with 1012; their clients reconnect and resync
(``todo_project/sync/layer_watch.py``). Otherwise ``group_send`` does what
channels-redis's (4.3) does, in two Redis round trips instead of four, and a
process takes its messages in batches (``receive_single``).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from typing import Any

from channels_redis.core import RedisChannelLayer  # type: ignore[import-untyped]

logger = logging.getLogger(__name__)

ALL_CHANNELS = "*"

# channels-redis's two steps per receiving key in one script (its pipeline of
# expiry removals, then its capacity script), returning which keys were full
# and which had expired messages removed (1-based indexes). ARGV: the
# messages, the capacities, the time, the expiry.
_GROUP_SEND_LUA = """
local full, expired = {}, {}
local current_time = ARGV[#ARGV - 1]
local expiry = tonumber(ARGV[#ARGV])
local oldest_kept = math.floor(tonumber(current_time)) - expiry
for i=1,#KEYS do
    if redis.call('ZREMRANGEBYSCORE', KEYS[i], 0, oldest_kept) > 0 then
        expired[#expired + 1] = i
    end
    if redis.call('ZCOUNT', KEYS[i], '-inf', '+inf') < tonumber(ARGV[i + #KEYS]) then
        redis.call('ZADD', KEYS[i], current_time, ARGV[i])
        redis.call('EXPIRE', KEYS[i], expiry)
    else
        full[#full + 1] = i
    end
end
return {full, expired}
"""

# Takes the drop record atomically (a drop recorded meanwhile stays for the next probe).
_TAKE_LUA = """
local members = redis.call('SMEMBERS', KEYS[1])
redis.call('DEL', KEYS[1])
return members
"""


# Messages one receive takes from the process's Redis key in one round trip.
RECEIVE_BATCH = 100


class RecordingChannelLayer(RedisChannelLayer):  # type: ignore[misc]
    """channels-redis's layer; ``group_send`` records the channels it could not
    reach, and a process's receive takes its messages from Redis in batches."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Per process key: messages popped from Redis, not handed out yet, and
        # the pop in flight (never cancelled: what it pops always lands here).
        self._popped: dict[str, collections.deque[tuple[Any, dict[str, Any]]]] = {}
        self._popping: dict[str, asyncio.Task[None]] = {}
        self.received_total = 0  # messages taken from Redis by this process

    async def receive_single(self, channel: str) -> tuple[Any, dict[str, Any]]:
        """One message of the process's key (``specific.<process>!``).

        channels-redis pops one message per call, with four Redis round trips
        (a restore script, BZPOPMIN, a backup ZADD and its cleanup), one call at
        a time per process: about 200 messages/s per process on the loaded
        2-core machine, where 2,000 sockets at 200 updates/s need 200 per
        process and the backlog grew for the whole run (benchmarks/websocket).
        Here one round trip takes up to ``RECEIVE_BATCH`` messages, and the
        pop runs as a task of its own that a cancelled receive does not
        cancel, so a popped message is never lost with it (what channels-redis's
        backup queue was for)."""
        if "!" not in channel:
            return await super().receive_single(channel)  # type: ignore[no-any-return]
        assert self.require_valid_channel_name(channel, receive=True), "Channel name invalid"
        key = self.prefix + channel
        popped = self._popped.setdefault(key, collections.deque())
        while not popped:
            task = self._popping.get(key)
            if task is None or task.done():
                task = self._popping[key] = asyncio.ensure_future(self._pop(channel, key, popped))
            await asyncio.shield(task)
        return popped.popleft()

    async def _pop(self, channel: str, key: str, into: collections.deque[tuple[Any, dict[str, Any]]]) -> None:
        connection = self.connection(self.consistent_hash(channel))
        members = await connection.zpopmin(key, RECEIVE_BATCH)
        if not members:
            first = await connection.bzpopmin(key, timeout=self.brpop_timeout)
            if first is None:
                return
            members = [(first[1], first[2])]
            members += await connection.zpopmin(key, RECEIVE_BATCH - 1)
        for member, _ in members:
            message = self.deserialize(member)
            target: Any = channel
            if "__asgi_channel__" in message:
                target = message.pop("__asgi_channel__")
            into.append((target, message))
        self.received_total += len(members)

    def dropped_key(self, channel: str) -> str:
        """The drop record of the Redis key ``channel`` is received through."""
        return f"{self.prefix}{self.non_local_name(channel)}:dropped"

    async def take_dropped(self, channel: str) -> set[str]:
        """The channels of ``channel``'s process that missed a message since the
        last call (``ALL_CHANNELS`` among them: any of them may have)."""
        connection = self.connection(self.consistent_hash(self.non_local_name(channel)))
        members = await connection.eval(_TAKE_LUA, 1, self.dropped_key(channel))
        return {m.decode() if isinstance(m, bytes) else str(m) for m in members}

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        """channels-redis's group_send in two round trips instead of four (the
        membership read in one pipeline, each shard's sends in one script),
        recording what it could not deliver."""
        assert self.require_valid_group_name(group), "Group name not valid"
        key = self._group_key(group)
        connection = self.connection(self.consistent_hash(group))
        pipe = connection.pipeline(transaction=False)
        pipe.zremrangebyscore(key, min=0, max=int(time.time()) - self.group_expiry)
        pipe.zrange(key, 0, -1)
        _, members = await pipe.execute()
        channel_names = [x.decode("utf8") for x in members]
        to_keys, key_to_message, key_to_capacity = self._map_channel_keys_to_connection(
            channel_names, message
        )
        channels_of_key: dict[str, list[str]] = {}
        for channel in channel_names:
            channels_of_key.setdefault(self.prefix + self.non_local_name(channel), []).append(channel)

        for index, channel_keys in to_keys.items():
            connection = self.connection(index)
            args = [key_to_message[k] for k in channel_keys]
            args += [key_to_capacity[k] for k in channel_keys]
            args += [time.time(), self.expiry]
            full, expired = await connection.eval(_GROUP_SEND_LUA, len(channel_keys), *channel_keys, *args)

            dropped: dict[str, list[str]] = {}
            for position in expired:
                dropped.setdefault(channel_keys[int(position) - 1], []).append(ALL_CHANNELS)
            for position in full:
                channel_key = channel_keys[int(position) - 1]
                dropped.setdefault(channel_key, []).extend(channels_of_key.get(channel_key, [ALL_CHANNELS]))
            if dropped:
                logger.warning(
                    "channel layer dropped messages of group %s for %d receiving process(es) "
                    "(over capacity or expired); their sockets will be told to resync",
                    group,
                    len(dropped),
                )
                record = connection.pipeline(transaction=False)
                for channel_key, names in dropped.items():
                    record.sadd(f"{channel_key}:dropped", *names)
                    # Kept while the receiving process might still come back for it.
                    record.expire(f"{channel_key}:dropped", self.group_expiry)
                await record.execute()
