"""A chat reply reaches every open socket of the user: real uvicorn, real WebSocket clients."""

from __future__ import annotations

import json
import urllib.request

import pytest

from todo_project.sync.tests.conftest import recv_json, recv_until, start_server, token_for, ws_connect

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def server(django_db_setup, tmp_path):
    started = start_server(tmp_path, CELERY_TASK_ALWAYS_EAGER="true")
    yield started
    started.stop()


def _subscribe(ws) -> None:
    assert recv_json(ws)["type"] == "connected"
    ws.send(json.dumps({"type": "subscribe", "channel": "chat"}))
    assert recv_until(ws, "subscribed")["channel"] == "chat"


def test_both_open_clients_show_the_message_and_the_reply(alice, bob, server):
    first, second, bobs = ws_connect(server, alice), ws_connect(server, alice), ws_connect(server, bob)
    try:
        for ws in (first, second, bobs):
            _subscribe(ws)
        request = urllib.request.Request(  # noqa: S310 - our own local test server
            server.http("/api/chat"),
            data=json.dumps({"message": "add water the plants tomorrow"}).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {token_for(alice)}"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            reply = json.loads(response.read())
        for ws in (first, second):
            said = recv_until(ws, "chat.message.received")
            answered = recv_until(ws, "chat.message.created")
            assert said["channel"] == "chat"
            assert said["data"]["text"] == "add water the plants tomorrow"
            assert answered["data"]["message_id"] == reply["message"]["id"]
            assert answered["data"]["text"] == reply["message"]["text"]
            assert answered["seq"] > said["seq"]
        bobs.send(json.dumps({"type": "ping"}))
        assert recv_json(bobs)["type"] == "pong"  # nothing of alice's came before it
    finally:
        for ws in (first, second, bobs):
            ws.close()
