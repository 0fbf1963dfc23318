from __future__ import annotations

from datetime import timedelta

import jwt
import pytest
import time_machine
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from todo_project.accounts.models import Profile
from todo_project.testing import bearer_client, events, refresh_tokens

pytestmark = pytest.mark.django_db

PASSWORD = "correct-Horse-battery-9"
ALICE_PASSWORD = "alice-Secret-123"  # the conftest persona's


def _register(client: APIClient, **overrides: str):
    body = {"username": "carol", "email": "carol@example.com", "password": PASSWORD, **overrides}
    return client.post("/api/auth/register", body, format="json")


def _login(client: APIClient, username: str = "alice", password: str = ALICE_PASSWORD):
    return client.post("/api/auth/login", {"username": username, "password": password}, format="json")


def _signed(claims: dict, **changes: object) -> str:
    """Re-sign ``claims`` with our own private key after changing some of them."""
    return jwt.encode({**claims, **changes}, str(settings.JWT_PRIVATE_KEY), algorithm="RS256")


# --- register ---------------------------------------------------------------


def test_it_registers_a_user_with_a_profile_and_records_user_registered(anon_client):
    response = _register(anon_client, timezone="Asia/Tokyo")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["username"] == "carol"
    assert body["email"] == "carol@example.com"
    assert body["timezone"] == "Asia/Tokyo"
    assert "password" not in body
    user = get_user_model().objects.get(username="carol")
    assert user.check_password(PASSWORD)
    assert Profile.objects.get(user=user).timezone == "Asia/Tokyo"
    (event,) = events("user.registered")
    assert event.user_id == user.pk
    assert event.subject == f"users/{user.pk}"
    assert event.data == {"user_id": user.pk, "username": "carol", "email": "carol@example.com"}


def test_it_defaults_the_time_zone_to_utc(anon_client):
    response = _register(anon_client)

    assert response.status_code == 201
    assert response.json()["timezone"] == "UTC"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"username": "ALICE"}, "username"),
        ({"email": "Alice@Example.com"}, "email"),
        ({"password": "password"}, "password"),
        ({"password": "carol@example.co"}, "password"),
        ({"password": "Ab1!x"}, "password"),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"email": "not-an-email"}, "email"),
        ({"username": "has space"}, "username"),
    ],
)
def test_it_refuses_bad_registrations_naming_the_field(anon_client, alice, overrides, field):
    response = _register(anon_client, **overrides)

    assert response.status_code == 400
    error = response.json()["error"]
    assert list(error["fields"]) == [field]
    assert get_user_model().objects.count() == 1  # only alice: nothing half-written
    assert not Profile.objects.exclude(user=alice).exists()
    assert not events("user.registered")


def test_it_requires_username_email_and_password(anon_client):
    response = anon_client.post("/api/auth/register", {}, format="json")

    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"username", "email", "password"}


# --- login --------------------------------------------------------------------


def test_it_logs_in_with_username_and_returns_rs256_tokens_with_iss_and_aud(anon_client, alice):
    response = _login(anon_client)

    assert response.status_code == 200, response.content
    tokens = response.json()
    assert set(tokens) == {"access", "refresh", "device_token"}
    assert jwt.get_unverified_header(tokens["access"])["alg"] == "RS256"
    claims = jwt.decode(
        tokens["access"],
        settings.JWT_PUBLIC_KEY,
        algorithms=["RS256"],
        audience=settings.JWT_AUDIENCE,
        issuer=settings.JWT_ISSUER,
    )
    assert claims["user_id"] == str(alice.pk) or claims["user_id"] == alice.pk
    assert bearer_client(tokens["access"]).get("/api/me").json()["username"] == "alice"
    (event,) = events("user.login")
    assert event.data == {"user_id": alice.pk, "username": "alice"}
    alice.refresh_from_db()
    assert alice.last_login is not None


def test_it_logs_in_with_the_email_address_case_insensitively(anon_client, alice):
    response = _login(anon_client, username="ALICE@example.com")

    assert response.status_code == 200
    assert events("user.login")[0].user_id == alice.pk


@pytest.mark.parametrize(
    ("username", "password", "reason"),
    [
        ("alice", "wrong-password", "invalid_password"),
        ("nobody", "whatever-123", "unknown_user"),
    ],
)
def test_it_refuses_bad_credentials_and_records_user_login_failed(
    anon_client, alice, username, password, reason
):
    response = _login(anon_client, username=username, password=password)

    assert response.status_code == 401
    assert response.json() == {
        "error": {"code": "invalid_credentials", "message": "Invalid username or password."}
    }
    assert not events("user.login")
    (event,) = events("user.login_failed")
    assert event.data == {"username": username, "reason": reason, "via": "api"}
    assert event.user_id == (alice.pk if username == "alice" else 0)


def test_it_refuses_an_inactive_user(anon_client, alice):
    alice.is_active = False
    alice.save(update_fields=["is_active"])

    response = _login(anon_client)

    assert response.status_code == 401
    assert events("user.login_failed")[0].data["reason"] == "inactive_user"


# --- tokens -----------------------------------------------------------------------


def test_it_rejects_an_expired_access_token(alice):
    access = str(RefreshToken.for_user(alice).access_token)
    client = bearer_client(access)

    with time_machine.travel(
        timezone.now() + settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"] + timedelta(minutes=1)
    ):
        response = client.get("/api/me")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_not_valid"


