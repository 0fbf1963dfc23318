"""Personal access tokens: create (shown once), list, revoke, hashed at rest, scoped, audited."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from assistant_app.models import PersonalAccessToken
from assistant_app.services import token_hash
from tasks_app.services import task_create
from todo_project.events.models import OutboxEvent

pytestmark = pytest.mark.django_db


def _create(client, **body):
    response = client.post("/api/tokens", {"name": "laptop", **body}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def _bearer(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def test_it_shows_the_token_once_and_stores_only_its_hash(alice, alice_client):
    created = _create(alice_client, scope="write")
    raw = created["token"]
    assert raw.startswith("tbp_")
    row = PersonalAccessToken.objects.get(pk=created["id"])
    assert row.token_hash == token_hash(raw)
    assert raw not in str(row.__dict__)
    listed = alice_client.get("/api/tokens").json()
    assert [t["id"] for t in listed] == [created["id"]]
    assert "token" not in listed[0]
    assert listed[0]["prefix"] == raw[:12]
    event = OutboxEvent.objects.get(type="user.token_created")
    assert raw not in str(event.data)


def test_a_token_authenticates_the_rest_api_as_its_owner(alice, bob, alice_client):
    task_create(owner=alice, title="Mine")
    task_create(owner=bob, title="Bob's")
    raw = _create(alice_client)["token"]
    response = _bearer(raw).get("/api/tasks")
    assert response.status_code == 200
    assert [t["title"] for t in response.json()["results"]] == ["Mine"]


def test_a_read_token_cannot_write(alice, alice_client):
    raw = _create(alice_client, scope="read")["token"]
    response = _bearer(raw).post("/api/tasks", {"title": "x"}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_a_write_token_can_write(alice, alice_client):
    raw = _create(alice_client, scope="write")["token"]
    assert _bearer(raw).post("/api/tasks", {"title": "x"}, format="json").status_code == 201


def test_a_revoked_token_is_refused_and_revoking_is_audited(alice, alice_client):
    created = _create(alice_client)
    response = alice_client.delete(f"/api/tokens/{created['id']}")
    assert response.status_code == 200
    assert response.json()["revoked_at"] is not None
    refused = _bearer(created["token"]).get("/api/tasks")
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "authentication_failed"
    assert alice_client.delete(f"/api/tokens/{created['id']}").status_code == 200  # twice is harmless
    assert OutboxEvent.objects.filter(type="user.token_revoked").count() == 1


def test_changing_the_password_revokes_every_older_token(alice, alice_client):
    raw = _create(alice_client)["token"]
    assert _bearer(raw).get("/api/tasks").status_code == 200
    alice.set_password("a-New-Secret-456")
    alice.save()
    assert _bearer(raw).get("/api/tasks").status_code == 401


def test_another_users_token_is_a_404_to_revoke(alice, bob, alice_client, bob_client):
    created = _create(alice_client)
    assert bob_client.delete(f"/api/tokens/{created['id']}").status_code == 404
    assert bob_client.delete("/api/tokens/not-a-uuid").status_code == 404
    assert bob_client.get("/api/tokens").json() == []


@pytest.mark.parametrize(
    ("body", "field"),
    [({"name": ""}, "name"), ({"scope": "admin"}, "scope"), ({"expires_in_days": 0}, "expires_in_days")],
)
def test_bad_token_input_is_a_400(alice, alice_client, body, field):
    response = alice_client.post("/api/tokens", {"name": "x", **body}, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_a_token_cannot_manage_tokens(alice, alice_client):
    raw = _create(alice_client, scope="write")["token"]
    response = _bearer(raw).post("/api/tokens", {"name": "more"}, format="json")
    assert response.status_code == 403


def test_an_unknown_token_is_a_401(anon_client):
    assert _bearer("tbp_nope").get("/api/tasks").status_code == 401


def test_idempotency_key_covers_requests_made_with_a_token(alice, alice_client):
    """A retried write with the same key applies once, whichever credential carries it."""
    import uuid

    from tasks_app.models import Task

    client = _bearer(_create(alice_client, scope="write")["token"])
    key = str(uuid.uuid4())
    first = client.post("/api/tasks", {"title": "Offline edit"}, format="json", HTTP_IDEMPOTENCY_KEY=key)
    retry = client.post("/api/tasks", {"title": "Offline edit"}, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert first.status_code == 201
    assert retry.status_code == 201
    assert retry["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()
    assert Task.objects.filter(owner=alice, title="Offline edit").count() == 1
    # The key is the user's, not the credential's: the same key with a JWT is the same request.
    via_login = alice_client.post(
        "/api/tasks", {"title": "Offline edit"}, format="json", HTTP_IDEMPOTENCY_KEY=key
    )
    assert via_login["Idempotent-Replayed"] == "true"


def test_a_read_only_token_with_a_key_is_refused_and_claims_nothing(alice, alice_client):
    import uuid

    from todo_project.sync.models import IdempotencyKey

    client = _bearer(_create(alice_client, scope="read")["token"])
    key = str(uuid.uuid4())
    response = client.post("/api/tasks", {"title": "Nope"}, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == 403
    assert not IdempotencyKey.objects.filter(key=key).exists()
