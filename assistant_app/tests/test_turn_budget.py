"""How many statements each local chat turn sends to PostgreSQL (issue 15).

The benchmark (``benchmarks/assistant/run.py``) times these turns; wall time
on a shared machine is noise, the number of round trips is not. Each turn's
statements are counted (SAVEPOINT/RELEASE of the test's transaction stand
for the turn's BEGIN/COMMIT) for a fresh user's one pass of the script, as
the benchmark counts them (the first turn also makes the user's
conversation and Inbox), so a change that adds a statement to a turn fails
here. Lower a budget when a change removes one.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from assistant_app.models import ChatMessage, Conversation
from assistant_app.services import chat_send, message_to_dict
from todo_project.events.models import OutboxEvent

pytestmark = pytest.mark.django_db

# The benchmark's script, with each turn's statement budget.
BUDGET = {
    "Remind me to exercise every Monday": 18,  # also the conversation and the Inbox (4)
    "Pay bills on the 1st of every month": 14,
    "add call the plumber tomorrow at 9am #home": 13,
    "make it high priority": 11,
    "what's due today?": 7,
    "show overdue high-priority tasks": 7,
    "what do I have this week": 7,
    "move plumber to Friday at 10am": 11,
    "Team standup every weekday at 9am": 14,
    "skip next week's standup": 19,
    "done with exercise": 15,
    "I paid the bills": 15,
    "remind me about plumber 30 minutes before": 12,
    "delete call the plumber": 7,
    "yes": 16,
    "Stop my exercise reminder": 11,
    "purple elephants sing": 6,
}


def test_each_turn_of_the_benchmark_script_stays_within_its_statement_budget(alice, bob, frozen):
    for text in BUDGET:  # another user first: nothing process-wide is left to load
        chat_send(user=bob, text=text)
    counts: dict[str, int] = {}
    for text in BUDGET:
        with CaptureQueriesContext(connection) as captured:
            reply = chat_send(user=alice, text=text)["message"]
        counts[text] = len(captured.captured_queries)
        if text != "purple elephants sing":
            # Each turn did its work (the counts are of real tool calls).
            assert reply["actions"], (text, reply["text"])
            assert all(action["ok"] for action in reply["actions"]), (text, reply["actions"])
    over = {text: (counts[text], BUDGET[text]) for text in BUDGET if counts[text] > BUDGET[text]}
    assert not over, f"turns over their statement budget (sent, budget): {over}; all: {counts}"


def test_a_series_turn_records_all_its_events_with_two_statements(alice, frozen):
    chat_send(user=alice, text="hello")
    before = OutboxEvent.objects.filter(user_id=alice.pk).count()
    with CaptureQueriesContext(connection) as captured:
        chat_send(user=alice, text="Team standup every weekday at 9am")
    sql = [q["sql"] for q in captured.captured_queries]
    assert sum("events_usereventcounter" in s for s in sql) == 2  # the position lock, the numbering
    assert sum(s.startswith('COPY "events_outboxevent"') for s in sql) == 1
    events = OutboxEvent.objects.filter(user_id=alice.pk, seq__gt=before).order_by("seq")
    assert list(events.values_list("type", flat=True)) == [
        "task.created",
        "chat.tool.executed",
        "chat.message.received",
        "chat.message.created",
    ]


def test_the_one_statement_store_writes_what_the_orm_would(alice, frozen):
    first = chat_send(user=alice, text="add call the plumber tomorrow at 9am")
    conversation = Conversation.objects.get(pk=first["conversation_id"])
    before = conversation.updated_at
    frozen.shift(5)
    reply = chat_send(user=alice, text="delete call the plumber")  # asks: a pending question

    user_message = ChatMessage.objects.get(pk=reply["user_message_id"])
    assert (user_message.role, user_message.text, user_message.owner_id) == (
        "user",
        "delete call the plumber",
        alice.pk,
    )
    assert (user_message.actions, user_message.question, user_message.engine) == ([], None, "")
    stored = ChatMessage.objects.get(pk=reply["message"]["id"])
    assert message_to_dict(stored) == reply["message"]
    assert stored.question is not None
    assert stored.created_at > user_message.created_at
    conversation.refresh_from_db()
    assert conversation.updated_at > before
    assert conversation.pending is not None
    assert conversation.pending["tool"] == "delete_task"
    assert conversation.context["task_ids"] == [reply["message"]["actions"][0]["result"]["task"]["id"]]