@pytest.mark.parametrize(
    "change",
    [{"aud": "someone-else"}, {"iss": "evil-issuer"}],
    ids=["wrong-aud", "wrong-iss"],
)
def test_it_rejects_a_token_with_a_wrong_audience_or_issuer(alice, change):
    access = RefreshToken.for_user(alice).access_token
    forged = _signed(access.payload, **change)

    response = bearer_client(forged).get("/api/me")

    assert response.status_code == 401


def test_it_rejects_a_token_signed_with_another_key(alice):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = other.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    forged = jwt.encode(RefreshToken.for_user(alice).access_token.payload, pem, algorithm="RS256")

    assert bearer_client(forged).get("/api/me").status_code == 401


def test_it_rejects_garbage_and_missing_tokens(anon_client):
    assert bearer_client("not-a-jwt").get("/api/me").status_code == 401
    response = anon_client.get("/api/me")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_it_rotates_the_refresh_token_and_revokes_the_old_one(anon_client, alice):
    first = _login(anon_client).json()

    response = refresh_tokens(anon_client, first["refresh"])

    assert response.status_code == 200, response.content
    second = response.json()
    assert set(second) == {"access", "refresh"}
    assert second["refresh"] != first["refresh"]
    assert bearer_client(second["access"]).get("/api/me").status_code == 200
    replay = refresh_tokens(anon_client, first["refresh"])
    assert replay.status_code == 401
    assert replay.json()["error"]["fields"] == {"refresh": ["Token is blacklisted"]}
    # The replay of an already rotated token ended its family (reuse detection):
    # the token it was rotated into is revoked too.
    again = refresh_tokens(anon_client, second["refresh"])
    assert again.status_code == 401


def test_it_does_not_accept_an_access_token_as_a_refresh_token(anon_client, alice):
    tokens = _login(anon_client).json()

    response = refresh_tokens(anon_client, tokens["access"])

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_not_valid"


def test_it_rejects_an_expired_refresh_token(anon_client, alice):
    tokens = _login(anon_client).json()
    later = timezone.now() + settings.SIMPLE_JWT["REFRESH_TOKEN_LIFETIME"] + timedelta(minutes=1)

    with time_machine.travel(later):
        response = refresh_tokens(anon_client, tokens["refresh"])

    assert response.status_code == 401


def test_it_rejects_a_refresh_token_with_a_wrong_issuer(anon_client, alice):
    refresh = RefreshToken.for_user(alice)
    forged = _signed(refresh.payload, iss="evil-issuer")

    response = refresh_tokens(anon_client, forged)

    assert response.status_code == 401


def test_it_refuses_to_refresh_for_a_deactivated_user(anon_client, alice):
    tokens = _login(anon_client).json()
    alice.is_active = False
    alice.save(update_fields=["is_active"])

    response = refresh_tokens(anon_client, tokens["refresh"])

    assert response.status_code == 401


# --- logout ---------------------------------------------------------------------


def test_it_logs_out_by_revoking_the_refresh_token(anon_client, alice):
    tokens = _login(anon_client).json()

    response = anon_client.post("/api/auth/logout", {"refresh": tokens["refresh"]}, format="json")

    assert response.status_code == 204
    (event,) = events("user.logout")
    assert event.data == {"user_id": alice.pk}
    refresh = refresh_tokens(anon_client, tokens["refresh"])
    assert refresh.status_code == 401
    twice = anon_client.post("/api/auth/logout", {"refresh": tokens["refresh"]}, format="json")
    assert twice.status_code == 401
    assert len(events("user.logout")) == 1


def test_it_requires_the_refresh_token_to_log_out(anon_client):
    response = anon_client.post("/api/auth/logout", {}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"refresh": ["This field is required."]}


def test_it_answers_a_non_json_body_with_a_parse_error(anon_client):
    response = anon_client.post("/api/auth/login", "{not json", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"


# --- throttling ----------------------------------------------------------------------


@pytest.fixture
def strict_auth_rate(settings):
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "auth": "3/min"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}


def test_it_throttles_the_auth_endpoints_with_429_and_retry_after(anon_client, alice, strict_auth_rate):
    for _ in range(3):
        assert _login(anon_client, password="wrong").status_code == 401

    response = _login(anon_client)

    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert response.json()["error"]["code"] == "throttled"
    # The bucket is shared by every credential endpoint of that client.
    assert _register(anon_client).status_code == 429
    assert not events("user.login")


def test_it_keys_the_auth_throttle_on_the_peer_address_not_x_forwarded_for(
    anon_client, alice, strict_auth_rate
):
    def login(password: str, forwarded_for: str):
        body = {"username": "alice", "password": password}
        return anon_client.post("/api/auth/login", body, format="json", HTTP_X_FORWARDED_FOR=forwarded_for)

    for n in range(3):
        login("wrong", f"10.0.0.{n}")

    assert login("alice-Secret-123", "10.9.9.9").status_code == 429
    other_peer = APIClient(REMOTE_ADDR="192.0.2.7")
    assert _login(other_peer).status_code == 200


def test_it_lets_requests_through_again_after_the_window(anon_client, alice, strict_auth_rate):
    for _ in range(3):
        _login(anon_client, password="wrong")
    assert _login(anon_client).status_code == 429

    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        assert _login(anon_client).status_code == 200


def test_it_answers_an_invalid_token_with_a_readable_message():
    response = bearer_client("abc").get("/api/me")

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json() == {
        "error": {"code": "token_not_valid", "message": "Given token not valid for any token type"}
    }
