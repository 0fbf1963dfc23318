"""Reminders follow their task: task events → reminder scheduling, cancellation, restore."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import time_machine

from notifications_app.models import NotificationPreference
from reminders_app.models import Reminder, ReminderKind, ReminderStatus
from reminders_app.services import priority_offsets, reminder_create
from reminders_app.tests.factories import (
    NOW,
    complete_task,
    create_task,
    delete_task,
    events_of,
    reopen_task,
    update_task,
)

# Time frozen at NOW before alice_client mints its token, so the token is valid "now".
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]


def _states(task) -> dict[str, tuple[str, datetime]]:
    return {r.kind: (r.status, r.fire_at) for r in Reminder.objects.filter(task_ref=task.id)}


def test_it_maps_task_remind_at_onto_one_reminder(alice, on_commit):
    with on_commit():
        task = create_task(alice, remind_at=NOW + timedelta(hours=1))
    assert _states(task) == {"task_remind_at": ("pending", NOW + timedelta(hours=1))}

    with on_commit():
        update_task(task, remind_at=NOW + timedelta(hours=2))
    assert _states(task) == {"task_remind_at": ("pending", NOW + timedelta(hours=2))}
    assert Reminder.objects.filter(task_ref=task.id).count() == 1

    with on_commit():
        update_task(task, remind_at=None)
    assert _states(task)["task_remind_at"][0] == "cancelled"
    assert events_of("reminder.cancelled")[-1]["reason"] == "remind_at_cleared"


def test_a_cleared_remind_at_comes_back_when_set_again(alice, alice_client, on_commit):
    with on_commit():
        task = create_task(alice, remind_at=NOW + timedelta(hours=1))
    with on_commit():
        update_task(task, remind_at=None)
    with on_commit():
        update_task(task, remind_at=NOW + timedelta(hours=1))
    assert _states(task) == {"task_remind_at": ("pending", NOW + timedelta(hours=1))}

    # Deleted by the user, it stays deleted until remind_at changes.
    rid = Reminder.objects.get(task_ref=task.id).id
    alice_client.delete(f"/api/reminders/{rid}")
    with on_commit():
        update_task(task, title="Call mom today")
    assert _states(task)["task_remind_at"][0] == "cancelled"
    with on_commit():
        update_task(task, remind_at=NOW + timedelta(hours=2))
    assert _states(task) == {"task_remind_at": ("pending", NOW + timedelta(hours=2))}
    assert Reminder.objects.filter(task_ref=task.id).count() == 1


def test_relative_reminders_move_with_the_due_time_and_absolute_ones_stay(alice, on_commit):
    with on_commit():
        task = create_task(alice, due_at=NOW + timedelta(hours=3))
        relative = reminder_create(user_id=alice.id, task_id=task.id, offset_minutes=30)
        absolute = reminder_create(user_id=alice.id, task_id=task.id, remind_at=NOW + timedelta(hours=1))

    with on_commit():
        update_task(task, due_at=NOW + timedelta(days=1))

    relative.refresh_from_db()
    absolute.refresh_from_db()
    assert relative.fire_at == NOW + timedelta(days=1) - timedelta(minutes=30)
    assert relative.status == ReminderStatus.PENDING
    assert absolute.fire_at == NOW + timedelta(hours=1)
    scheduled = [
        e["scheduled_for"] for e in events_of("reminder.scheduled") if e["reminder_id"] == str(relative.id)
    ]
    assert scheduled == ["2026-03-02T12:30:00Z", "2026-03-03T09:30:00Z"]


def test_a_relative_reminder_moved_into_the_past_is_cancelled_and_removing_due_cancels_it(alice, on_commit):
    with on_commit():
        task = create_task(alice, due_at=NOW + timedelta(hours=3))
        relative = reminder_create(user_id=alice.id, task_id=task.id, offset_minutes=60)
    with on_commit():
        update_task(task, due_at=NOW + timedelta(minutes=30))
    relative.refresh_from_db()
    assert (relative.status, relative.cancel_reason) == ("cancelled", "time_passed")

    with on_commit():
        other = create_task(alice, due_at=NOW + timedelta(hours=3))
        rel2 = reminder_create(user_id=alice.id, task_id=other.id, offset_minutes=60)
    with on_commit():
        update_task(other, due_at=None)
    rel2.refresh_from_db()
    assert (rel2.status, rel2.cancel_reason) == ("cancelled", "due_removed")
    with on_commit():
        update_task(other, due_at=NOW + timedelta(hours=5))
    rel2.refresh_from_db()
    assert (rel2.status, rel2.fire_at) == ("pending", NOW + timedelta(hours=4))


def test_completing_a_task_cancels_pending_reminders_and_reopening_restores_future_ones(alice, on_commit):
    with on_commit():
        task = create_task(alice, due_at=NOW + timedelta(hours=3))
        soon = reminder_create(user_id=alice.id, task_id=task.id, remind_at=NOW + timedelta(minutes=20))
        later = reminder_create(user_id=alice.id, task_id=task.id, offset_minutes=30)
    with on_commit():
        complete_task(task)
    assert {r.status for r in Reminder.objects.filter(task_ref=task.id)} == {"cancelled"}
    assert {e["reason"] for e in events_of("reminder.cancelled")} == {"task_completed"}

    # Reopened after the first reminder's time: only the future one comes back.
    with time_machine.travel(NOW + timedelta(minutes=40), tick=False), on_commit():
        reopen_task(task)
    soon.refresh_from_db()
    later.refresh_from_db()
    assert soon.status == ReminderStatus.CANCELLED
    assert (later.status, later.fire_at) == ("pending", NOW + timedelta(hours=2, minutes=30))


def test_deleting_a_task_cancels_its_reminders_and_keeps_the_record(alice, on_commit):
    with on_commit():
        task = create_task(alice, remind_at=NOW + timedelta(hours=1))
        custom = reminder_create(user_id=alice.id, task_id=task.id, remind_at=NOW + timedelta(hours=2))
    task_id = task.id
    with on_commit():
        delete_task(task)
    rows = list(Reminder.objects.filter(task_ref=task_id))
    assert len(rows) == 2
    assert {(r.status, r.cancel_reason, r.task_id) for r in rows} == {("cancelled", "task_deleted", None)}
    assert {e["reminder_id"] for e in events_of("reminder.cancelled")} == {str(r.id) for r in rows}
    assert custom.id in {r.id for r in rows}


def test_the_default_reminder_is_off_unless_the_user_sets_it(alice, on_commit):
    with on_commit():
        plain = create_task(alice, due_at=NOW + timedelta(hours=3))
    assert _states(plain) == {}

    NotificationPreference.objects.create(user=alice, default_reminder_minutes=30)
    with on_commit():
        timed = create_task(alice, due_at=NOW + timedelta(hours=3))
        untimed = create_task(alice)
    assert _states(timed) == {"default": ("pending", NOW + timedelta(hours=2, minutes=30))}
    assert _states(untimed) == {}


def test_setting_the_default_reminder_applies_it_to_open_timed_tasks(alice, alice_client, on_commit):
    with on_commit():
        task = create_task(alice, due_at=NOW + timedelta(hours=3))
    with on_commit():
        response = alice_client.patch(
            "/api/notifications/preferences", {"default_reminder_minutes": 45}, format="json"
        )
    assert response.status_code == 200
    assert _states(task) == {"default": ("pending", NOW + timedelta(hours=2, minutes=15))}


def test_high_priority_tasks_get_an_earlier_reminder_unless_turned_off(alice, on_commit):
    with on_commit():
        high = create_task(
            alice,
            priority="high",
            due_at=NOW + timedelta(hours=3),
            remind_at=NOW + timedelta(hours=2, minutes=45),
        )
    # remind_at is 15 minutes before due: the extra reminder is at double that lead.
    assert _states(high) == {
        "task_remind_at": ("pending", NOW + timedelta(hours=2, minutes=45)),
        "priority_boost": ("pending", NOW + timedelta(hours=2, minutes=30)),
    }
    with on_commit():
        update_task(high, priority="medium")
    assert _states(high)["priority_boost"][0] == "cancelled"
    with on_commit():
        update_task(high, priority="high")
    assert _states(high)["priority_boost"][0] == "pending"

    NotificationPreference.objects.create(user=alice, priority_boost_enabled=False)
    with on_commit():
        off = create_task(alice, priority="high", due_at=NOW + timedelta(hours=3))
    assert _states(off) == {}


@pytest.mark.parametrize(
    ("priority", "default_minutes", "boost", "offsets"),
    [
        ("high", 30, True, (30, 60)),
        ("high", None, True, (None, 60)),
        ("medium", 30, True, (30, None)),
        ("low", 30, True, (15, None)),
        ("low", 30, False, (30, None)),
        ("high", 30, False, (30, None)),
    ],
)
def test_priority_rules_per_level(priority, default_minutes, boost, offsets):
    offsets_now = priority_offsets(
        priority=priority, default_minutes=default_minutes, boost=boost, remind_lead_minutes=None
    )
    assert offsets_now == offsets


def test_the_task_event_handler_is_idempotent(alice, on_commit):
    from reminders_app.services import reminders_apply_task_state

    with on_commit():
        task = create_task(
            alice, remind_at=NOW + timedelta(hours=4), priority="high", due_at=NOW + timedelta(hours=5)
        )
    before = sorted((r.kind, r.status, r.fire_at) for r in Reminder.objects.filter(task_ref=task.id))
    scheduled = len(events_of("reminder.scheduled"))
    reminders_apply_task_state(task_id=task.id)
    reminders_apply_task_state(task_id=task.id)
    assert sorted((r.kind, r.status, r.fire_at) for r in Reminder.objects.filter(task_ref=task.id)) == before
    assert len(events_of("reminder.scheduled")) == scheduled
    assert ReminderKind.PRIORITY_BOOST in {k for k, _s, _f in before}


def test_one_batch_syncs_each_task_as_it_would_alone(alice, bob):
    # given tasks changed while no worker ran: one new, one completed, one
    # deleted, bob's new one — their events handled as one dispatch batch
    from reminders_app.services import reminders_apply_task_states
    from todo_project.events.dispatcher import dispatch_ready

    with time_machine.travel(NOW, tick=False):
        fresh = create_task(alice, remind_at=NOW + timedelta(hours=1))
        done = create_task(alice, remind_at=NOW + timedelta(hours=2))
        gone = create_task(alice, remind_at=NOW + timedelta(hours=3))
        bobs = create_task(bob, remind_at=NOW + timedelta(hours=4))
        dispatch_ready()  # their reminders exist
        complete_task(done)
        delete_task(gone)
        update_task(fresh, remind_at=NOW + timedelta(hours=5))

        # when one batch syncs them all, with ids in any spelling
        reminders_apply_task_states(task_ids=[str(fresh.id).upper(), done.id, gone.id, bobs.id.hex])

    # then each ends as a sync of its own would leave it
    assert _states(fresh) == {"task_remind_at": ("pending", NOW + timedelta(hours=5))}
    assert _states(done)["task_remind_at"][0] == "cancelled"
    assert _states(gone)["task_remind_at"][0] == "cancelled"
    assert _states(bobs) == {"task_remind_at": ("pending", NOW + timedelta(hours=4))}
    reasons = {e["task_id"]: e["reason"] for e in events_of("reminder.cancelled")}
    assert reasons == {str(done.id): "task_completed", str(gone.id): "task_deleted"}
