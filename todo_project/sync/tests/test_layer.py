"""The channel layer records the pushes it drops, for the receiving process to tell its sockets.

channels-redis skips a channel whose Redis key is full and removes messages
that expired unread, silently: a socket of a paused or slow process missed
pushes and, with no later push, never saw a gap (faults/test_sockets.py).
"""

from __future__ import annotations

import asyncio
import time
import uuid

from django.conf import settings

from todo_project.sync.layer import ALL_CHANNELS, RecordingChannelLayer
from todo_project.sync.layer_watch import LayerWatch


def _layer(**config) -> RecordingChannelLayer:
    # A prefix of its own: nothing else in the test Redis DB is touched.
    return RecordingChannelLayer(hosts=[str(settings.REDIS_URL)], prefix=f"t{uuid.uuid4().hex[:8]}", **config)


def test_a_group_send_past_a_full_channel_records_that_channel():
    async def run() -> tuple[set[str], set[str], str, str]:
        layer = _layer(capacity=2)
        reading, idle = await layer.new_channel(), await layer.new_channel()
        await layer.group_add("user.1", idle)
        for n in range(3):  # nobody reads: the third does not fit
            await layer.group_send("user.1", {"type": "sync.push", "n": n})
        first = await layer.take_dropped(reading)  # same process: same key, same record
        second = await layer.take_dropped(reading)
        await layer.flush()
        return first, second, idle, reading

    first, second, idle, _ = asyncio.run(run())
    assert first == {idle}
    assert second == set(), "taking the record empties it"


def test_a_group_send_that_removes_expired_messages_records_every_channel():
    async def run() -> set[str]:
        layer = _layer(capacity=100, expiry=30)
        channel = await layer.new_channel()
        await layer.group_add("user.2", channel)
        await layer.group_send("user.2", {"type": "sync.push", "n": 1})
        # That message waited unread past the expiry (a paused process).
        key = f"{layer.prefix}{layer.non_local_name(channel)}"
        connection = layer.connection(0)
        members = await connection.zrange(key, 0, -1)
        await connection.zadd(key, {members[0]: time.time() - 120})
        await layer.group_send("user.2", {"type": "sync.push", "n": 2})
        dropped = await layer.take_dropped(channel)
        await layer.flush()
        return dropped

    assert asyncio.run(run()) == {ALL_CHANNELS}


def test_a_send_within_capacity_records_nothing():
    async def run() -> set[str]:
        layer = _layer(capacity=10)
        channel = await layer.new_channel()
        await layer.group_add("user.3", channel)
        await layer.group_send("user.3", {"type": "sync.push"})
        received = await layer.receive(channel)
        assert received["type"] == "sync.push"
        dropped = await layer.take_dropped(channel)
        await layer.flush()
        return dropped

    assert asyncio.run(run()) == set()


def test_the_watch_closes_the_sockets_that_missed_a_push_and_only_those():
    closed: list[object] = []

    async def close(channels) -> int:
        closed.append(None if channels is None else sorted(channels))
        return 1

    async def run() -> str:
        ws_process = _layer(capacity=100)
        # The worker's layer: the same Redis and prefix, a small capacity.
        worker = RecordingChannelLayer(hosts=[str(settings.REDIS_URL)], prefix=ws_process.prefix, capacity=1)
        slow = await ws_process.new_channel()  # a socket of the ws process, not read meanwhile
        await worker.group_add("user.4", slow)
        await worker.group_send("user.4", {"type": "sync.push", "n": 1})
        await worker.group_send("user.4", {"type": "sync.push", "n": 2})  # the key is full
        watch = LayerWatch(ws_process, close, interval=0.01, probe_timeout=5)
        await watch.join()
        assert await watch.check()
        assert await watch.check()  # nothing new: nothing more closed
        await ws_process.flush()
        return slow

    slow = asyncio.run(run())
    assert closed == [[slow]]


def test_a_group_send_reaches_every_member_on_every_process():
    async def run() -> list[dict]:
        one = _layer()
        two = RecordingChannelLayer(hosts=[str(settings.REDIS_URL)], prefix=one.prefix)
        worker = RecordingChannelLayer(hosts=[str(settings.REDIS_URL)], prefix=one.prefix)
        channels = [await one.new_channel(), await one.new_channel(), await two.new_channel()]
        for channel in channels:
            await worker.group_add("user.5", channel)
        await worker.group_send("user.5", {"type": "sync.push", "n": 1})
        received = [
            await one.receive(channels[0]),
            await one.receive(channels[1]),
            await two.receive(channels[2]),
        ]
        assert await one.take_dropped(channels[0]) == set()
        await one.flush()
        return received

    assert asyncio.run(run()) == [{"type": "sync.push", "n": 1}] * 3


def test_a_process_takes_its_messages_in_batches_and_in_order():
    async def run() -> tuple[list[int], int]:
        ws_process = _layer(capacity=1000)
        worker = RecordingChannelLayer(
            hosts=[str(settings.REDIS_URL)], prefix=ws_process.prefix, capacity=1000
        )
        a, b = await ws_process.new_channel(), await ws_process.new_channel()
        await worker.group_add("user.6", a)
        await worker.group_add("user.7", b)
        for n in range(250):
            await worker.group_send("user.6" if n % 2 else "user.7", {"type": "sync.push", "n": n})
        got = [(await ws_process.receive(b))["n"] for _ in range(125)]
        got += [(await ws_process.receive(a))["n"] for _ in range(125)]
        await ws_process.flush()
        return got, ws_process.received_total

    got, total = asyncio.run(run())
    assert got == list(range(0, 250, 2)) + list(range(1, 250, 2))
    assert total == 250


def test_a_receive_cancelled_mid_pop_loses_no_message():
    async def run() -> dict:
        ws_process = _layer()
        worker = RecordingChannelLayer(hosts=[str(settings.REDIS_URL)], prefix=ws_process.prefix)
        channel = await ws_process.new_channel()
        await worker.group_add("user.8", channel)
        waiting = asyncio.ensure_future(ws_process.receive(channel))
        await asyncio.sleep(0.2)  # blocked in its pop
        waiting.cancel()  # a socket disconnecting
        await worker.group_send("user.8", {"type": "sync.push", "n": 1})
        message = await asyncio.wait_for(ws_process.receive(channel), 10)
        await ws_process.flush()
        return message

    assert asyncio.run(run()) == {"type": "sync.push", "n": 1}
