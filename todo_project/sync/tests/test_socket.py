"""The task socket against real uvicorn processes, real clients, real Redis."""

from __future__ import annotations

import json
import time
import urllib.request
import uuid

import pytest
from websockets.exceptions import InvalidStatus

from todo_project.sync.messages import SyncMessage
from todo_project.sync.push import push_to_user
from todo_project.sync.tests.conftest import (
    TaskChanges,
    close_code,
    notification_data,
    recv_json,
    recv_until,
    subscribed,
    token_for,
    ws_connect,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_it_shows_both_connections_of_a_user_each_others_changes(server, alice, changes):
    # given two connections of alice
    first = subscribed(server, alice)
    second = subscribed(server, alice)

    # when her tasks are created, updated, completed, reordered and deleted
    task = changes.create(alice, "Buy milk")
    other = changes.create(alice, "Call mum")
    task_id, other_id = str(task.id), str(other.id)
    changes.update(alice, task, "Buy oat milk")
    changes.complete(alice, task)
    changes.reorder(alice, [other, task])
    changes.delete(alice, other)

    # then both connections receive every change, in seq order, with versions
    for ws in (first, second):
        frames = [recv_json(ws) for _ in range(6)]
        assert [f["type"] for f in frames] == [
            "task.created",
            "task.created",
            "task.updated",
            "task.completed",
            "task.reordered",
            "task.deleted",
        ]
        seqs = [f["seq"] for f in frames]
        assert seqs == sorted(seqs)
        assert len(set(seqs)) == 6
        assert [f["prev_seq"] for f in frames[1:]] == seqs[:-1]
        assert frames[0]["data"]["task"]["title"] == "Buy milk"
        assert frames[2]["data"]["changes"] == {"title": {"old": "Buy milk", "new": "Buy oat milk"}}
        assert frames[2]["version"] == 2
        assert frames[3]["version"] == 3
        assert frames[3]["data"]["task"]["is_completed"] is True
        assert frames[4]["data"]["task_ids"] == [other_id, task_id]
        assert frames[4]["version"] is None
        assert frames[5]["data"]["task_id"] == other_id
        ws.close()


def test_it_echoes_the_request_id_of_the_change(server, alice):
    ws = subscribed(server, alice)
    TaskChanges(request_id="req-123").create(alice)
    assert recv_json(ws)["request_id"] == "req-123"
    ws.close()


def test_it_sends_nothing_of_alices_to_bob(server, alice, bob, changes):
    # given a connection of each
    alices = subscribed(server, alice)
    bobs = subscribed(server, bob)

    # when alice's task changes, then bob changes one of his
    changes.create(alice, "Alice's")
    changes.create(bob, "Bob's")

    # then bob's connection gets only his own event
    assert recv_json(alices)["data"]["task"]["title"] == "Alice's"
    frame = recv_json(bobs)
    assert frame["data"]["task"]["title"] == "Bob's"
    bobs.send(json.dumps({"type": "ping"}))
    assert recv_json(bobs) == {"type": "pong"}  # nothing else was queued before it
    alices.close()
    bobs.close()


def test_it_reaches_clients_on_every_server_process(server, other_server, alice, changes):
    on_first = subscribed(server, alice)
    on_second = subscribed(other_server, alice, path="/api/tasks/ws")

    task = changes.create(alice)

    assert recv_json(on_first)["data"]["task_id"] == str(task.id)
    assert recv_json(on_second)["data"]["task_id"] == str(task.id)
    on_first.close()
    on_second.close()


def test_it_pushes_a_rest_write_on_one_process_to_a_client_on_another(server, other_server, alice):
    # given alice connected to the second process
    ws = subscribed(other_server, alice)

    # when she creates a task through the REST API of the first
    request = urllib.request.Request(  # noqa: S310 - http to our local server
        server.http("/api/tasks"),
        data=json.dumps({"title": "From my phone"}).encode(),
        headers={
            "Authorization": f"Bearer {token_for(alice)}",
            "Content-Type": "application/json",
            "X-Request-ID": "phone-1",
        },
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=15) as response:  # noqa: S310 - our local server
        assert response.status == 201
        created = json.load(response)

    # then the push carries the task (the response adds its series block) and the request id of that call
    frame = recv_json(ws)
    assert frame["type"] == "task.created"
    assert frame["data"]["task"] == {key: value for key, value in created.items() if key != "series"}
    assert frame["request_id"] == "phone-1"
    ws.close()


def test_it_pushes_only_subscribed_channels(server, alice, changes):
    ws = ws_connect(server, alice)
    assert recv_json(ws)["type"] == "connected"
    changes.create(alice, "before subscribing")
    ws.send(json.dumps({"type": "subscribe", "channel": "notifications"}))
    assert recv_json(ws) == {"type": "subscribed", "channel": "notifications"}
    changes.create(alice, "only tasks channel")
    ws.send(json.dumps({"type": "ping"}))
    assert recv_json(ws) == {"type": "pong"}

    ws.send(json.dumps({"type": "subscribe", "channel": "tasks"}))
    assert recv_json(ws) == {"type": "subscribed", "channel": "tasks"}
    changes.create(alice, "now subscribed")
    assert recv_json(ws)["data"]["title"] == "now subscribed"

    ws.send(json.dumps({"type": "unsubscribe", "channel": "tasks"}))
    assert recv_json(ws) == {"type": "unsubscribed", "channel": "tasks"}
    changes.create(alice, "after unsubscribing")
    ws.send(json.dumps({"type": "ping"}))
    assert recv_json(ws) == {"type": "pong"}
    ws.close()


def test_it_pushes_in_app_notifications_to_the_notifications_channel(server, alice):
    from django.db import transaction

    from todo_project.events.services import record_event

    ws = subscribed(server, alice, channel="notifications")
    data = notification_data(alice)
    with transaction.atomic():
        record_event(type="notification.created", user_id=alice.pk, data=data)

    frame = recv_json(ws)
    assert frame["type"] == "notification.created"
    assert frame["data"] == data
    ws.close()


def test_it_keeps_a_quiet_connection_past_the_layers_poll_timeout(server, alice, changes):
    # Regression: channels-redis blocks 5 s per poll and redis-py 8 timed the
    # read out at 5 s too, killing consumers that had nothing to receive.
    ws = subscribed(server, alice)
    time.sleep(6)
    changes.create(alice)
    assert recv_json(ws)["type"] == "task.created"
    ws.close()


def test_it_greets_with_the_users_last_seq(server, alice, changes):
    changes.create(alice)
    changes.create(alice)
    ws = ws_connect(server, alice)
    hello = recv_json(ws)
    assert hello["type"] == "connected"
    assert hello["user_id"] == alice.pk
    assert hello["last_seq"] >= 2
    ws.close()


# --- authentication ----------------------------------------------------------------


def test_it_closes_4401_without_credentials(server):
    ws = ws_connect(server)
    assert close_code(ws) == 4401


def test_it_closes_4401_for_a_bad_token(server, alice):
    token = token_for(alice)
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    ws = ws_connect(server, None, subprotocols=["bearer", forged])
    assert close_code(ws) == 4401


def test_it_closes_4401_for_a_token_of_another_audience(server, alice):
    import jwt
    from django.conf import settings
    from rest_framework_simplejwt.tokens import AccessToken

    # simplejwt overwrites aud when encoding, so sign the claims directly
    claims = dict(AccessToken.for_user(alice).payload, aud="someone-else", iss=settings.JWT_ISSUER)
    token = jwt.encode(claims, settings.JWT_PRIVATE_KEY, algorithm="RS256")
    ws = ws_connect(server, None, subprotocols=["bearer", token])
    assert close_code(ws) == 4401


def test_it_accepts_the_token_as_query_parameter(server, alice):
    from websockets.sync.client import connect

    ws = connect(server.url(f"/ws/tasks/?token={token_for(alice)}"), compression=None, legacy=True)
    assert recv_json(ws)["user_id"] == alice.pk
    ws.close()


def test_it_answers_the_bearer_subprotocol(server, alice):
    ws = ws_connect(server, alice)
    assert ws.subprotocol == "bearer"
    ws.close()


def test_it_accepts_the_session_cookie(server, alice):
    from django.test import Client

    client = Client()
    client.force_login(alice)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    ws = ws_connect(
        server, None, additional_headers={"Cookie": cookie}, origin=f"http://127.0.0.1:{server.port}"
    )
    assert recv_json(ws)["user_id"] == alice.pk
    ws.close()


def test_it_does_not_fall_back_to_the_cookie_when_the_token_is_bad(server, alice):
    from django.test import Client

    client = Client()
    client.force_login(alice)
    ws = ws_connect(
        server,
        None,
        subprotocols=["bearer", "not-a-jwt"],
        additional_headers={"Cookie": f"sessionid={client.cookies['sessionid'].value}"},
    )
    assert close_code(ws) == 4401


def test_it_closes_4401_for_an_already_expired_token(server, alice):
    ws = ws_connect(server, None, subprotocols=["bearer", token_for(alice, lifetime_seconds=-60)])
    assert close_code(ws) == 4401


def test_it_refuses_a_foreign_origin(server, alice):
    with pytest.raises(InvalidStatus) as refused:
        ws_connect(server, alice, origin="https://evil.example")
    assert refused.value.response.status_code == 403


@pytest.mark.parametrize(
    "origin",
    [
        "http://127.0.0.1:1",  # our host, another port
        "https://127.0.0.1:{port}",  # our host and port, another scheme
        "http://127.0.0.1",  # our host, default port
        "http://127.0.0.1.evil.example:{port}",  # a look-alike host
        "null",  # a sandboxed frame or a file: page
    ],
)
def test_it_refuses_any_origin_but_exactly_its_own(server, alice, origin):
    with pytest.raises(InvalidStatus) as refused:
        ws_connect(server, alice, origin=origin.format(port=server.port))
    assert refused.value.response.status_code == 403


def test_it_accepts_its_own_origin(server, alice):
    own = ws_connect(server, alice, origin=f"http://127.0.0.1:{server.port}")
    assert recv_json(own)["type"] == "connected"
    own.close()


@pytest.mark.parametrize(
    ("origin", "scheme", "host", "allowed"),
    [
        ("https://app.example.com", "ws", "api.example.com", True),  # trusted exactly
        ("https://app.example.com:443", "ws", "api.example.com", True),  # its default port
        ("http://app.example.com", "ws", "api.example.com", False),  # trusted, other scheme
        ("https://app.example.com:8443", "ws", "api.example.com", False),  # trusted, other port
        ("https://api.example.com", "wss", "api.example.com", True),  # same origin over TLS
        ("https://api.example.com", "ws", "api.example.com", False),  # TLS page, plain socket
        ("https://evil.example", "wss", "evil.example", False),  # same origin, host not allowed
    ],
)
def test_the_origin_check_compares_scheme_host_and_port(origin, scheme, host, allowed):
    from todo_project.sync.auth import OriginCheck

    check = OriginCheck(None, ["https://app.example.com"], ["api.example.com"])
    scope = {"type": "websocket", "scheme": scheme, "headers": [(b"host", host.encode())]}

    assert check.allowed(scope, origin) is allowed


def test_it_closes_4401_when_the_token_expires(server, alice):
    ws = ws_connect(server, None, subprotocols=["bearer", token_for(alice, lifetime_seconds=2)])
    assert recv_json(ws)["type"] == "connected"
    error = recv_until(ws, "error")
    assert error["error"]["code"] == "token_expired"
    assert close_code(ws) == 4401


# --- robustness --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("not json", "invalid_json"),
        ('["a list"]', "validation_error"),
        ('{"type": "dance"}', "unknown_type"),
        ('{"type": "subscribe", "channel": "everything"}', "validation_error"),
        ('{"type": "resync", "since": "yesterday"}', "validation_error"),
        ('{"type": "resync", "since": -1}', "validation_error"),
        ("x" * (64 * 1024 + 1), "frame_too_large"),
        ("[" * 50_000, "invalid_json"),
    ],
)
def test_it_answers_a_bad_frame_with_an_error_and_stays_up(server, alice, frame, code):
    ws = subscribed(server, alice)
    ws.send(frame)
    error = recv_json(ws)
    assert error["type"] == "error"
    assert error["error"]["code"] == code
    ws.send(json.dumps({"type": "ping"}))
    assert recv_json(ws) == {"type": "pong"}
    ws.close()


