"""The operator's view: the outbox admin and /metrics."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone

from todo_project.events import registry
from todo_project.events.models import OutboxEvent
from todo_project.events.services import record_event


def _logout(user) -> OutboxEvent:
    with transaction.atomic():
        return record_event(type="user.logout", user_id=user.id, data={"user_id": user.id})


@pytest.mark.django_db
def test_the_admin_lists_filters_and_finds_events_by_id(staff_client, alice):
    # given
    failed, fine = _logout(alice), _logout(alice)
    OutboxEvent.objects.filter(id=failed.id).update(dispatch_failed_at=timezone.now())

    # when / then
    page = staff_client.get("/admin/events/outboxevent/", {"status": "dispatch_failed"})
    assert page.status_code == 200
    assert str(failed.id) in page.content.decode()
    assert str(fine.id) not in page.content.decode()
    found = staff_client.get("/admin/events/outboxevent/", {"q": str(fine.id)})
    assert str(fine.id) in found.content.decode()
    assert str(failed.id) not in found.content.decode()
    assert staff_client.get("/admin/events/outboxevent/", {"type__exact": "user.logout"}).status_code == 200
    assert staff_client.get("/admin/events/outboxevent/", {"q": "tasks/"}).status_code == 200


@pytest.mark.django_db
def test_the_admin_action_redispatches_failed_events(
    staff_client, alice, monkeypatch, django_capture_on_commit_callbacks
):
    # given
    event = _logout(alice)
    OutboxEvent.objects.filter(id=event.id).update(dispatch_failed_at=timezone.now(), dispatch_attempts=5)
    seen: list[str] = []
    monkeypatch.setattr(registry, "_handlers", {"user.logout": [lambda e: seen.append(str(e.id))]})

    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            "/admin/events/outboxevent/",
            {"action": "redispatch_failed", "_selected_action": [str(event.id)]},
            follow=True,
        )

    # then
    assert "1 failed event(s) queued" in response.content.decode()
    assert seen == [str(event.id)]
    event.refresh_from_db()
    assert event.dispatched_at is not None


@pytest.mark.django_db
def test_metrics_expose_the_backlog_computed_from_the_database(client, alice, settings):
    # given: two unpublished, undispatched events, the older 90 s old, one dead letter
    settings.METRICS_TOKEN = None
    settings.METRICS_PORT = 9100
    now = timezone.now()
    with time_machine.travel(now - timedelta(seconds=90)):
        _logout(alice)
    _logout(alice)
    dead = _logout(alice)
    OutboxEvent.objects.filter(id=dead.id).update(published_at=now, dead_lettered_at=now, dispatched_at=now)

    # when
    with time_machine.travel(now, tick=False):
        response = client.get("/metrics", SERVER_PORT="9100")  # the metrics listener

    # then
    assert response.status_code == 200
    text = response.content.decode()
    assert "taskbeat_outbox_unpublished_events 2.0" in text
    assert "taskbeat_outbox_undispatched_events 2.0" in text
    assert "taskbeat_outbox_dead_lettered_events 1.0" in text
    assert "taskbeat_outbox_dispatch_failed_events 0.0" in text
    age = next(
        line for line in text.splitlines() if line.startswith("taskbeat_outbox_oldest_unpublished_age")
    )
    assert 89.0 <= float(age.split()[1]) <= 91.0


@pytest.mark.django_db
def test_metrics_require_the_token_when_one_is_set(client, settings):
    settings.METRICS_TOKEN = "s3cret-scrape-token"

    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-scrape-token").status_code == 200
