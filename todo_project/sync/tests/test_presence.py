"""Presence: a push to a user with no open socket costs no Redis round trip,
and a socket that opens while the push side does not yet see it still gets
every event (real Redis; the socket tests use real uvicorn servers)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
import redis
from django.conf import settings
from redis.asyncio.connection import AbstractConnection

from todo_project.events.models import OutboxEvent
from todo_project.sync import presence
from todo_project.sync.push import present_users, push_to_users
from todo_project.sync.selectors import sync_message
from todo_project.sync.tests.conftest import RECV_TIMEOUT, TaskChanges, recv_json, recv_until, subscribed


def _wait_until(predicate, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False


@pytest.fixture
def current_view() -> presence.PresenceView:
    """The push side's view, followed and current (its first pong came back)."""
    present_users(set())
    assert _wait_until(presence.view.is_current), "the presence view never became current"
    return presence.view


@pytest.fixture
def round_trips(monkeypatch) -> list[bytes]:
    """Every command the asyncio Redis clients of this process send (the push
    loop's channel layer and the presence follower)."""
    sent: list[bytes] = []
    original = AbstractConnection.send_packed_command

    async def counting(self, command, check_health=True):  # type: ignore[no-untyped-def]
        sent.append(bytes(command if isinstance(command, bytes | bytearray) else b"".join(command)))
        return await original(self, command, check_health)

    monkeypatch.setattr(AbstractConnection, "send_packed_command", counting)
    return sent


def _pushes(sent: list[bytes]) -> list[bytes]:
    # The follower's own pings and reloads are not on the push path.
    return [c for c in sent if b"PING" not in c and b"ZRANGEBYSCORE" not in c and b"EVALSHA" not in c]


@pytest.mark.django_db(transaction=True)
def test_a_push_to_a_user_with_no_socket_costs_no_redis_round_trip(alice, current_view, round_trips):
    TaskChanges().create(alice)
    event = OutboxEvent.objects.filter(user_id=alice.pk).latest("seq")
    round_trips.clear()

    push_to_users([(alice.pk, sync_message(event, prev_seq=None))])

    assert current_view.maybe_present(alice.pk) is False
    assert _pushes(round_trips) == []


@pytest.mark.django_db(transaction=True)
def test_the_push_handler_skips_the_prev_seq_query_for_a_user_with_no_socket(
    alice, current_view, django_assert_num_queries
):
    from todo_project.sync.handlers import push_event_to_sockets

    TaskChanges().create(alice)
    event = OutboxEvent.objects.filter(user_id=alice.pk).latest("seq")
    with django_assert_num_queries(0):
        push_event_to_sockets([event])


@pytest.mark.django_db(transaction=True)
def test_a_push_to_a_present_user_goes_through_the_channel_layer(alice, current_view, round_trips):
    from todo_project.testing import present

    TaskChanges().create(alice)
    event = OutboxEvent.objects.filter(user_id=alice.pk).latest("seq")
    with present(alice.pk):
        round_trips.clear()
        push_to_users([(alice.pk, sync_message(event, prev_seq=None))])
    assert any(b"user." in command for command in _pushes(round_trips))


def test_a_view_that_is_not_current_lets_every_push_through():
    now = [1000.0]
    view = presence.PresenceView(clock=lambda: now[0])
    assert view.maybe_present(1) is True  # never confirmed
    view._users = frozenset({2})
    view._complete_as_of = now[0]
    assert view.maybe_present(1) is False
    assert view.maybe_present(2) is True
    now[0] += presence.PRESENCE_MAX_STALENESS_SECONDS + 0.01
    assert view.maybe_present(1) is True  # stale: unknown, so pushed


def test_the_view_follows_joins_and_forgets_leaves_at_its_reload(monkeypatch):
    monkeypatch.setattr(presence, "PRESENCE_RELOAD_SECONDS", 0.3)

    class Sock:
        def schedule_catch_up(self, *, delay: float) -> None:
            pass

    async def scenario() -> None:
        view = presence.PresenceView()
        board = presence.PresenceBoard()
        follower = asyncio.ensure_future(view._follow_while_used())
        try:
            while not view.is_current():
                await asyncio.sleep(0.01)
            sock = Sock()
            await board.join(424242, sock)
            for _ in range(200):
                if view.maybe_present(424242):
                    break
                await asyncio.sleep(0.01)
            assert view.maybe_present(424242), "a join reaches the view through pub/sub"
            await board.leave(424242, sock)
            for _ in range(300):
                if not view.maybe_present(424242):
                    break
                await asyncio.sleep(0.01)
            assert not view.maybe_present(424242), "a leave is forgotten at the next reload"
        finally:
            follower.cancel()
            board._heartbeat.cancel()  # type: ignore[union-attr]

    asyncio.run(scenario())