def test_it_names_the_field_of_a_bad_frame(server, alice):
    ws = subscribed(server, alice)
    ws.send(json.dumps({"type": "subscribe", "channel": "tasks", "user_id": alice.pk + 1000}))
    error = recv_json(ws)
    assert error["error"]["code"] == "forbidden"
    assert "user_id" in error["error"]["fields"]
    ws.close()


def test_it_answers_a_binary_frame_with_an_error(server, alice):
    ws = subscribed(server, alice)
    ws.send(b"\x00\x01")
    assert recv_json(ws)["error"]["code"] == "unsupported_frame"
    ws.close()


def test_it_closes_an_idle_connection(own_server, alice):
    srv = own_server(WS_IDLE_TIMEOUT_SECONDS="1")
    ws = ws_connect(srv, alice)
    assert recv_json(ws)["type"] == "connected"
    assert recv_until(ws, "error")["error"]["code"] == "idle_timeout"
    assert close_code(ws) == 4408


def test_it_does_not_let_a_slow_client_hold_up_a_fast_one(own_server, alice):
    # given a server with a small send queue, and two connections of alice:
    # one reads everything as it arrives (its client buffers without bound),
    # the other never reads (its client stops after one frame; TCP fills up)
    srv = own_server(WS_SEND_QUEUE_SIZE="128")
    fast = subscribed(srv, alice, max_size=None, max_queue=None)
    slow = subscribed(srv, alice, max_size=None, max_queue=1)
    # when far more is pushed than fits in socket buffers (~40 MB of frames)
    blob = uuid.uuid4().hex * 3200  # ~100 kB per frame, incompressible enough
    count = 400
    for seq in range(1, count + 1):
        push_to_user(
            user_id=alice.pk,
            message=SyncMessage(
                type="task.updated",
                channel="tasks",
                id=str(uuid.uuid4()),
                seq=seq,
                prev_seq=seq - 1 or None,
                time="2026-01-01T00:00:00Z",
                version=seq,
                request_id=None,
                data={"blob": blob},
            ),
        )
    # then the fast client receives all of it
    assert [recv_json(fast)["seq"] for _ in range(count)] == list(range(1, count + 1))
    # and the slow one, once it reads, finds it was told to resync and closed
    frames = []
    while True:
        frame = recv_json(slow)
        frames.append(frame)
        if frame["type"] == "resync.required":
            break
    assert frame["reason"] == "too_far_behind"
    assert len(frames) < count + 1
    delivered = [f["seq"] for f in frames if f["type"] == "task.updated"]
    assert frame["since"] == (delivered[-1] if delivered else None)
    assert close_code(slow) == 4429
    fast.close()


