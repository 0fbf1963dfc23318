"""JWT authentication without a user query per request (todo_project/accounts/authentication.py)."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient, APIRequestFactory
from rest_framework_simplejwt.tokens import AccessToken

from tasks_app.models import Task
from todo_project.accounts.authentication import JWTAuthentication, JWTUser, forget_user_state

pytestmark = pytest.mark.django_db

URL = "/api/tasks"


@pytest.fixture(autouse=True)
def _forget_checks():
    forget_user_state()
    yield
    forget_user_state()


def _queries(client, url: str = URL) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return [query["sql"] for query in captured]


def _user_queries(sql: list[str]) -> list[str]:
    return [query for query in sql if 'FROM "auth_user"' in query]


def test_a_request_reads_the_account_once_then_trusts_the_token(alice_client, settings):
    settings.JWT_USER_CHECK_SECONDS = 30

    first = _queries(alice_client)
    second = _queries(alice_client)

    # the first request checks that the account exists and is active ...
    assert len(_user_queries(first)) == 1
    assert '"auth_user"."is_active"' in _user_queries(first)[0]
    # ... the next ones within JWT_USER_CHECK_SECONDS only list the tasks
    assert _user_queries(second) == []
    assert len(second) == len(first) - 1


def test_with_zero_seconds_every_request_checks_the_account(alice_client, settings):
    settings.JWT_USER_CHECK_SECONDS = 0

    assert len(_user_queries(_queries(alice_client))) == 1
    assert len(_user_queries(_queries(alice_client))) == 1


def test_a_deactivated_user_is_refused_at_once_in_the_process_that_saved_it(alice, alice_client):
    assert alice_client.get(URL).status_code == 200

    alice.is_active = False
    alice.save(update_fields=["is_active"])
    response = alice_client.get(URL)

    assert response.status_code == 401
    assert response.json()["error"] == {"code": "authentication_failed", "message": "User is inactive"}


def test_a_deleted_user_is_refused(alice, alice_client):
    assert alice_client.get(URL).status_code == 200

    alice.delete()
    response = alice_client.get(URL)

    assert response.status_code == 401
    assert response.json()["error"] == {"code": "authentication_failed", "message": "User not found"}


def test_a_user_deactivated_elsewhere_is_refused_within_the_check_interval(alice, alice_client, settings):
    # given a checked account, deactivated by another process (no signal reaches this one)
    settings.JWT_USER_CHECK_SECONDS = 30
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        assert alice_client.get(URL).status_code == 200
    get_user_model().objects.filter(pk=alice.pk).update(is_active=False)

    # then the token still works until the check is due, and not after
    with time_machine.travel(start + timedelta(seconds=29), tick=False):
        assert alice_client.get(URL).status_code == 200
    with time_machine.travel(start + timedelta(seconds=30), tick=False):
        assert alice_client.get(URL).status_code == 401


def test_the_request_user_carries_the_id_without_a_query_and_loads_the_row_when_used(alice):
    request = APIRequestFactory().get(URL, HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(alice)}")
    JWTAuthentication().authenticate(request)  # the account check, now cached

    with CaptureQueriesContext(connection) as captured:
        user, _ = JWTAuthentication().authenticate(request)
        assert isinstance(user, JWTUser)
        assert (user.pk, user.id, user.is_authenticated, user.is_anonymous, bool(user)) == (
            alice.pk,
            alice.pk,
            True,
            False,
            True,
        )
    assert len(captured) == 0

    with CaptureQueriesContext(connection) as captured:
        assert user.username == "alice"
        assert user.profile.timezone == "Europe/Berlin"  # loaded with the row
        assert isinstance(user, get_user_model())
        assert user == alice
    assert len(captured) == 1


def test_writes_that_need_the_user_row_still_work(alice, alice_client):
    response = alice_client.post(URL, {"title": "Buy milk", "due_date": "2026-03-01"}, format="json")

    assert response.status_code == 201, response.content
    assert Task.objects.get(pk=response.json()["id"]).owner == alice
    assert alice_client.patch("/api/me", {"first_name": "Al"}, format="json").json()["first_name"] == "Al"


def test_a_user_deactivated_between_the_check_and_the_row_load_is_refused(alice, alice_client):
    assert alice_client.get(URL).status_code == 200  # checked and cached
    get_user_model().objects.filter(pk=alice.pk).update(is_active=False)  # no signal

    # /api/me needs the row: loading it re-checks the account
    response = alice_client.get("/api/me")

    assert response.status_code == 401
    assert response.json()["error"] == {"code": "authentication_failed", "message": "User is inactive"}


# --- gone accounts cannot write (issue 11, finding 8) --------------------------------------


def test_a_user_deactivated_elsewhere_cannot_write_even_while_the_check_is_cached(alice, alice_client):
    # given a warm cache (a read) and a deactivation made by another process
    assert alice_client.get(URL).status_code == 200
    get_user_model().objects.filter(pk=alice.pk).update(is_active=False)  # no signal here

    # then a write is refused at once
    response = alice_client.post(URL, {"title": "Sneak"}, format="json")
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "User is inactive"
    assert not Task.objects.filter(title="Sneak").exists()


def test_a_user_deleted_elsewhere_gets_a_401_on_write_not_a_500(alice, alice_client):
    from todo_project.accounts import authentication

    assert alice_client.get(URL).status_code == 200
    user_id = alice.pk
    alice.delete()
    # another process still holds the check it made before the deletion
    authentication._checked[user_id] = (True, time.time())

    for method, url, body in [
        ("post", URL, {"title": "Ghost"}),
        ("patch", "/api/me", {"first_name": "Ghost"}),
        ("post", "/api/notifications/read-all", None),
    ]:
        response = getattr(alice_client, method)(url, body, format="json")
        assert response.status_code == 401, (url, response.content)
        assert response.json()["error"]["message"] == "User not found"


def test_a_read_that_needs_the_time_zone_does_not_swallow_a_deactivation(alice, alice_client):
    from todo_project.accounts import authentication

    assert alice_client.get(URL).status_code == 200
    get_user_model().objects.filter(pk=alice.pk).update(is_active=False)
    authentication._checked[alice.pk] = (True, time.time())

    # a date-only filter reads the user's time zone, which loads the row
    response = alice_client.get(URL, {"due_after": "2026-03-01"})
    assert response.status_code == 401


def test_an_access_token_from_before_a_password_change_can_no_longer_write(alice):
    from todo_project.accounts import services

    pair = services.user_login(identifier="alice", password="alice-Secret-123")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {pair['access']}")
    assert client.post(URL, {"title": "Mine"}, format="json").status_code == 201

    alice.set_password("a-Brand-new-passphrase-7")
    alice.save()

    response = client.post(URL, {"title": "Thief"}, format="json")
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "The password changed since this token was issued."
    # reading goes on until the token expires (JWT_ACCESS_TTL_SECONDS)
    assert client.get(URL).status_code == 200


def _write_queries(client, **headers) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.post(URL, {"title": "Buy milk"}, format="json", **headers)
    assert response.status_code == 201, response.content
    return [query["sql"] for query in captured]


def test_a_write_reads_the_user_row_once_for_the_check_and_the_service(alice_client):
    # the write check reads the whole row (with its profile), and the task
    # service's owner is that same row: no second read
    user_reads = _user_queries(_write_queries(alice_client))
    assert len(user_reads) == 1
    assert '"auth_user"."password"' in user_reads[0]
    assert "JOIN" in user_reads[0]  # the profile (time zone) comes along


def test_a_keyed_write_authenticates_once_for_the_middleware_and_the_view(alice_client):
    import uuid

    sql = _write_queries(alice_client, HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
    assert len(_user_queries(sql)) == 1


def test_a_write_still_refuses_a_token_issued_before_the_password_changed(alice):
    from rest_framework_simplejwt.tokens import RefreshToken

    from todo_project.accounts.authentication import PASSWORD_CLAIM
    from todo_project.accounts.tokens import password_fingerprint

    token = RefreshToken.for_user(alice).access_token
    token[PASSWORD_CLAIM] = password_fingerprint(alice.password)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    alice.set_password("a whole new password 123")
    alice.save()
    response = client.post(URL, {"title": "Buy milk"}, format="json")
    assert response.status_code == 401
    assert not Task.objects.filter(owner=alice, title="Buy milk").exists()


def test_a_write_by_a_deactivated_account_is_refused_even_right_after_a_read(alice, alice_client):
    assert alice_client.get(URL).status_code == 200  # the read caches "active"
    type(alice).objects.filter(pk=alice.pk).update(is_active=False)  # no signal: the cache stays
    response = alice_client.post(URL, {"title": "Buy milk"}, format="json")
    assert response.status_code == 401
