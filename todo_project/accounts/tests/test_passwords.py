"""Password change and reset, and what they revoke (issue 11, finding 2)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.test import APIClient

from todo_project.accounts import services, tokens
from todo_project.accounts.models import EmailVerification
from todo_project.testing import bearer_client, events, refresh_tokens

pytestmark = pytest.mark.django_db

ALICE_PASSWORD = "alice-Secret-123"
NEW_PASSWORD = "a-Brand-new-passphrase-7"


def _login(client: APIClient, username: str = "alice", password: str = ALICE_PASSWORD) -> dict:
    response = client.post("/api/auth/login", {"username": username, "password": password}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


# --- change ------------------------------------------------------------------------


def test_a_refresh_token_from_before_set_password_no_longer_rotates(anon_client, alice):
    # given a refresh token, then a password change by any path (here: the ORM, as
    # manage.py changepassword does)
    old = _login(anon_client)["refresh"]
    alice.set_password(NEW_PASSWORD)
    alice.save()

    # then the old refresh token is refused
    response = refresh_tokens(anon_client, old)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_not_valid"


def test_it_changes_the_password_and_revokes_every_refresh_token(anon_client, alice):
    # given two sessions (two logins)
    first, second = _login(anon_client), _login(anon_client)

    # when alice changes her password in the first
    response = bearer_client(first["access"]).post(
        "/api/auth/password", {"old_password": ALICE_PASSWORD, "new_password": NEW_PASSWORD}, format="json"
    )

    # then she gets a fresh pair, every earlier refresh token is dead, and the new password works
    assert response.status_code == 200, response.content
    fresh = response.json()
    assert set(fresh) == {"access", "refresh"}
    assert refresh_tokens(anon_client, first["refresh"]).status_code == 401
    assert refresh_tokens(anon_client, second["refresh"]).status_code == 401
    assert refresh_tokens(anon_client, fresh["refresh"]).status_code == 200
    _login(anon_client, password=NEW_PASSWORD)
    (event,) = events("user.password_changed")
    assert event.data == {"user_id": alice.pk, "method": "change", "refresh_tokens_revoked": 2}


def test_it_refuses_a_wrong_current_password_naming_the_field(anon_client, alice, alice_client):
    session = _login(anon_client)
    response = alice_client.post(
        "/api/auth/password", {"old_password": "not-it", "new_password": NEW_PASSWORD}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"old_password": ["The current password is wrong."]}
    assert refresh_tokens(anon_client, session["refresh"]).status_code == 200
    assert not events("user.password_changed")


def test_it_refuses_a_weak_new_password_naming_the_field(alice_client):
    response = alice_client.post(
        "/api/auth/password", {"old_password": ALICE_PASSWORD, "new_password": "12345678"}, format="json"
    )
    assert response.status_code == 400
    assert "new_password" in response.json()["error"]["fields"]


def test_changing_the_password_needs_authentication(anon_client):
    response = anon_client.post(
        "/api/auth/password", {"old_password": ALICE_PASSWORD, "new_password": NEW_PASSWORD}, format="json"
    )
    assert response.status_code == 401


# --- reuse detection ----------------------------------------------------------------


def test_replaying_a_rotated_refresh_token_revokes_its_whole_family(anon_client, alice):
    # given a login rotated once (a → b), and another, unrelated login
    a = _login(anon_client)["refresh"]
    other = _login(anon_client)["refresh"]
    b = refresh_tokens(anon_client, a).json()["refresh"]

    # when the already-rotated a comes back (a thief replaying it)
    replay = refresh_tokens(anon_client, a)

    # then it is refused, b (its descendant) is dead too, the other login lives on
    assert replay.status_code == 401
    assert refresh_tokens(anon_client, b).status_code == 401
    assert refresh_tokens(anon_client, other).status_code == 200
    (event,) = events("user.refresh_token_reused")
    assert event.data["user_id"] == alice.pk


def test_logging_out_ends_the_family(anon_client, alice):
    a = _login(anon_client)["refresh"]
    b = refresh_tokens(anon_client, a).json()["refresh"]
    assert anon_client.post("/api/auth/logout", {"refresh": b}, format="json").status_code == 204
    assert refresh_tokens(anon_client, b).status_code == 401


# --- reset ----------------------------------------------------------------------------


def test_a_reset_request_answers_the_same_whether_or_not_the_account_exists(anon_client, alice):
    known = anon_client.post("/api/auth/password/reset", {"email": "ALICE@example.com"}, format="json")
    unknown = anon_client.post("/api/auth/password/reset", {"email": "nobody@example.com"}, format="json")

    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    (event,) = events("user.password_reset_requested")
    assert event.data == {"user_id": alice.pk, "email": "alice@example.com"}
    # the token is made when the mail is sent, never stored in the event
    assert set(event.data) == {"user_id", "email"}


def test_a_reset_request_is_a_400_for_a_malformed_address(anon_client):
    response = anon_client.post("/api/auth/password/reset", {"email": "not an address"}, format="json")
    assert response.status_code == 400
    assert "email" in response.json()["error"]["fields"]


def test_reset_mails_per_account_are_limited(anon_client, alice, settings):
    settings.ACCOUNT_EMAIL_RATE = "2/hour"
    for _ in range(4):
        assert (
            anon_client.post("/api/auth/password/reset", {"email": alice.email}, format="json").status_code
            == 202
        )
    assert len(events("user.password_reset_requested")) == 2


def test_a_reset_sets_the_password_revokes_sessions_and_is_single_use(anon_client, alice):
    # given a session and a reset token (as mailed)
    session = _login(anon_client)
    alice.refresh_from_db()  # as the mail handler reads it (last_login is part of the token)
    token = tokens.password_reset_token_make(user=alice)

    # when the token is used
    body = {"token": token, "new_password": NEW_PASSWORD}
    response = anon_client.post("/api/auth/password/reset/confirm", body, format="json")

    # then the password changed, the old session is gone, the address counts as verified
    assert response.status_code == 204, response.content
    assert refresh_tokens(anon_client, session["refresh"]).status_code == 401
    _login(anon_client, password=NEW_PASSWORD)
    (event,) = events("user.password_changed")
    assert event.data["method"] == "reset"
    # and the same token does not work twice
    again = anon_client.post(
        "/api/auth/password/reset/confirm", {**body, "new_password": "yet-Another-one-42"}, format="json"
    )
    assert again.status_code == 400
    assert again.json()["error"]["fields"] == {"token": ["This reset link is invalid or has expired."]}


def test_a_reset_marks_the_account_address_verified(anon_client, alice):
    EmailVerification.objects.filter(user=alice).delete()
    token = tokens.password_reset_token_make(user=alice)
    body = {"token": token, "new_password": NEW_PASSWORD}
    assert anon_client.post("/api/auth/password/reset/confirm", body, format="json").status_code == 204
    assert EmailVerification.objects.filter(user=alice, email="alice@example.com").exists()


def test_a_reset_token_expires(anon_client, alice, settings):
    token = tokens.password_reset_token_make(user=alice)
    later = timezone.now() + timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT + 5)
    with time_machine.travel(later):
        response = anon_client.post(
            "/api/auth/password/reset/confirm", {"token": token, "new_password": NEW_PASSWORD}, format="json"
        )
    assert response.status_code == 400


@pytest.mark.parametrize("token", ["", "garbage", "MQ:nope", "!!:x", "OTk5OTk5OTk5:abc-def"])
def test_a_forged_reset_token_is_a_400(anon_client, alice, token):
    response = anon_client.post(
        "/api/auth/password/reset/confirm", {"token": token, "new_password": NEW_PASSWORD}, format="json"
    )
    assert response.status_code == 400


# --- deactivation ---------------------------------------------------------------------


def test_deactivating_revokes_refresh_tokens_for_good(anon_client, alice):
    session = _login(anon_client)
    services.user_deactivate(user_id=alice.pk)
    # reactivated later, the old session still does not come back
    get_user_model().objects.filter(pk=alice.pk).update(is_active=True)
    assert refresh_tokens(anon_client, session["refresh"]).status_code == 401
    (event,) = events("user.deactivated")
    assert event.data == {"user_id": alice.pk, "refresh_tokens_revoked": 1}


def test_deactivating_in_the_admin_revokes_refresh_tokens(anon_client, alice, staff_client):
    client = staff_client
    session = _login(anon_client)
    page = client.get(f"/admin/auth/user/{alice.pk}/change/")
    form = page.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k not in ("password", "is_active")}
    data.update(
        {
            "username": alice.username,
            "date_joined_0": alice.date_joined.strftime("%Y-%m-%d"),
            "date_joined_1": alice.date_joined.strftime("%H:%M:%S"),
            "groups": [],
            "user_permissions": [],
            "profile-TOTAL_FORMS": "1",
            "profile-INITIAL_FORMS": "1",
            "profile-MIN_NUM_FORMS": "0",
            "profile-MAX_NUM_FORMS": "1",
            "profile-0-timezone": "Europe/Berlin",
            "profile-0-date_order": "MDY",
            "profile-0-id": str(alice.profile.pk),
            "profile-0-user": str(alice.pk),
        }
    )
    data.pop("last_login", None)
    response = client.post(f"/admin/auth/user/{alice.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    alice.refresh_from_db()
    assert not alice.is_active
    assert refresh_tokens(anon_client, session["refresh"]).status_code == 401
    assert [e.data["user_id"] for e in events("user.deactivated")] == [alice.pk]


def test_setting_a_password_in_the_admin_revokes_refresh_tokens(anon_client, alice, staff_client):
    session = _login(anon_client)
    response = staff_client.post(
        f"/admin/auth/user/{alice.pk}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )
    assert response.status_code == 302
    assert refresh_tokens(anon_client, session["refresh"]).status_code == 401
    (event,) = events("user.password_changed")
    assert event.data["method"] == "admin"
