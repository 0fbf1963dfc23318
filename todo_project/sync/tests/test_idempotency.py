"""Idempotency-Key on mutating API calls."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
import time_machine
from django.db import connections
from django.utils import timezone

from tasks_app.models import Task
from todo_project.sync.models import IdempotencyKey
from todo_project.sync.services import idempotency_keys_purge
from todo_project.sync.tests.urls import HeldOpen


def _post(client, path: str, body: dict, key: str):
    return client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


@pytest.mark.django_db
class TestIdempotencyKey:
    def test_it_applies_a_retried_create_once_and_replays_the_first_response(self, alice, alice_client):
        key = str(uuid.uuid4())

        first = _post(alice_client, "/api/tasks", {"title": "Offline edit"}, key)
        retry = _post(alice_client, "/api/tasks", {"title": "Offline edit"}, key)

        assert first.status_code == 201
        assert retry.status_code == 201
        assert retry.json() == first.json()
        assert retry["Idempotent-Replayed"] == "true"
        assert not first.has_header("Idempotent-Replayed")
        assert Task.objects.filter(owner=alice).count() == 1

    def test_it_refuses_the_same_key_for_a_different_request(self, alice, alice_client):
        key = str(uuid.uuid4())
        _post(alice_client, "/api/tasks", {"title": "One"}, key)

        other = _post(alice_client, "/api/tasks", {"title": "Two"}, key)

        assert other.status_code == 422
        assert other.json()["error"]["code"] == "idempotency_key_reused"
        assert "Idempotency-Key" in other.json()["error"]["fields"]
        assert list(Task.objects.filter(owner=alice).values_list("title", flat=True)) == ["One"]

    def test_it_names_the_header_when_the_key_is_not_a_uuid(self, alice, alice_client):
        response = _post(alice_client, "/api/tasks", {"title": "One"}, "not-a-uuid")
        assert response.status_code == 400
        assert "Idempotency-Key" in response.json()["error"]["fields"]
        assert not Task.objects.exists()

    def test_it_keeps_keys_per_user(self, alice, bob, alice_client, bob_client):
        key = str(uuid.uuid4())
        _post(alice_client, "/api/tasks", {"title": "Same"}, key)
        response = _post(bob_client, "/api/tasks", {"title": "Same"}, key)
        assert response.status_code == 201
        assert not response.has_header("Idempotent-Replayed")
        assert Task.objects.filter(owner=bob).count() == 1

    def test_it_replays_a_validation_error_too(self, alice, alice_client):
        key = str(uuid.uuid4())
        first = _post(alice_client, "/api/tasks", {"title": ""}, key)
        retry = _post(alice_client, "/api/tasks", {"title": ""}, key)
        assert first.status_code == retry.status_code == 400
        assert retry.json() == first.json()

    def test_it_ignores_requests_without_a_key(self, alice, alice_client):
        alice_client.post("/api/tasks", {"title": "A"}, format="json")
        alice_client.post("/api/tasks", {"title": "A"}, format="json")
        assert Task.objects.filter(owner=alice).count() == 2
        assert not IdempotencyKey.objects.exists()

    def test_it_ignores_the_key_on_reads(self, alice_client):
        alice_client.get("/api/tasks", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
        assert not IdempotencyKey.objects.exists()

    def test_it_does_not_claim_keys_for_anonymous_callers(self, anon_client):
        response = _post(anon_client, "/api/tasks", {"title": "x"}, str(uuid.uuid4()))
        assert response.status_code == 401
        assert not IdempotencyKey.objects.exists()

    @pytest.mark.urls("todo_project.sync.tests.urls")
    def test_it_lets_a_retry_apply_after_a_server_error(self, alice, alice_client):
        key = str(uuid.uuid4())
        assert _post(alice_client, "/api/test/failing", {}, key).status_code == 503
        assert not IdempotencyKey.objects.filter(key=key).exists()

    def test_it_takes_over_a_claim_abandoned_by_a_dead_request(self, alice, alice_client, settings):
        key = str(uuid.uuid4())
        _post(alice_client, "/api/tasks", {"title": "A"}, key)
        # as if the process had died before storing the response
        IdempotencyKey.objects.filter(key=key).update(status="processing", response_status=None)
        assert _post(alice_client, "/api/tasks", {"title": "A"}, key).status_code == 409

        with time_machine.travel(timezone.now() + timedelta(seconds=settings.IDEMPOTENCY_LOCK_SECONDS + 1)):
            response = _post(alice_client, "/api/tasks", {"title": "A"}, key)
        assert response.status_code == 201
        assert IdempotencyKey.objects.get(key=key).status == "completed"

    def test_it_purges_keys_after_their_ttl(self, alice, alice_client, settings):
        old, fresh = str(uuid.uuid4()), str(uuid.uuid4())
        _post(alice_client, "/api/tasks", {"title": "old"}, old)
        _post(alice_client, "/api/tasks", {"title": "fresh"}, fresh)
        IdempotencyKey.objects.filter(key=old).update(
            created_at=timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS, minutes=1)
        )

        assert idempotency_keys_purge() == 1
        assert list(IdempotencyKey.objects.values_list("key", flat=True)) == [uuid.UUID(fresh)]


@pytest.mark.django_db(transaction=True)
@pytest.mark.urls("todo_project.sync.tests.urls")
def test_it_never_applies_two_concurrent_duplicates(alice, alice_client):
    # given a request with a key that is still inside its view
    key = str(uuid.uuid4())
    HeldOpen.entered.clear()
    HeldOpen.release.clear()
    results: dict[str, int] = {}

    def first_request() -> None:
        try:
            results["first"] = _post(alice_client, "/api/test/held-tasks", {"title": "once"}, key).status_code
        finally:
            connections.close_all()  # this thread's connection would block dropping the test DB

    thread = threading.Thread(target=first_request)
    thread.start()
    try:
        assert HeldOpen.entered.wait(timeout=30)

        # when the same request arrives meanwhile
        duplicate = _post(alice_client, "/api/test/held-tasks", {"title": "once"}, key)
    finally:
        HeldOpen.release.set()
        thread.join(timeout=30)

    # then it is refused as in progress, and only one task exists
    assert duplicate.status_code == 409
    assert duplicate.json()["error"]["code"] == "idempotency_key_in_progress"
    assert duplicate["Retry-After"] == "1"
    assert results["first"] == 201
    assert Task.objects.filter(owner=alice).count() == 1
    # and a later retry gets the first answer
    assert _post(alice_client, "/api/test/held-tasks", {"title": "once"}, key).status_code == 201
    assert Task.objects.filter(owner=alice).count() == 1


@pytest.mark.django_db
def test_a_throttled_write_is_not_replayed_so_its_retry_applies(alice, alice_client, monkeypatch):
    from django.core.cache import cache
    from rest_framework.throttling import UserRateThrottle

    # given a user over the rate limit
    cache.clear()
    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {"user": "1/min", "anon": "1/min"})
    _post(alice_client, "/api/tasks", {"title": "First"}, str(uuid.uuid4()))
    key = str(uuid.uuid4())
    throttled = _post(alice_client, "/api/tasks", {"title": "Queued offline"}, key)

    # when the limit has passed and the client retries with the same key
    cache.clear()
    retry = _post(alice_client, "/api/tasks", {"title": "Queued offline"}, key)

    # then the retry is applied, not a replay of the 429
    assert throttled.status_code == 429
    assert retry.status_code == 201
    assert not retry.has_header("Idempotent-Replayed")
    assert Task.objects.filter(owner=alice, title="Queued offline").count() == 1
    cache.clear()
