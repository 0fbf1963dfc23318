"""Sockets end with their credentials (issue 11, finding 9): real uvicorn, real clients, real Redis.

A password change, a deactivation and the logout of the cookie session a
socket rode on each record an event; its handler (todo_project/sync/handlers.py)
tells the user's Channels group, and every matching connection on every
server process closes with 4401 after an error frame naming why.
"""

from __future__ import annotations

import json

import pytest
from django.test import Client
from rest_framework.test import APIClient

from todo_project.accounts import services
from todo_project.sync.tests.conftest import close_code, recv_json, recv_until, subscribed, ws_connect

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

ALICE_PASSWORD = "alice-Secret-123"


def _still_open(ws) -> bool:
    ws.send(json.dumps({"type": "ping"}))
    return recv_until(ws, "pong")["type"] == "pong"


def _cookie_socket(server, client: Client):
    ws = ws_connect(
        server,
        None,
        additional_headers={"Cookie": f"sessionid={client.cookies['sessionid'].value}"},
        origin=f"http://127.0.0.1:{server.port}",
    )
    assert recv_json(ws)["type"] == "connected"
    return ws


def test_a_password_change_closes_the_users_sockets_on_every_process(server, other_server, alice, bob):
    # given alice connected to two server processes, and bob connected too
    here, there = subscribed(server, alice), subscribed(other_server, alice)
    bobs = subscribed(server, bob)

    # when she changes her password
    response = APIClient()
    response.force_authenticate(alice)
    answer = response.post(
        "/api/auth/password",
        {"old_password": ALICE_PASSWORD, "new_password": "a-Brand-new-passphrase-7"},
        format="json",
    )
    assert answer.status_code == 200, answer.content

    # then both her sockets are told why and closed with 4401; bob's stays
    for ws in (here, there):
        assert recv_until(ws, "error")["error"]["code"] == "password_changed"
        assert close_code(ws) == 4401
    assert _still_open(bobs)
    bobs.close()


def test_deactivating_the_account_closes_its_sockets(server, alice):
    ws = subscribed(server, alice)
    services.user_deactivate(user_id=alice.pk)
    assert recv_until(ws, "error")["error"]["code"] == "account_deactivated"
    assert close_code(ws) == 4401


def test_logging_out_a_cookie_session_closes_only_the_sockets_of_that_session(server, alice):
    # given two browser sessions of alice with a socket each, and a token socket
    first, second = Client(), Client()
    first.force_login(alice)
    second.force_login(alice)
    first_ws, second_ws = _cookie_socket(server, first), _cookie_socket(server, second)
    token_ws = subscribed(server, alice)

    # when the first session logs out
    first.logout()

    # then only its socket closes
    assert recv_until(first_ws, "error")["error"]["code"] == "session_ended"
    assert close_code(first_ws) == 4401
    assert _still_open(second_ws)
    assert _still_open(token_ws)
    second_ws.close()
    token_ws.close()


def test_logging_out_a_refresh_token_leaves_sockets_alone(server, alice):
    ws = subscribed(server, alice)
    pair = services.user_login(identifier="alice", password=ALICE_PASSWORD)
    services.user_logout(refresh=pair["refresh"])
    assert _still_open(ws)
    ws.close()


def test_a_cookie_socket_closes_when_its_session_expires(server, alice):
    client = Client()
    client.force_login(alice)
    session = client.session
    session.set_expiry(2)
    session.save()
    ws = _cookie_socket(server, client)
    assert recv_until(ws, "error")["error"]["code"] == "session_expired"
    assert close_code(ws) == 4401


def test_deleting_the_account_closes_its_sockets(server, alice, bob):
    ws, bobs = subscribed(server, alice), subscribed(server, bob)
    client = APIClient()
    client.force_authenticate(alice)

    answer = client.delete("/api/auth/account", {"password": ALICE_PASSWORD}, format="json")

    assert answer.status_code == 204, answer.content
    assert recv_until(ws, "error")["error"]["code"] == "account_deleted"
    assert close_code(ws) == 4401
    assert _still_open(bobs)
    bobs.close()
