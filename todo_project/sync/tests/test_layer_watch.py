"""The ws process noticing a channel layer that lost its sockets (regression: faults/test_sockets.py).

Redis restarted empty left every socket open and receiving nothing; Redis
going away mid-receive left channels-redis delivering nothing to some
channels of the process for good; a restart before the watch's first probe
went unseen (its sentinel joined after the sockets); a socket whose receive
from the layer failed died with "Exception in ASGI application".
"""

from __future__ import annotations

import asyncio
import json

import channels.consumer
import pytest
import redis
from asgiref.testing import ApplicationCommunicator
from channels.layers import InMemoryChannelLayer
from django.conf import settings

from todo_project.sync import consumers, layer_watch
from todo_project.sync.layer_watch import SLOW_AFTER_PROBES, STUCK_AFTER_PROBES, LayerWatch
from todo_project.sync.tests.conftest import close_code, recv_until, subscribed, ws_connect


def _watch(layer, closed: list[object], stopped: list[int]) -> LayerWatch:
    async def close(channels) -> int:
        closed.append(1 if channels is None else sorted(channels))
        return 1

    watch = LayerWatch(layer, close, interval=0.01, probe_timeout=0.2)
    watch.stop_process = lambda: stopped.append(1)
    return watch


def test_a_layer_that_delivers_its_probes_closes_nothing():
    closed: list[object] = []
    stopped: list[int] = []

    async def run() -> list[bool]:
        watch = _watch(InMemoryChannelLayer(), closed, stopped)
        await watch.join()
        return [await watch.check() for _ in range(3)]

    assert asyncio.run(run()) == [True, True, True]
    assert (closed, stopped) == ([], [])


def test_groups_lost_with_the_layer_close_every_socket_once_it_delivers_again():
    closed: list[object] = []
    stopped: list[int] = []

    async def run() -> list[bool]:
        layer = InMemoryChannelLayer()
        watch = _watch(layer, closed, stopped)
        await watch.join()
        results = [await watch.check()]
        layer.groups.clear()  # what a Redis restart does to the groups
        results += [await watch.check(), await watch.check(), await watch.check()]
        return results

    # The probe after the loss sees the sentinel gone, joins again and closes.
    assert asyncio.run(run()) == [True, True, True, True]
    assert closed == [1], "the sockets are closed once, when the layer is back"
    assert stopped == []


def test_a_loss_right_after_the_join_is_seen_by_the_first_probe():
    """The old watch joined at its first probe: a restart before it went unseen."""
    closed: list[object] = []
    stopped: list[int] = []

    async def run() -> None:
        layer = InMemoryChannelLayer()
        watch = _watch(layer, closed, stopped)
        await watch.join()
        layer.groups.clear()
        await watch.check()

    asyncio.run(run())
    assert closed == [1]


def test_a_redis_restart_that_kept_the_groups_still_closes_the_sockets():
    """With persistence the groups survive a restart; the pushes sent meanwhile do not."""
    closed: list[object] = []
    stopped: list[int] = []
    run_ids = [["a"]]

    async def run() -> list[bool]:
        watch = _watch(InMemoryChannelLayer(), closed, stopped)

        async def current_run_ids() -> list[str]:
            return run_ids[-1]

        watch._run_ids = current_run_ids  # type: ignore[method-assign]
        await watch.join()
        results = [await watch.check()]
        run_ids.append(["b"])  # another server process answers now
        results += [await watch.check(), await watch.check()]
        return results

    assert asyncio.run(run()) == [True, True, True]
    assert closed == [1]


class _Deaf(InMemoryChannelLayer):
    """Accepts sends, never delivers: channels-redis after Redis went away mid-receive."""

    async def receive(self, channel):
        await asyncio.Event().wait()


def test_a_layer_that_accepts_probes_but_never_delivers_them_stops_the_process():
    closed: list[object] = []
    stopped: list[int] = []

    async def run() -> None:
        watch = _watch(_Deaf(), closed, stopped)
        await watch.join()
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
    # The server's watch joined its sentinel group before the socket joined its own.
    assert set(client.keys("asgi:group:ws-layer-watch.*")) - watches_before
    # Redis restarted empty right away, as far as groups go (the rest of the test DB stays).
    client.delete(*client.keys("asgi:group:*"))

    assert close_code(ws, timeout=20) == 1012, server.log()

    again = ws_connect(server, alice)
    assert recv_until(again, "connected")["type"] == "connected"
    again.send(json.dumps({"type": "subscribe", "channel": "tasks"}))
    recv_until(again, "subscribed")
    changes.create(alice, "after the restart")
    assert recv_until(again, "task.created")["data"]["task"]["title"] == "after the restart"
    again.close()


