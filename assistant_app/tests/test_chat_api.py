"""POST /api/chat, GET/DELETE /api/chat/history: storage, events, pushes, errors, isolation."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from assistant_app.models import ChatMessage, Conversation
from audit_app.models import AuditLog
from todo_project.events.bridge import topic_for
from todo_project.events.models import OutboxEvent
from todo_project.sync.messages import group_name
from todo_project.testing import present

pytestmark = pytest.mark.django_db


def _types() -> list[str]:
    return list(OutboxEvent.objects.order_by("seq").values_list("type", flat=True))


def test_a_local_turn_is_one_transaction_with_the_tools_events_first(
    alice, chat, django_capture_on_commit_callbacks
):
    # The tool's task events come before the chat events: task rows are locked
    # before the user's event counter (docs/events.md, lock order).
    with django_capture_on_commit_callbacks() as callbacks:
        reply = chat("add buy milk tomorrow")
    assert _types() == ["task.created", "chat.tool.executed", "chat.message.received", "chat.message.created"]
    assert len(callbacks) == 1  # one commit, one hand-off to the dispatcher
    created = OutboxEvent.objects.get(type="chat.message.created")
    assert created.data["in_reply_to"] == reply["user_message_id"]
    assert created.data["actions"] == [
        {"tool": "create_task", "ok": True, "task_id": reply["message"]["actions"][0]["result"]["task"]["id"]}
    ]
    tool = OutboxEvent.objects.get(type="chat.tool.executed")
    assert tool.data["via"] == "local"
    assert tool.data["ok"] is True
    assert {
        topic_for(t) for t in ("chat.message.received", "chat.tool.executed", "chat.message.created")
    } == {"chat-events"}


def test_every_chat_event_reaches_the_audit_log(alice, chat, dispatch):
    chat("add buy milk tomorrow")
    dispatch()
    actions = set(AuditLog.objects.values_list("action", flat=True))
    assert {"chat.message.received", "chat.tool.executed", "chat.message.created", "task.created"} <= actions


def test_the_reply_and_the_message_are_pushed_to_the_users_sockets(alice, chat, dispatch):
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(group_name(alice.pk), channel)

    async def take(count: int) -> list[dict]:
        return [await layer.receive(channel) for _ in range(count)]

    try:
        with present(alice.pk):
            reply = chat("add buy milk tomorrow")
            dispatch()
            pushed = [p["message"] for p in async_to_sync(take)(3)]
    finally:
        async_to_sync(layer.group_discard)(group_name(alice.pk), channel)
    # channels-redis orders a channel's queue by wall-clock time, which the
    # frozen clock stands still for: compare by seq.
    chat_pushes = sorted((p for p in pushed if p["channel"] == "chat"), key=lambda p: p["seq"])
    assert [p["type"] for p in chat_pushes] == ["chat.message.received", "chat.message.created"]
    assert chat_pushes[1]["data"]["message_id"] == reply["message"]["id"]
    assert chat_pushes[1]["data"]["text"] == reply["message"]["text"]


def test_history_is_paginated_newest_first_and_per_user(alice, bob, chat, alice_client, bob_client):
    chat("add one")
    chat("add two")
    chat("hello", client=bob_client)
    page = alice_client.get("/api/chat/history?limit=3").json()
    assert page["count"] == 4
    assert [m["role"] for m in page["results"]] == ["assistant", "user", "assistant"]
    assert page["results"][1]["text"] == "add two"
    assert page["next"] is not None
    second = alice_client.get("/api/chat/history?limit=3&page=2").json()
    assert [m["text"] for m in second["results"]] == ["add one"]
    assert bob_client.get("/api/chat/history").json()["count"] == 2


def test_another_users_conversation_is_a_404(alice, bob, chat, bob_client):
    reply = chat("hello")
    response = bob_client.post(
        "/api/chat", {"message": "hi", "conversation_id": reply["conversation_id"]}, format="json"
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    history = bob_client.get(f"/api/chat/history?conversation_id={reply['conversation_id']}").json()
    assert history["count"] == 0


def test_messages_continue_the_given_conversation(alice, chat):
    first = chat("hello")
    second = chat("add tea", conversation_id=first["conversation_id"])
    assert second["conversation_id"] == first["conversation_id"]
    assert Conversation.objects.filter(owner=alice).count() == 1


def test_deleting_history_removes_everything_and_records_an_event(alice, chat, alice_client):
    chat("hello")
    response = alice_client.delete("/api/chat/history")
    assert response.status_code == 200
    assert response.json() == {"deleted": 2}
    assert not ChatMessage.objects.filter(owner=alice).exists()
    assert OutboxEvent.objects.filter(type="chat.history.cleared").count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "message"),
        ({"message": ""}, "message"),
        ({"message": "x" * 2001}, "message"),
        ({"message": "hi", "conversation_id": "nope"}, "conversation_id"),
    ],
)
def test_bad_input_is_a_400_in_the_error_shape(alice, frozen, alice_client, body, field):
    response = alice_client.post("/api/chat", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_it_needs_authentication(anon_client):
    assert anon_client.post("/api/chat", {"message": "hi"}, format="json").status_code == 401
    assert anon_client.get("/api/chat/history").status_code == 401


def test_a_tool_refusal_is_an_answer_not_an_error(alice, chat):
    reply = chat("add tomorrow")  # quick add: no title left
    assert reply["message"]["actions"][0]["ok"] is False
    assert reply["message"]["actions"][0]["error"]["status"] == 400
    assert "couldn't" in reply["message"]["text"]


def test_the_schema_lists_the_chat_and_token_endpoints(alice_client):
    schema = alice_client.get("/api/schema/?format=json").json()
    for path in ("/api/chat", "/api/chat/history", "/api/tokens", "/api/tokens/{token_id}"):
        assert path in schema["paths"]
