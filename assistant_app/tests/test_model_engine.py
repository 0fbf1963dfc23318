"""The model engine against a local server speaking the chat-completions contract."""

from __future__ import annotations

import json
import socket
from datetime import date

import pytest

from assistant_app.tests.openai_server import ScriptedModel, says, scripted_model, stall, status, tool_calls
from tasks_app.models import SeriesStatus, Task, TaskSeries
from todo_project.events.models import OutboxEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def model(settings):
    with scripted_model() as server:
        settings.ASSISTANT_MODEL = "test-model"
        settings.OPENAI_BASE_URL = server.url
        settings.OPENAI_API_KEY = "sk-test"
        settings.ASSISTANT_MODEL_TIMEOUT_SECONDS = 2.0
        settings.ASSISTANT_MODEL_RETRIES = 1
        yield server


def _tool_messages(request: dict) -> list[dict]:
    return [json.loads(m["content"]) for m in request["messages"] if m["role"] == "tool"]


def test_the_model_gets_the_registry_and_its_tool_calls_run_through_the_services(
    alice, chat, model: ScriptedModel
):
    model.script(
        tool_calls(("create_task", {"text": "Exercise every Monday"})), says("Added Exercise, every Monday.")
    )
    reply = chat("Remind me to exercise every Monday")
    # the request followed the contract
    first = model.requests[0]
    assert first["model"] == "test-model"
    assert model.headers[0]["Authorization"] == "Bearer sk-test"
    names = {t["function"]["name"] for t in first["tools"]}
    assert {"create_task", "list_tasks", "complete_task", "stop_series", "delete_task"} <= names
    assert first["messages"][0]["role"] == "system"
    # the date order (alice has the default, MDY), named for the model
    assert "month/day (4/15)" in first["messages"][0]["content"]
    assert first["messages"][-1] == {
        "role": "user",
        "content": "Remind me to exercise every Monday",
    }
    # the tool result went back to the model
    (result,) = _tool_messages(model.requests[1])
    assert result["task"]["title"] == "Exercise"
    # and the user got the model's words, with the action listed
    assert reply["message"]["engine"] == "model"
    assert reply["message"]["text"] == "Added Exercise, every Monday."
    series = TaskSeries.objects.get(owner=alice)
    assert "BYDAY=MO" in series.rule
    assert OutboxEvent.objects.get(type="chat.tool.executed").data["via"] == "model"


def test_the_seed_scenarios_pass_through_the_model(alice, chat, model: ScriptedModel, dispatch):
    model.script(tool_calls(("create_task", {"text": "Pay bills on the 1st of every month"})), says("Done."))
    chat("Pay bills on the 1st of every month")
    task = Task.objects.get(owner=alice)
    assert task.due_date == date(2026, 4, 1)
    assert task.series is not None
    assert "BYMONTHDAY=1" in task.series.rule

    model.script(tool_calls(("complete_task", {"task": "pay bills"})), says("Marked done."))
    chat("I paid the bills")
    dispatch()
    assert Task.objects.filter(series=task.series, is_completed=False).get().due_date == date(2026, 5, 1)

    model.script(tool_calls(("stop_series", {"task": "pay bills"})), says("Stopped."))
    chat("Stop my bills reminder")
    assert task.series is not None
    task.series.refresh_from_db()
    assert task.series.status == SeriesStatus.STOPPED
    assert Task.objects.filter(series=task.series).count() == 2


def test_bad_arguments_and_unknown_tools_go_back_to_the_model_not_to_the_user(
    alice, chat, model: ScriptedModel
):
    model.script(
        tool_calls(("create_task", "{not json"), ("create_task", {"title": "x"}), ("launch_rocket", {})),
        says("Sorry, let me try again later."),
    )
    reply = chat("add something")
    errors = [m["error"]["code"] for m in _tool_messages(model.requests[1])]
    assert errors == ["validation_error", "validation_error", "unknown_tool"]
    assert reply["message"]["text"] == "Sorry, let me try again later."
    assert not Task.objects.exists()


def test_a_refused_tool_call_reaches_the_model_with_its_status(alice, bob, chat, model: ScriptedModel):
    other = Task.objects.create(owner=bob, title="Bob's", version=1)
    model.script(tool_calls(("complete_task", {"task_id": str(other.pk)})), says("I can't find that task."))
    chat("complete bob's task")
    (result,) = _tool_messages(model.requests[1])
    assert result["error"]["status"] == 404
    other.refresh_from_db()
    assert not other.is_completed