def test_it_closes_sockets_with_1001_on_shutdown(own_server, alice):
    srv = own_server()
    ws = subscribed(srv, alice)
    srv.process.terminate()
    assert close_code(ws) == 1001
    srv.process.wait(timeout=30)


def test_it_pushes_project_section_and_move_events_on_the_tasks_channel(server, alice, changes):
    from tasks_app import services as task_services
    from tasks_app.projects import services as project_services

    # given a connection of alice and a task of hers
    ws = subscribed(server, alice)
    task = changes.create(alice, "Report")

    # when she makes a project with a section and moves the task into it
    project = project_services.project_create(owner=alice, name="Work")
    section = project_services.section_create(user=alice, project_id=project.pk, name="Now")
    task_services.task_move(user=alice, task_id=task.pk, placement={"section_id": section.pk})

    # then each change reaches her socket, in order
    frames = [recv_json(ws) for _ in range(4)]
    assert [f["type"] for f in frames] == ["task.created", "project.created", "section.created", "task.moved"]
    assert {f["channel"] for f in frames} == {"tasks"}
    assert frames[1]["data"]["project"]["name"] == "Work"
    assert frames[3]["data"]["to"]["section_id"] == str(section.pk)
    assert frames[3]["data"]["task"]["project_id"] == str(project.pk)
    ws.close()
