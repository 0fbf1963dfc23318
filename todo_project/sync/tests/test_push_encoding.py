"""A push reaching many sockets of one process is encoded to JSON once, not once per socket.

channels-redis hands one event dict to every channel of the process the
group send reached (benchmarks/websocket: 2,000 sockets at 200 updates/s).
"""

from __future__ import annotations

import asyncio
import json

from todo_project.sync import consumers
from todo_project.sync.consumers import TaskSyncConsumer
from todo_project.sync.messages import CHANNELS


def _socket() -> TaskSyncConsumer:
    socket = TaskSyncConsumer()
    socket.queue = asyncio.Queue()
    socket.closing = False
    socket.subscriptions = {"tasks"}
    socket.seen = dict.fromkeys(CHANNELS, 0)
    return socket


def test_one_event_for_many_sockets_is_encoded_once(monkeypatch):
    calls: list[object] = []
    real_dumps = json.dumps

    def counting_dumps(value, *args, **kwargs):
        calls.append(value)
        return real_dumps(value, *args, **kwargs)

    monkeypatch.setattr(consumers.json, "dumps", counting_dumps)
    message = {"type": "task.updated", "channel": "tasks", "id": "e1", "seq": 7, "prev_seq": 6, "data": {}}
    event = {"type": "sync.push", "message": message}

    async def run() -> list[str]:
        sockets = [_socket() for _ in range(5)]
        for socket in sockets:
            await socket.sync_push(event)
        texts = []
        for socket in sockets:
            item = socket.queue.get_nowait()
            assert isinstance(item, tuple)
            texts.append(item[0])
        return texts

    texts = asyncio.run(run())
    assert len(calls) == 1
    assert set(texts) == {real_dumps(message)}
