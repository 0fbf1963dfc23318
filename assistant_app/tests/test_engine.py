"""The local engine through POST /api/chat: the seed scenarios and the intents of the issue."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from assistant_app.models import ChatMessage
from reminders_app.models import Reminder
from tasks_app.models import SeriesStatus, Task, TaskSeries
from tasks_app.services import task_create
from todo_project.events.models import OutboxEvent

pytestmark = pytest.mark.django_db


def _tool(reply, name):
    return [a for a in reply["message"]["actions"] if a["tool"] == name]


def test_it_makes_a_weekly_monday_series_from_remind_me_to_exercise_every_monday(alice, chat, frozen):
    # when
    reply = chat("Remind me to exercise every Monday")
    # then
    (action,) = _tool(reply, "create_task")
    assert action["ok"] is True
    task = Task.objects.get(owner=alice)
    assert task.title.lower() == "exercise"
    assert "FREQ=WEEKLY;BYDAY=MO" in task.series.rule
    assert task.due_date == date(2026, 3, 9)  # the next Monday
    assert "exercise" in reply["message"]["text"].lower()
    assert "every Monday" in reply["message"]["text"]
    assert reply["message"]["engine"] == "local"


def test_it_makes_a_monthly_series_starting_on_the_next_first(alice, chat, frozen):
    reply = chat("Pay bills on the 1st of every month")
    task = Task.objects.get(owner=alice)
    assert task.title == "Pay bills"
    assert "BYMONTHDAY=1" in task.series.rule
    assert task.due_date == date(2026, 4, 1)
    assert "Pay bills" in reply["message"]["text"]


def test_completing_one_occurrence_leaves_the_future_ones(alice, chat, frozen, dispatch):
    chat("Remind me to exercise every Monday")
    reply = chat("done with exercise")
    dispatch()
    assert _tool(reply, "complete_task")[0]["ok"] is True
    series = TaskSeries.objects.get(owner=alice)
    assert series.status == SeriesStatus.ACTIVE
    open_ones = Task.objects.filter(series=series, is_completed=False)
    assert [t.due_date for t in open_ones] == [date(2026, 3, 16)]
    assert "series goes on" in reply["message"]["text"]


def test_stop_my_exercise_reminder_stops_the_series_and_keeps_the_occurrences(alice, chat, frozen, dispatch):
    chat("Remind me to exercise every Monday")
    dispatch()
    reply = chat("Stop my exercise reminder")
    series = TaskSeries.objects.get(owner=alice)
    assert series.status == SeriesStatus.STOPPED
    assert Task.objects.filter(series=series).count() == 1
    assert "Stopped" in reply["message"]["text"]


def test_it_answers_whats_due_today_with_the_days_tasks(alice, chat, frozen):
    task_create(owner=alice, title="Standup", due_at=datetime.fromisoformat("2026-03-05T15:00:00+00:00"))
    task_create(owner=alice, title="Later", due_date=date(2026, 3, 20))
    reply = chat("what's due today?")
    assert "Standup" in reply["message"]["text"]
    assert "Later" not in reply["message"]["text"]
    assert _tool(reply, "list_tasks")[0]["arguments"] == {"when": "today"}


def test_it_lists_overdue_high_priority_tasks(alice, chat, frozen):
    task_create(owner=alice, title="Old report", priority="high", due_date=date(2026, 3, 1))
    task_create(owner=alice, title="Old chore", priority="low", due_date=date(2026, 3, 1))
    reply = chat("show overdue high-priority tasks")
    assert "Old report" in reply["message"]["text"]
    assert "Old chore" not in reply["message"]["text"]


def test_it_moves_a_task_to_friday(alice, chat, frozen):
    task = task_create(owner=alice, title="Dentist", due_date=date(2026, 3, 6))
    chat("move dentist to Monday")
    task.refresh_from_db()
    assert task.due_date == date(2026, 3, 9)


def test_it_moves_it_to_a_time_on_the_same_day(alice, chat, frozen):
    task = task_create(
        owner=alice, title="Standup", due_at=datetime.fromisoformat("2026-03-06T08:00:00+00:00")
    )
    chat("move standup to 10am")
    task.refresh_from_db()
    assert task.due_at == datetime.fromisoformat("2026-03-06T09:00:00+00:00")  # 10:00 Berlin


def test_it_completes_from_i_paid_the_rent(alice, chat, frozen):
    task = task_create(owner=alice, title="Pay rent")
    reply = chat("I paid the rent")
    task.refresh_from_db()
    assert task.is_completed
    assert "Pay rent" in reply["message"]["text"]


def test_it_understands_it_as_the_last_task(alice, chat, frozen):
    chat("add call the plumber tomorrow")
    chat("make it high priority")
    task = Task.objects.get(owner=alice)
    assert task.priority == "high"
    assert task.title == "call the plumber"


def test_it_asks_which_one_when_two_tasks_match_and_acts_on_the_answer(alice, chat, frozen):
    task_create(owner=alice, title="Call mom")
    other = task_create(owner=alice, title="Call mom about taxes")
    reply = chat("done with call mom about")
    question = reply["message"]["question"]
    if question is None:  # the better match won outright: fine, but then it must be the taxes one
        other.refresh_from_db()
        assert other.is_completed
        return
    assert question["kind"] == "choose"
    reply = chat("the second")
    assert Task.objects.filter(owner=alice, is_completed=True).count() == 1


def test_an_ambiguous_name_becomes_a_question_and_the_choice_is_acted_on(alice, chat, frozen):
    task_create(owner=alice, title="Water plants")
    task_create(owner=alice, title="Water garden")
    reply = chat("done with water")
    question = reply["message"]["question"]
    assert question["kind"] == "choose"
    assert {o["title"] for o in question["options"]} == {"Water plants", "Water garden"}
    assert Task.objects.filter(is_completed=True).count() == 0
    reply = chat("garden")
    assert Task.objects.get(title="Water garden").is_completed
    assert not Task.objects.get(title="Water plants").is_completed


def test_delete_asks_first_and_no_keeps_the_task(alice, chat, frozen):
    task_create(owner=alice, title="Old idea")
    reply = chat("delete old idea")
    assert reply["message"]["question"]["kind"] == "confirm"
    assert Task.objects.filter(title="Old idea").exists()
    reply = chat("no")
    assert Task.objects.filter(title="Old idea").exists()
    assert not OutboxEvent.objects.filter(type="task.deleted").exists()


def test_delete_asks_first_and_yes_deletes(alice, chat, frozen):
    task_create(owner=alice, title="Old idea")
    chat("delete old idea")
    reply = chat("yes")
    assert not Task.objects.filter(title="Old idea").exists()
    assert "Deleted" in reply["message"]["text"]
    assert OutboxEvent.objects.filter(type="task.deleted").count() == 1


def test_it_skips_next_weeks_standup(alice, chat, frozen, dispatch):
    chat("Team standup every Monday at 9am")
    reply = chat("skip next week's standup")
    assert _tool(reply, "skip_occurrence")[0]["ok"] is True
    series = TaskSeries.objects.get(owner=alice)
    assert Task.objects.filter(series=series, is_skipped=True).count() == 1
    assert Task.objects.filter(series=series, is_skipped=False, is_completed=False).count() == 1


def test_it_adds_a_reminder_before_a_task(alice, chat, frozen):
    chat("add dentist tomorrow at 3pm")
    reply = chat("remind me about dentist 30 minutes before")
    (reminder,) = Reminder.objects.filter(owner=alice, kind="custom")
    assert reminder.offset_minutes == 30
    assert "remind you" in reply["message"]["text"]


def test_it_snoozes_and_dismisses_the_reminder_that_fired(alice, chat, frozen, dispatch):
    from reminders_app.services import reminders_fire_due

    chat("add stretch today at 10:10 remind me 5 minutes before")
    dispatch()
    frozen.shift(timedelta(minutes=6))
    assert reminders_fire_due() >= 1
    dispatch()
    proactive = ChatMessage.objects.filter(owner=alice, engine="reminder").get()
    assert proactive.text.startswith("Reminder: stretch")
    reply = chat("snooze that 10 minutes")
    assert _tool(reply, "snooze_reminder")[0]["ok"] is True
    assert "Snoozed" in reply["message"]["text"]
    reply = chat("dismiss")
    assert _tool(reply, "dismiss_reminder")[0]["ok"] is True
    assert Reminder.objects.filter(owner=alice, status="dismissed").count() == 1


def test_it_does_not_create_anything_from_words_it_does_not_understand(alice, chat, frozen):
    reply = chat("purple elephants sing")
    assert reply["message"]["actions"] == []
    assert not Task.objects.exists()


def test_another_users_tasks_are_never_matched(alice, bob, chat, frozen):
    task_create(owner=bob, title="Bob's secret plan")
    reply = chat("done with secret plan")
    assert not Task.objects.get(owner=bob).is_completed
    assert reply["message"]["actions"][0]["ok"] is False


@pytest.mark.parametrize(
    ("message", "tool", "arguments"),
    [
        ("I need to renew my passport by Friday", "create_task", {"text": "renew my passport by Friday"}),
        ("list my #work tasks", "list_tasks", {"tags": ["work"]}),
        ("anything due tomorrow", "list_tasks", {"when": "tomorrow"}),
        ("what do I have this week", "list_tasks", {"when": "this_week"}),
        ("finished the slides", "complete_task", {"task": "slides"}),
        ("mark taxes as done", "complete_task", {"task": "taxes"}),
        ("reopen the report", "reopen_task", {"task": "report"}),
        ("postpone taxes to next week", "reschedule_task", {"task": "taxes", "when": "next week"}),
        ("set priority of taxes to low", "update_task", {"task": "taxes", "priority": "low"}),
        ("make taxes urgent", "update_task", {"task": "taxes", "priority": "high"}),
        ("tag plumber with #home", "update_task", {"task": "plumber", "add_tags": ["home"]}),
        ("snooze 1 hour", "snooze_reminder", {"minutes": 60}),
        ("skip today's run", "skip_occurrence", {"task": "run"}),
        ("stop the standup series", "stop_series", {"task": "standup"}),
    ],
)
def test_it_maps_each_documented_phrase_to_its_tool(alice, chat, message, tool, arguments):
    reply = chat(message)
    (action,) = reply["message"]["actions"]
    assert action["tool"] == tool
    assert action["arguments"] == arguments


def test_done_with_it_after_a_reminder_completes_that_task(alice, chat, frozen, dispatch):
    from reminders_app.services import reminders_fire_due

    chat("add stretch today at 10:10 remind me 5 minutes before")
    dispatch()
    frozen.shift(timedelta(minutes=6))
    reminders_fire_due()
    dispatch()
    chat("done with it")
    assert Task.objects.get(owner=alice).is_completed


def test_it_lists_the_tasks_of_a_project_by_name(alice, chat, frozen):
    from tasks_app.projects.services import project_create

    work = project_create(owner=alice, name="Work")
    task_create(owner=alice, title="Quarterly review", project_id=work.pk)
    task_create(owner=alice, title="Buy milk")
    reply = chat("what's in my work project?")
    (action,) = reply["message"]["actions"]
    assert action["arguments"] == {"project": "work"}
    assert "Quarterly review" in reply["message"]["text"]
    assert "Buy milk" not in reply["message"]["text"]
    reply = chat("show tasks in project nowhere")
    assert reply["message"]["actions"][0]["error"]["fields"] == {"project": ["No project matches “nowhere”."]}


def test_a_question_left_unanswered_for_long_is_forgotten(alice, chat, frozen):
    task_create(owner=alice, title="Old idea")
    chat("delete old idea")
    frozen.shift(timedelta(minutes=16))
    # the old access token would have expired too: a fresh client
    from conftest import _client_for

    reply = chat("yes", client=_client_for(alice))
    assert Task.objects.filter(title="Old idea").exists()
    assert reply["message"]["actions"] == []


def test_a_reminder_two_minutes_ahead_arrives_as_an_assistant_message(
    alice, chat, frozen, dispatch, alice_client
):
    """The seed scenario: the assistant speaks up unprompted, in the history and on the sockets."""
    from reminders_app.services import reminders_fire_due

    reply = chat("Remind me to call Sarah in 2 minutes")
    (task,) = Task.objects.filter(owner=alice, title="call Sarah")
    assert task.due_at is not None
    assert _tool(reply, "create_task")[0]["ok"] is True
    dispatch()
    frozen.shift(timedelta(minutes=1))
    assert reminders_fire_due() == 0  # not yet
    frozen.shift(timedelta(minutes=1, seconds=1))
    assert reminders_fire_due() == 1
    dispatch()
    newest = alice_client.get("/api/chat/history").json()["results"][0]
    assert newest["role"] == "assistant"
    assert newest["engine"] == "reminder"
    assert newest["text"].startswith("Reminder: call Sarah, due today at ")
    pushed = OutboxEvent.objects.filter(type="chat.message.created", data__engine="reminder").get()
    assert pushed.data["message_id"] == newest["id"]


@pytest.mark.parametrize(("order", "due"), [("MDY", date(2026, 12, 4)), ("DMY", date(2026, 4, 12))])
def test_chat_reads_a_numeric_date_in_the_users_date_order(alice, chat, frozen, alice_client, order, due):
    assert alice_client.patch("/api/me", {"date_order": order}, format="json").status_code == 200
    reply = chat("add dentist 12/4")
    assert _tool(reply, "create_task")[0]["ok"] is True
    assert Task.objects.get(owner=alice, title="dentist").due_date == due
    # Moving it uses the same order.
    chat("move dentist to 1/5")
    moved = Task.objects.get(owner=alice, title="dentist").due_date
    assert moved == (date(2027, 1, 5) if order == "MDY" else date(2026, 5, 1))


def test_next_friday_said_on_a_thursday_is_not_tomorrow(alice, chat, frozen):
    # NOW is Thursday 5 March 2026: "Friday" is tomorrow, "next Friday" the one after.
    chat("add submit report next Friday")
    chat("add water plants Friday")
    assert Task.objects.get(owner=alice, title="submit report").due_date == date(2026, 3, 13)
    assert Task.objects.get(owner=alice, title="water plants").due_date == date(2026, 3, 6)
