"""DELETE /api/auth/account: the account and all it owns go, in one transaction; nobody else's does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import models

from audit_app.models import AuditLog
from notifications_app.models import PushSubscription
from todo_project.events.dispatcher import dispatch_ready
from todo_project.events.models import OutboxEvent
from todo_project.testing import events_of

pytestmark = pytest.mark.django_db

URL = "/api/auth/account"


def password_of(user) -> str:
    return f"{user.username}-Secret-123"  # the personas' (conftest.py)


def _owned(user_id: int) -> dict[str, int]:
    """Rows of every model pointing at the user (by foreign key, or by plain id where that is the design)."""
    counts: dict[str, int] = {}
    for model in apps.get_models():
        for field in model._meta.get_fields():
            if (
                isinstance(field, models.ForeignKey | models.OneToOneField)
                and field.related_model is not None
                and field.related_model._meta.label == settings.AUTH_USER_MODEL
            ):
                n = model._default_manager.filter(**{field.name: user_id}).count()
                if n:
                    counts[f"{model._meta.label}.{field.name}"] = n
    counts["audit_app.AuditLog.actor_id"] = AuditLog.objects.filter(actor_id=user_id).count()
    return {k: v for k, v in counts.items() if v}


def _fill(user, client) -> None:
    """A bit of everything a user can own, through the API."""
    project = client.post("/api/projects", {"name": f"Home of {user.username}"}, format="json").json()
    due = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    parent = client.post(
        "/api/tasks", {"title": "Paint the fence", "project_id": project["id"], "due_at": due}, format="json"
    ).json()
    client.post("/api/tasks", {"title": "Buy paint", "parent_id": parent["id"]}, format="json")
    assert (
        client.post(f"/api/tasks/{parent['id']}/reminders", {"offset_minutes": 30}, format="json").status_code
        == 201
    )
    assert (
        client.post(
            "/api/tasks/quick", {"text": "Water the plants every day #garden"}, format="json"
        ).status_code
        == 201
    )
    assert (
        client.post(
            "/api/filters", {"name": "Soon", "params": {"status": "active"}}, format="json"
        ).status_code
        == 201
    )
    assert client.post("/api/calendar/feed").status_code == 201
    assert client.post("/api/chat", {"message": "what is due today?"}, format="json").status_code == 200
    PushSubscription.objects.create(
        user=user, endpoint=f"https://push.example.com/{user.username}", p256dh="p", auth="a"
    )
    upload = SimpleUploadedFile("Home.csv", b"TYPE,CONTENT,PRIORITY,INDENT,DATE\ntask,Hi,1,1,\n")
    queued = client.post("/api/import/todoist?async=true", {"file": upload, "project_name": "Home"})
    assert queued.status_code == 202  # an import job (with its stored upload)
    dispatch_ready()  # audit entries, generated occurrences, notifications


def test_deleting_the_account_removes_everything_it_owns_and_nothing_else(
    alice, bob, alice_client, bob_client
):
    _fill(alice, alice_client)
    _fill(bob, bob_client)
    bobs_before = _owned(bob.id)
    alices = _owned(alice.id)
    assert {"tasks_app.Task.owner", "tasks_app.TaskSeries.owner", "reminders_app.Reminder.owner"} <= set(
        alices
    )
    assert {"assistant_app.ChatMessage.owner", "notifications_app.PushSubscription.user"} <= set(alices)
    assert "tasks_app.ImportJob.owner" in alices

    response = alice_client.delete(URL, {"password": password_of(alice)}, format="json")

    assert response.status_code == 204, response.content
    assert not get_user_model().objects.filter(id=alice.id).exists()
    assert _owned(alice.id) == {}
    assert _owned(bob.id) == bobs_before
    [event] = events_of("user.deleted")
    assert event["user_id"] == alice.id
    assert event["deleted"]["tasks"] == alices["tasks_app.Task.owner"]
    assert event["deleted"]["audit_entries"] > 0
    assert event["refresh_tokens_revoked"] >= 0


def test_what_is_left_of_a_deleted_account_is_the_record_of_its_deletion(alice, alice_client, settings):
    settings.KAFKA_BOOTSTRAP_SERVERS = ""
    _fill(alice, alice_client)

    alice_client.delete(URL, {"password": password_of(alice)}, format="json")
    dispatch_ready()

    assert list(AuditLog.objects.filter(actor_id=alice.id).values_list("action", flat=True)) == [
        "user.deleted"
    ]
    # Without Kafka the outbox had done its job for every earlier event.
    assert list(OutboxEvent.objects.filter(user_id=alice.id).values_list("type", flat=True)) == [
        "user.deleted"
    ]


def test_events_kafka_has_not_seen_are_kept_for_the_bridge_and_end_with_the_deletion(
    alice, alice_client, settings
):
    settings.KAFKA_BOOTSTRAP_SERVERS = "kafka.invalid:9092"
    alice_client.post("/api/tasks", {"title": "Secret plan"}, format="json")
    dispatch_ready()
    OutboxEvent.objects.filter(user_id=alice.id, type="user.registered").update(
        published_at=datetime.now(UTC)
    )

    alice_client.delete(URL, {"password": password_of(alice)}, format="json")

    kept = list(OutboxEvent.objects.filter(user_id=alice.id).order_by("seq"))
    assert "user.registered" not in [e.type for e in kept]  # published: gone
    assert [e.type for e in kept][-1] == "user.deleted"
    assert "task.created" in [e.type for e in kept]  # unpublished: still to be relayed, in order
    assert all(e.dispatched_at is not None for e in kept[:-1])  # no handler runs for them any more
    seqs = [e.seq for e in kept]
    assert seqs == sorted(seqs)


def test_a_wrong_or_missing_password_deletes_nothing(alice, alice_client):
    wrong = alice_client.delete(URL, {"password": "not-it"}, format="json")
    missing = alice_client.delete(URL, {}, format="json")

    for response in (wrong, missing):
        assert response.status_code == 400
        assert "password" in response.json()["error"]["fields"]
    assert get_user_model().objects.filter(id=alice.id).exists()
    assert events_of("user.deleted") == []


def test_deleting_needs_authentication(anon_client):
    assert anon_client.delete(URL, {"password": "x"}, format="json").status_code == 401


def test_the_tokens_of_a_deleted_account_stop_working(alice, alice_client, anon_client):
    login = anon_client.post(
        "/api/auth/login", {"username": "alice", "password": password_of(alice)}, format="json"
    ).json()

    assert alice_client.delete(URL, {"password": password_of(alice)}, format="json").status_code == 204

    assert (
        anon_client.post("/api/auth/refresh", {"refresh": login["refresh"]}, format="json").status_code == 401
    )
    anon_client.credentials(HTTP_AUTHORIZATION=f"Bearer {login['access']}")
    assert anon_client.get("/api/tasks").status_code == 401
    assert (
        anon_client.post(
            "/api/auth/login", {"username": "alice", "password": password_of(alice)}, format="json"
        ).status_code
        == 401
    )
