"""One rule for usernames and e-mail addresses (finding 4) and account e-mail verification."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from todo_project.accounts import tokens
from todo_project.accounts.models import EmailVerification
from todo_project.testing import events

pytestmark = pytest.mark.django_db

PASSWORD = "correct-Horse-battery-9"


def _login(client: APIClient, username: str, password: str):
    return client.post("/api/auth/login", {"username": username, "password": password}, format="json")


def _register(client: APIClient, username: str, email: str):
    body = {"username": username, "email": email, "password": PASSWORD}
    return client.post("/api/auth/register", body, format="json")


def _user_id(response) -> int:
    return int(AccessToken(response.json()["access"])["user_id"])


def test_a_username_cannot_be_an_email_address(anon_client):
    response = _register(anon_client, "bob@example.com", "mallory@example.com")
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["username"]
    assert not get_user_model().objects.filter(username="bob@example.com").exists()


def test_the_admin_refuses_an_at_sign_in_a_new_username(staff_client):
    response = staff_client.post(
        "/admin/auth/user/add/",
        {
            "username": "bob@example.com",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "usable_password": "true",
        },
    )
    assert response.status_code == 200
    assert "username" in response.context["adminform"].form.errors


def test_login_by_email_lands_on_the_verified_owner_not_a_squatters_username(anon_client, bob):
    # given an account from before the rule whose *username* is bob's address
    squatter = get_user_model().objects.create_user("bob@example.com", "mallory@example.com", PASSWORD)

    # when bob (who verified bob@example.com) logs in by e-mail
    response = _login(anon_client, "bob@example.com", "bob-Secret-123")

    # then it is bob's account
    assert response.status_code == 200, response.content
    assert _user_id(response) == bob.pk
    # and the squatter's password is no way into it
    assert _login(anon_client, "bob@example.com", PASSWORD).status_code == 401
    assert squatter.is_active


def test_an_old_at_sign_username_still_logs_in_when_no_one_verified_that_address(anon_client):
    legacy = get_user_model().objects.create_user("carol@old.example", "carol@example.com", PASSWORD)
    response = _login(anon_client, "carol@old.example", PASSWORD)
    assert response.status_code == 200
    assert _user_id(response) == legacy.pk


def test_an_unverified_address_is_no_login_name(anon_client):
    user = get_user_model().objects.create_user("dave", "dave@example.com", PASSWORD)
    assert _login(anon_client, "dave@example.com", PASSWORD).status_code == 401
    assert _login(anon_client, "dave", PASSWORD).status_code == 200
    EmailVerification.objects.create(user=user, email="dave@example.com", verified_at=timezone.now())
    assert _login(anon_client, "DAVE@example.com", PASSWORD).status_code == 200


def test_two_accounts_with_one_verified_address_must_use_their_usernames(anon_client):
    User = get_user_model()
    for name in ("erin", "erin2"):
        user = User.objects.create_user(name, "erin@example.com", PASSWORD)
        EmailVerification.objects.create(user=user, email="erin@example.com", verified_at=timezone.now())
    assert _login(anon_client, "erin@example.com", PASSWORD).status_code == 401
    assert _login(anon_client, "erin2", PASSWORD).status_code == 200


# --- verifying the account address -------------------------------------------------------


def test_registering_asks_for_a_verification_mail_and_the_link_verifies(anon_client):
    response = _register(anon_client, "carol", "Carol@Example.com")
    assert response.status_code == 201
    assert response.json()["email_verified"] is False
    (request,) = events("user.email_verification_requested")
    user_id = response.json()["id"]
    assert request.data == {"user_id": user_id, "email": "Carol@example.com", "purpose": "account"}

    token = tokens.email_verification_token_make(user_id=user_id, email="Carol@example.com")
    verified = anon_client.post("/api/auth/email/verify", {"token": token}, format="json")

    assert verified.status_code == 200
    assert verified.json() == {"user_id": user_id, "email": "carol@example.com", "verified": True}
    assert [e.data for e in events("user.email_verified")] == [
        {"user_id": user_id, "email": "carol@example.com"}
    ]
    # verifying twice is harmless
    assert anon_client.post("/api/auth/email/verify", {"token": token}, format="json").status_code == 200
    assert len(events("user.email_verified")) == 1


def test_changing_the_email_unverifies_it(alice, alice_client):
    assert alice_client.get("/api/me").json()["email_verified"] is True
    response = alice_client.patch("/api/me", {"email": "alice@new.example"}, format="json")
    assert response.status_code == 200
    assert response.json()["email_verified"] is False
    assert not EmailVerification.objects.filter(user=alice).exists()
    assert events("user.email_verification_requested")[-1].data["email"] == "alice@new.example"


def test_a_verification_link_expires(anon_client, alice, settings):
    EmailVerification.objects.filter(user=alice).delete()
    token = tokens.email_verification_token_make(user_id=alice.pk, email=alice.email)
    with time_machine.travel(timezone.now() + timedelta(seconds=settings.EMAIL_VERIFICATION_TTL_SECONDS + 5)):
        response = anon_client.post("/api/auth/email/verify", {"token": token}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "token": ["This verification link is invalid or has expired."]
    }


@pytest.mark.parametrize("token", ["nope", "eyJ1Ijo.forged.sig", "x" * 900])
def test_a_forged_verification_link_is_a_400(anon_client, token):
    assert anon_client.post("/api/auth/email/verify", {"token": token}, format="json").status_code == 400


def test_the_verification_mail_can_be_asked_for_again(alice, alice_client):
    EmailVerification.objects.filter(user=alice).delete()
    assert alice_client.post("/api/auth/email/verification").status_code == 202
    assert events("user.email_verification_requested")[-1].data["purpose"] == "account"


def test_asking_again_for_a_verified_address_is_a_400(alice_client):
    response = alice_client.post("/api/auth/email/verification")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "already_verified"