class _Recording(InMemoryChannelLayer):
    """Records the order of joins; ``fail_receive`` makes receives raise like redis-py's."""

    def __init__(self) -> None:
        super().__init__()
        self.joins: list[str] = []
        self.fail_receive = asyncio.Event()

    async def group_add(self, group, channel):
        self.joins.append(group.split(".", 1)[0])
        await super().group_add(group, channel)

    async def receive(self, channel):
        if self.fail_receive.is_set():
            raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        receiving = asyncio.ensure_future(super().receive(channel))
        failing = asyncio.ensure_future(self.fail_receive.wait())
        done, _ = await asyncio.wait({receiving, failing}, return_when=asyncio.FIRST_COMPLETED)
        if receiving in done:
            failing.cancel()
            return receiving.result()
        receiving.cancel()
        raise ConnectionError("Connection closed by server.")


async def _frame(communicator: ApplicationCommunicator) -> dict:
    output = await communicator.receive_output(timeout=10)
    assert output["type"] == "websocket.send", output
    return json.loads(output["text"])


async def _connected(layer, user, monkeypatch) -> ApplicationCommunicator:
    """The consumer in this process (channels.testing needs daphne), past its connected frame."""
    monkeypatch.setattr(consumers, "get_channel_layer", lambda alias="default": layer)
    monkeypatch.setattr(channels.consumer, "get_channel_layer", lambda alias="default": layer)
    monkeypatch.setattr(layer_watch, "_watch", None)
    scope = {"type": "websocket", "path": "/ws/tasks/", "headers": [], "subprotocols": [], "user": user}
    communicator = ApplicationCommunicator(consumers.TaskSyncConsumer.as_asgi(), scope)
    await communicator.send_input({"type": "websocket.connect"})
    assert (await communicator.receive_output(timeout=10))["type"] == "websocket.accept"
    assert (await _frame(communicator))["type"] == "connected"
    return communicator


@pytest.mark.django_db(transaction=True)
def test_the_sentinel_joins_before_the_socket(alice, monkeypatch):
    layer = _Recording()

    async def run() -> None:
        communicator = await _connected(layer, alice, monkeypatch)
        await communicator.send_input({"type": "websocket.disconnect", "code": 1000})
        await communicator.wait(timeout=10)

    asyncio.run(run())
    assert layer.joins[:2] == ["ws-layer-watch", "user"], layer.joins


@pytest.mark.django_db(transaction=True)
def test_a_socket_whose_layer_receive_fails_is_told_and_closed_1012(alice, monkeypatch):
    layer = _Recording()

    async def run() -> tuple[dict, dict]:
        communicator = await _connected(layer, alice, monkeypatch)
        layer.fail_receive.set()  # Redis went away under the socket's receive
        frame = await _frame(communicator)
        closing = await communicator.receive_output(timeout=10)
        await communicator.send_input({"type": "websocket.disconnect", "code": 1012})
        await communicator.wait(timeout=10)
        return frame, closing

    frame, closing = asyncio.run(run())
    assert frame["type"] == "error"
    assert frame["error"]["code"] == "channel_layer_lost", frame
    assert closing == {"type": "websocket.close", "code": 1012}
    assert layer_watch._watch is not None
    assert layer_watch._watch.lost, "the watch was told"


class _Slow(InMemoryChannelLayer):
    """Answers, but later than the probe timeout (a loaded Redis or event loop)."""

    async def group_send(self, group, message):
        await asyncio.sleep(5)
        await super().group_send(group, message)


def test_a_slow_layer_is_not_lost_until_it_has_not_answered_three_probes():
    closed: list[object] = []
    stopped: list[int] = []

    async def run() -> list[bool]:
        watch = _watch(_Slow(), closed, stopped)
        await watch.join()
        lost = []
        for _ in range(SLOW_AFTER_PROBES):
            assert await watch.check() is False
            lost.append(watch.lost)
        return lost

    # Closing every socket on a slow layer would add a reconnect storm to the load.
    assert asyncio.run(run()) == [False] * (SLOW_AFTER_PROBES - 1) + [True]
    assert closed == []
