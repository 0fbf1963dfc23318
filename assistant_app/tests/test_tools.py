"""The tool registry directly: schemas, isolation, matching, confirmation, and the proactive handler."""

from __future__ import annotations

from datetime import timedelta

import pytest

from assistant_app.models import ChatMessage
from assistant_app.services import reminder_message_post, tool_call
from assistant_app.tools import REGISTRY, match_score
from tasks_app.models import Task
from tasks_app.services import task_create
from todo_project.events.models import OutboxEvent

pytestmark = pytest.mark.django_db


def test_every_tool_has_a_description_and_an_object_schema():
    assert len(REGISTRY) >= 13
    for tool in REGISTRY.values():
        assert tool.description
        assert tool.input_schema["type"] == "object"
        assert tool.input_schema["additionalProperties"] is False


def test_a_schema_violation_is_a_validation_error_naming_the_argument(alice):
    action = tool_call(user=alice, name="list_tasks", arguments={"when": "someday"}, via="mcp")
    assert action["ok"] is False
    assert action["error"]["code"] == "validation_error"
    assert "when" in action["error"]["fields"]
    event = OutboxEvent.objects.get(type="chat.tool.executed")
    assert event.data["ok"] is False
    assert event.data["error_code"] == "validation_error"


def test_an_unknown_tool_is_refused(alice):
    action = tool_call(user=alice, name="format_disk", arguments={}, via="mcp")
    assert action["error"]["code"] == "unknown_tool"


def test_another_users_task_id_is_a_404_for_every_task_tool(alice, bob):
    task = task_create(owner=bob, title="Bob's")
    for name in ("get_task", "complete_task", "reschedule_task", "update_task", "delete_task", "stop_series"):
        arguments = {"task_id": str(task.pk)}
        if name == "reschedule_task":
            arguments["when"] = "tomorrow"
        if name == "update_task":
            arguments["priority"] = "high"
        action = tool_call(user=alice, name=name, arguments=arguments, via="mcp")
        assert action["error"]["status"] == 404, name
    task.refresh_from_db()
    assert task.version == 1


def test_delete_without_confirm_changes_nothing(alice):
    task = task_create(owner=alice, title="Keep me")
    action = tool_call(user=alice, name="delete_task", arguments={"task_id": str(task.pk)}, via="mcp")
    assert action["result"]["needs_confirmation"] is True
    assert Task.objects.filter(pk=task.pk).exists()
    action = tool_call(
        user=alice, name="delete_task", arguments={"task_id": str(task.pk), "confirm": True}, via="mcp"
    )
    assert action["result"]["deleted"] is True
    assert not Task.objects.filter(pk=task.pk).exists()


def test_matching_prefers_the_exact_title_and_finds_words(alice):
    assert match_score("pay rent", "Pay rent") == 1.0
    assert match_score("report", "Finish quarterly report") > match_score("report", "Call mom")
    task_create(owner=alice, title="Call mom")
    task_create(owner=alice, title="Call mom about taxes")
    exact = tool_call(user=alice, name="complete_task", arguments={"task": "call mom"}, via="mcp")
    assert exact["ok"] is True
    assert exact["result"]["task"]["title"] == "Call mom"


def test_the_reminder_message_is_made_once_per_event(alice, frozen, dispatch):
    from django.utils import timezone

    from reminders_app.services import reminders_fire_due

    due = timezone.now() + timedelta(minutes=17)
    task = task_create(
        owner=alice, title="Meeting with Sarah", due_at=due, remind_at=due - timedelta(minutes=15)
    )
    dispatch()
    frozen.shift(timedelta(minutes=3))
    reminders_fire_due()
    dispatch()
    event = OutboxEvent.objects.get(type="reminder.triggered")
    assert reminder_message_post(event_id=event.id, data=event.data) is None  # a second dispatch
    (message,) = ChatMessage.objects.filter(owner=alice, engine="reminder")
    assert message.text.startswith("Reminder: Meeting with Sarah, due today at ")
    created = OutboxEvent.objects.get(type="chat.message.created")
    assert created.data["reminder_id"] == event.data["reminder_id"]
    assert created.data["engine"] == "reminder"
    assert str(task.pk) in message.conversation.context["task_ids"]


def test_the_admin_lists_conversations_messages_and_tokens(admin_client, alice, frozen):
    from assistant_app.services import chat_send, pat_create

    chat_send(user=alice, text="add tea tomorrow")
    pat_create(user=alice, name="desk", scope="read")
    for path in (
        "/admin/assistant_app/conversation/",
        "/admin/assistant_app/chatmessage/",
        "/admin/assistant_app/personalaccesstoken/",
    ):
        assert admin_client.get(path).status_code == 200, path


def test_the_word_prefilter_never_drops_a_title_the_score_would_keep():
    """find_tasks skips the similarity for titles sharing no word or prefix; those must score < 0.45."""
    from assistant_app.tools import _shares_a_word, _stem, _words

    titles = [
        "Pay rent",
        "Finish quarterly report",
        "Call mom",
        "Call mom about taxes",
        "Water plants",
        "Team standup",
        "exercise",
        "the",
        "a task",
        "Buy milk",
        "Dentist",
        "Submit report",
        "rep",
        "reports due",
        "Paying bills",
        "bill",
        "Renew passport",
        "call the plumber",
        "xyz",
        "mom",
    ]
    queries = [
        "pay rent",
        "the report",
        "rep",
        "mom",
        "taxes",
        "plants",
        "standup",
        "exercise",
        "the",
        "a task",
        "milk",
        "dentist",
        "paid the bills",
        "bills",
        "passport renewal",
        "plumber",
        "zzz",
        "call",
        "report",
        "water",
    ]
    for query in queries:
        q_words = {_stem(w) for w in _words(query.lower())}
        for title in titles:
            if title.strip().lower() != query.strip().lower() and not _shares_a_word(q_words, title):
                assert match_score(query, title) < 0.45, (query, title)