def test_an_unreachable_model_falls_back_to_the_local_engine(alice, chat, settings):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.ASSISTANT_MODEL = "m"
    settings.OPENAI_BASE_URL = f"http://127.0.0.1:{port}/v1"
    settings.ASSISTANT_MODEL_RETRIES = 0
    reply = chat("Remind me to exercise every Monday")
    assert reply["message"]["engine"] == "local"
    assert TaskSeries.objects.filter(owner=alice).count() == 1


def test_a_model_that_times_out_falls_back_to_the_local_engine(alice, chat, model: ScriptedModel, settings):
    settings.ASSISTANT_MODEL_TIMEOUT_SECONDS = 0.3
    settings.ASSISTANT_MODEL_RETRIES = 0
    model.script(stall(1.5))
    reply = chat("add water plants tomorrow")
    assert reply["message"]["engine"] == "local"
    assert Task.objects.filter(owner=alice, title="water plants").exists()


def test_a_5xx_is_retried(alice, chat, model: ScriptedModel):
    model.script(status(503), says("Hello!"))
    reply = chat("hi")
    assert reply["message"]["engine"] == "model"
    assert len(model.requests) == 2


def test_a_4xx_is_not_retried_and_falls_back(alice, chat, model: ScriptedModel):
    model.script(status(401), says("never sent"))
    reply = chat("what's due today?")
    assert reply["message"]["engine"] == "local"
    assert len(model.requests) == 1


def test_a_failure_after_a_tool_ran_does_not_run_the_message_twice(
    alice, chat, model: ScriptedModel, settings
):
    settings.ASSISTANT_MODEL_RETRIES = 0
    model.script(tool_calls(("create_task", {"text": "Buy bread"})), status(500))
    reply = chat("add buy bread")
    assert Task.objects.filter(owner=alice).count() == 1
    assert reply["message"]["engine"] == "model"
    assert "Buy bread" in reply["message"]["text"]


def test_a_destructive_call_without_confirmation_changes_nothing_and_yes_still_works_locally(
    alice, chat, model: ScriptedModel, settings
):
    Task.objects.create(owner=alice, title="Old plan", version=1)
    model.script(
        tool_calls(("delete_task", {"task": "old plan"})), says("Delete “Old plan”? Say yes to confirm.")
    )
    reply = chat("delete my old plan")
    assert Task.objects.filter(title="Old plan").exists()
    assert _tool_messages(model.requests[1])[0]["needs_confirmation"] is True
    assert reply["message"]["text"].startswith("Delete")
    # the model is gone by the time the user answers: the local engine keeps the question
    settings.ASSISTANT_MODEL = ""
    chat("yes")
    assert not Task.objects.filter(title="Old plan").exists()


def test_a_model_cannot_delete_without_the_users_yes(alice, chat, model: ScriptedModel):
    task = Task.objects.create(owner=alice, title="Old plan", version=1)
    # the model tries to skip the question
    model.script(tool_calls(("delete_task", {"task_id": str(task.pk), "confirm": True})), says("Delete it?"))
    chat("clean up my old plan")
    assert Task.objects.filter(pk=task.pk).exists()
    assert _tool_messages(model.requests[1])[0]["needs_confirmation"] is True
    # after the user's yes the same call goes through
    model.script(tool_calls(("delete_task", {"task_id": str(task.pk), "confirm": True})), says("Deleted."))
    chat("yes")
    assert not Task.objects.filter(pk=task.pk).exists()


def test_the_model_is_told_the_users_date_order(alice, chat, model: ScriptedModel, alice_client):
    assert alice_client.patch("/api/me", {"date_order": "DMY"}, format="json").status_code == 200
    model.script(tool_calls(("create_task", {"text": "Dentist 2/4"})), says("Added Dentist on 2 April."))
    chat("Dentist on the 2nd of April, please")
    assert "day/month (15/4)" in model.requests[0]["messages"][0]["content"]
    # and the tool reads the model's 2/4 the user's way
    from tasks_app.models import Task

    due = Task.objects.get(owner=alice, title="Dentist").due_date
    assert due is not None
    assert (due.month, due.day) == (4, 2)
