"""The push handler: domain events → the user's Channels group (real Redis)."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from todo_project.events.context import request_context
from todo_project.events.models import OutboxEvent
from todo_project.events.services import record_event
from todo_project.sync.messages import group_name
from todo_project.sync.tests.conftest import TaskChanges, notification_data
from todo_project.testing import present


@pytest.fixture
def alices_group(alice):
    """A channel in alice's group, read directly from the channel layer."""
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(group_name(alice.pk), channel)

    async def take(count: int) -> list[dict]:
        # One event loop for all of them: channels-redis keeps delivery
        # bookkeeping per loop, and a fresh loop per receive re-delivers.
        return [await layer.receive(channel) for _ in range(count)]

    with present(alice.pk):
        yield lambda count=1: async_to_sync(take)(count)
    async_to_sync(layer.group_discard)(group_name(alice.pk), channel)


@pytest.mark.django_db
def test_it_pushes_after_commit_with_seq_version_and_request_id(
    alice, alices_group, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        task = TaskChanges(request_id="req-42").create(alice)

    (pushed,) = alices_group()
    event = OutboxEvent.objects.get(user_id=alice.pk, type="task.created")
    assert pushed["type"] == "sync.push"
    assert pushed["message"] == {
        "type": "task.created",
        "channel": "tasks",
        "id": str(event.id),
        "seq": event.seq,
        "prev_seq": None,
        "time": event.time.isoformat().replace("+00:00", "Z"),
        "version": 1,
        "request_id": "req-42",
        "data": event.data,
    }
    assert pushed["message"]["data"]["task_id"] == str(task.id)


@pytest.mark.django_db
def test_it_pushes_in_app_notifications_and_skips_unpushed_types(
    alice, alices_group, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        with request_context({"request_id": "r"}):
            record_event(type="user.logout", user_id=alice.pk, data={"user_id": alice.pk})
            record_event(type="notification.created", user_id=alice.pk, data=notification_data(alice))

    message = alices_group()[0]["message"]  # the logout was not pushed: this is the first message
    assert message["type"] == "notification.created"
    assert message["version"] is None
    assert message["prev_seq"] is None


@pytest.mark.django_db
def test_it_never_fails_the_dispatch_when_redis_is_down(alice, settings, django_capture_on_commit_callbacks):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]},
        }
    }
    # alice counts as online, so the push does try the broken layer
    with present(alice.pk), django_capture_on_commit_callbacks(execute=True):
        TaskChanges().create(alice)

    event = OutboxEvent.objects.get(user_id=alice.pk, type="task.created")
    assert event.dispatched_at is not None
    assert event.dispatch_error == ""


@pytest.mark.django_db(transaction=True)
def test_it_chains_prev_seq_per_channel(alice, alices_group):
    # given a task change, a notification, then another task change (three commits)
    changes = TaskChanges()
    task = changes.create(alice)
    with transaction.atomic():
        record_event(type="notification.created", user_id=alice.pk, data=notification_data(alice))
    changes.update(alice, task, "again")

    created, notified, updated = (pushed["message"] for pushed in alices_group(3))

    # then a client that only follows tasks sees no gap between the two task events
    assert notified["channel"] == "notifications"
    assert notified["prev_seq"] is None
    assert updated["seq"] == notified["seq"] + 1
    assert updated["prev_seq"] == created["seq"]