def test_a_heartbeat_finds_a_lapsed_member_republishes_it_and_catches_its_sockets_up():
    caught_up: list[float] = []

    class Sock:
        def schedule_catch_up(self, *, delay: float) -> None:
            caught_up.append(delay)

    client = redis.Redis.from_url(str(settings.REDIS_URL))

    async def scenario() -> list[int]:
        board = presence.PresenceBoard()
        try:
            await board.join(515151, Sock())
            assert await board.beat() == []  # renewed, nothing lapsed
            client.zrem(presence.PRESENCE_KEY, board.member(515151))  # the member lapsed
            lapsed = await board.beat()
            assert client.zscore(presence.PRESENCE_KEY, board.member(515151)) is not None
            await board.leave(515151, next(iter(board._sockets[515151])))
            return lapsed
        finally:
            board._heartbeat.cancel()  # type: ignore[union-attr]

    try:
        assert asyncio.run(scenario()) == [515151]
    finally:
        client.close()
    assert caught_up == [presence.PRESENCE_CATCH_UP_SECONDS]


@pytest.mark.django_db(transaction=True)
def test_a_socket_the_push_side_did_not_see_yet_still_gets_the_event(
    server, alice, monkeypatch, current_view
):
    # given a socket that opened while the push side's view did not hold alice
    # (the race: a view confirmed just before her join)
    ws = subscribed(server, alice)
    monkeypatch.setattr(presence.view, "maybe_present", lambda user_id: False)
    try:
        # when a change is committed and its push skipped
        task = TaskChanges(request_id="req-race").create(alice)
        # then the socket gets it anyway, from its catch-up
        pushed = recv_until(ws, "task.created", timeout=presence.PRESENCE_CATCH_UP_SECONDS + RECV_TIMEOUT)
        assert pushed["data"]["task_id"] == str(task.id)
        assert pushed["request_id"] == "req-race"
    finally:
        ws.close()


@pytest.mark.django_db(transaction=True)
def test_the_catch_up_does_not_repeat_what_was_pushed_live(server, alice):
    ws = subscribed(server, alice)
    try:
        changes = TaskChanges()
        task = changes.create(alice)
        first = recv_until(ws, "task.created")
        assert first["data"]["task_id"] == str(task.id)
        # past the catch-up: nothing more comes, until the next change
        time.sleep(presence.PRESENCE_CATCH_UP_SECONDS + 0.5)
        changes.update(alice, task, title="Renamed")
        frame: dict[str, Any] = recv_json(ws)
        assert frame["type"] == "task.updated", frame
        assert frame["prev_seq"] == first["seq"]
    finally:
        ws.close()


def _members_of(user_id: int) -> list[str]:
    client = redis.Redis.from_url(str(settings.REDIS_URL))
    try:
        members = [str(m, "utf-8") for m in client.zrange(presence.PRESENCE_KEY, 0, -1)]  # type: ignore[arg-type]
    finally:
        client.close()
    return [m for m in members if m.startswith(f"{user_id}:")]


@pytest.mark.django_db(transaction=True)
def test_a_socket_joins_presence_on_connect_and_leaves_on_close(server, other_server, alice, current_view):
    first, second = subscribed(server, alice), subscribed(other_server, alice)
    assert _wait_until(lambda: current_view.maybe_present(alice.pk))
    assert len(_members_of(alice.pk)) == 2  # one member per ws process
    first.close()
    assert _wait_until(lambda: len(_members_of(alice.pk)) == 1)
    second.close()
    assert _wait_until(lambda: _members_of(alice.pk) == [])


@pytest.mark.django_db(transaction=True)
def test_with_presence_off_every_push_goes_to_the_channel_layer(alice, current_view, settings, round_trips):
    settings.SYNC_PRESENCE = False
    TaskChanges().create(alice)
    event = OutboxEvent.objects.filter(user_id=alice.pk).latest("seq")
    round_trips.clear()
    push_to_users([(alice.pk, sync_message(event, prev_seq=None))])
    assert any(b"user." in command for command in _pushes(round_trips))
