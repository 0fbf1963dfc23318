"""The ws process noticing a channel layer that lost its sockets (regression: faults/test_sockets.py).

Redis restarted empty left every socket open and receiving nothing; Redis
going away mid-receive left channels-redis delivering nothing to some
channels of the process for good.
"""

from __future__ import annotations

import asyncio
import json
import time

import pytest
import redis
from channels.layers import InMemoryChannelLayer
from django.conf import settings

from todo_project.sync.layer_watch import STUCK_AFTER_PROBES, LayerWatch
from todo_project.sync.tests.conftest import close_code, recv_until, subscribed, ws_connect


def _watch(layer, closed: list[int], stopped: list[int]) -> LayerWatch:
    async def close_all() -> int:
        closed.append(1)
        return 1

    watch = LayerWatch(layer, close_all, interval=0.01, probe_timeout=0.2)
    watch.stop_process = lambda: stopped.append(1)
    return watch


def test_a_layer_that_delivers_its_probes_closes_nothing():
    closed: list[int] = []
    stopped: list[int] = []

    async def run() -> list[bool]:
        watch = _watch(InMemoryChannelLayer(), closed, stopped)
        return [await watch.check() for _ in range(3)]

    assert asyncio.run(run()) == [True, True, True]
    assert (closed, stopped) == ([], [])


def test_groups_lost_with_the_layer_close_every_socket_once_it_delivers_again():
    closed: list[int] = []
    stopped: list[int] = []

    async def run() -> list[bool]:
        layer = InMemoryChannelLayer()
        watch = _watch(layer, closed, stopped)
        results = [await watch.check()]
        layer.groups.clear()  # what a Redis restart does to the groups
        results += [await watch.check(), await watch.check(), await watch.check()]
        return results

    assert asyncio.run(run()) == [True, False, True, True]
    assert closed == [1], "the sockets are closed once, when the layer is back"
    assert stopped == []


class _Deaf(InMemoryChannelLayer):
    """Accepts sends, never delivers: channels-redis after Redis went away mid-receive."""

    async def receive(self, channel):
        await asyncio.Event().wait()


def test_a_layer_that_accepts_probes_but_never_delivers_them_stops_the_process():
    closed: list[int] = []
    stopped: list[int] = []

    async def run() -> None:
        watch = _watch(_Deaf(), closed, stopped)
        for _ in range(STUCK_AFTER_PROBES + 1):
            assert await watch.check() is False

    asyncio.run(run())
    assert stopped, "a process that no longer receives pushes must stop"
    assert closed == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_sockets_whose_groups_vanished_are_closed_1012_and_receive_again_after_reconnecting(
    own_server, alice, changes
):
    client = redis.Redis.from_url(str(settings.REDIS_URL))
    watches_before = set(client.keys("asgi:group:ws-layer-watch.*"))
    server = own_server(WS_LAYER_CHECK_SECONDS="0.5", CELERY_TASK_ALWAYS_EAGER="true")
    ws = subscribed(server, alice)
    # The server's watch has joined its sentinel group (it probes from its first socket on).
    deadline = time.monotonic() + 15
    while not set(client.keys("asgi:group:ws-layer-watch.*")) - watches_before:
        assert time.monotonic() < deadline, "the server's layer watch never joined its group"
        time.sleep(0.1)
    # Redis restarted empty, as far as groups go (the rest of the test DB stays).
    client.delete(*client.keys("asgi:group:*"))

    assert close_code(ws, timeout=20) == 1012, server.log()

    again = ws_connect(server, alice)
    assert recv_until(again, "connected")["type"] == "connected"
    again.send(json.dumps({"type": "subscribe", "channel": "tasks"}))
    recv_until(again, "subscribed")
    changes.create(alice, "after the restart")
    assert recv_until(again, "task.created")["data"]["task"]["title"] == "after the restart"
    again.close()
