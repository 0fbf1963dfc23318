from __future__ import annotations

import pytest
from django.db import transaction

from audit_app.models import AuditLog
from audit_app.services import audit_entry_record
from tasks_app.models import Task
from todo_project.events.dispatcher import dispatch_event
from todo_project.events.registry import handlers_for

from .conftest import BROWSER

pytestmark = pytest.mark.django_db


def test_it_is_registered_for_every_event_type():
    from audit_app.handlers import write_audit_entry

    assert write_audit_entry in handlers_for("task.created")
    assert write_audit_entry in handlers_for("some.future.event")


@pytest.mark.parametrize(
    "event_type", ["task.created", "task.updated", "task.completed", "task.deleted", "task.reordered"]
)
def test_it_writes_one_entry_per_task_event(emit_task, alice, event_type):
    task_id = str(Task.objects.create(owner=alice, title="Pay rent").id)

    event = emit_task(event_type, alice, task_id)

    entry = AuditLog.objects.get()
    assert entry.event_id == event.id
    assert entry.action == event_type
    assert (entry.actor_type, entry.actor_id, entry.actor_email) == ("user", alice.pk, "alice@example.com")
    assert entry.resource_type == "task"
    assert entry.resource_id == ("" if event_type == "task.reordered" else task_id)
    assert entry.timestamp == event.time
    assert entry.metadata["client_ip"] == BROWSER["client_ip"]
    assert entry.metadata["user_agent"] == BROWSER["user_agent"]
    assert entry.metadata["request_id"] == BROWSER["request_id"]
    assert "task" not in entry.metadata.get("details", {})  # the snapshot is not copied


def test_it_keeps_previous_and_new_values_of_an_update(emit_task, alice):
    changes = {
        "priority": {"old": "medium", "new": "high"},
        "tags": {"old": ["home"], "new": ["home", "bills"]},
    }

    emit_task("task.updated", alice, changes=changes)

    metadata = AuditLog.objects.get().metadata
    assert metadata["previous"] == {"priority": "medium", "tags": ["home"]}
    assert metadata["new"] == {"priority": "high", "tags": ["home", "bills"]}
    assert metadata["details"]["version"] == 2


def test_it_records_completion_as_a_status_change(emit_task, alice):
    event = emit_task("task.completed", alice)

    metadata = AuditLog.objects.get().metadata
    assert metadata["previous"] == {"is_completed": False}
    assert metadata["new"] == {"is_completed": True, "completed_at": event.data["completed_at"]}


def test_it_marks_events_without_a_request_as_done_by_the_system(emit_task, alice):
    emit_task("task.created", alice, context={})

    entry = AuditLog.objects.get()
    assert entry.actor_type == "system"
    assert entry.actor_id == alice.pk  # still in alice's feed: it is her data
    assert "client_ip" not in entry.metadata


def test_it_is_idempotent_by_event_id(emit_task, alice):
    event = emit_task("task.created", alice)

    # given the entry exists, when the same event is handled again (a retried
    # task, the sweep racing a late enqueue), then nothing new is written
    with transaction.atomic():
        created_again = audit_entry_record(event=event)
    type(event).objects.filter(id=event.id).update(dispatched_at=None)
    dispatch_event(event_id=str(event.id))

    assert created_again is False
    assert AuditLog.objects.filter(event_id=event.id).count() == 1


def test_it_audits_each_auth_action_through_the_api(anon_client, alice, django_capture_on_commit_callbacks):
    headers = {"HTTP_USER_AGENT": "curl/8.5", "REMOTE_ADDR": "198.51.100.4"}
    password = "correct-Horse-battery-9"

    with django_capture_on_commit_callbacks(execute=True):
        anon_client.post(
            "/api/auth/register",
            {"username": "dave", "email": "dave@example.com", "password": password},
            format="json",
            **headers,
        )
        tokens = anon_client.post(
            "/api/auth/login", {"username": "dave", "password": password}, format="json", **headers
        ).json()
        anon_client.post("/api/auth/logout", {"refresh": tokens["refresh"]}, format="json", **headers)

    entries = list(AuditLog.objects.order_by("timestamp", "id"))
    assert [e.action for e in entries] == [
        "user.registered",
        "user.email_verification_requested",
        "user.login",
        "user.logout",
    ]
    for entry in entries:
        assert (entry.actor_type, entry.actor_email) == ("user", "dave@example.com")
        assert entry.resource_type == "user"
        assert entry.resource_id == str(entry.actor_id)
        assert entry.metadata["client_ip"] == "198.51.100.4"
        assert entry.metadata["user_agent"] == "curl/8.5"
        assert entry.metadata["request_id"]


def test_it_audits_a_failed_login_with_ip_and_user_agent(
    anon_client, alice, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = anon_client.post(
            "/api/auth/login",
            {"username": "alice", "password": "guess"},
            format="json",
            HTTP_USER_AGENT="BruteBot/1.0",
            REMOTE_ADDR="192.0.2.66",
            HTTP_X_REQUEST_ID="trace-42",
        )

    assert response.status_code == 401
    entry = AuditLog.objects.get()
    assert entry.action == "user.login_failed"
    assert entry.actor_type == "anonymous"
    assert entry.actor_id == alice.pk  # the targeted account sees the attempt in its feed
    assert entry.metadata["client_ip"] == "192.0.2.66"
    assert entry.metadata["user_agent"] == "BruteBot/1.0"
    assert entry.metadata["request_id"] == "trace-42"
    assert entry.metadata["details"] == {"username": "alice", "reason": "invalid_password", "via": "api"}


def test_it_audits_a_failed_login_for_an_unknown_user_without_an_actor(
    anon_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        anon_client.post("/api/auth/login", {"username": "ghost", "password": "x"}, format="json")

    entry = AuditLog.objects.get()
    assert (entry.actor_type, entry.actor_id, entry.actor_email) == ("anonymous", None, "")
    assert (entry.resource_type, entry.resource_id) == ("user", "")
    assert entry.metadata["details"]["reason"] == "unknown_user"
