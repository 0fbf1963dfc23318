"""Login throttling per address and per account, and the admin login (findings 3 and 6)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from todo_project.events.models import OutboxEvent

pytestmark = pytest.mark.django_db

ALICE_PASSWORD = "alice-Secret-123"


def _login(client: APIClient, ip: str, password: str, username: str = "alice", **extra: str):
    body = {"username": username, "password": password, **extra}
    return client.post("/api/auth/login", body, format="json", REMOTE_ADDR=ip)


def _failures(reason: str | None = None) -> list[OutboxEvent]:
    events = OutboxEvent.objects.filter(type="user.login_failed").order_by("time")
    return [e for e in events if reason is None or e.data["reason"] == reason]


@pytest.fixture
def free_failures(settings):
    settings.LOGIN_FREE_FAILURES = 3
    settings.LOGIN_LOCKOUT_MAX_SECONDS = 8
    return 3


# --- per account ------------------------------------------------------------------------


def test_a_guesser_using_many_addresses_is_slowed_down_per_account(anon_client, alice, free_failures):
    # given wrong passwords, each from a fresh address (no per-address bucket fills)
    for n in range(free_failures):
        assert _login(anon_client, f"198.51.100.{n}", "wrong").status_code == 401

    # then the next attempt, from yet another address, must wait: even the right password
    response = _login(anon_client, "198.51.100.99", ALICE_PASSWORD)
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    assert response.json()["error"]["code"] == "throttled"
    assert len(_failures("throttled")) == 1


def test_the_delay_doubles_per_failure_up_to_the_cap(anon_client, alice, free_failures):
    start = timezone.now()
    waits = []
    with time_machine.travel(start, tick=False) as clock:
        for n in range(free_failures + 5):
            response = _login(anon_client, f"203.0.113.{n}", "wrong")
            while response.status_code == 429:
                waits.append(int(response["Retry-After"]))
                clock.shift(timedelta(seconds=int(response["Retry-After"])))
                response = _login(anon_client, f"203.0.113.{n}", "wrong")
            assert response.status_code == 401
    # 1, 2, 4, then the 8 s cap
    assert waits == [1, 2, 4, 8, 8]


def test_a_correct_password_gets_through_after_the_delay_and_clears_it(anon_client, alice, free_failures):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        for n in range(free_failures):
            _login(anon_client, f"192.0.2.{n}", "wrong")
        assert _login(anon_client, "192.0.2.50", ALICE_PASSWORD).status_code == 429
        clock.shift(timedelta(seconds=2))
        assert _login(anon_client, "192.0.2.50", ALICE_PASSWORD).status_code == 200
        # the count starts again from zero
        for n in range(free_failures - 1):
            assert _login(anon_client, f"192.0.2.{60 + n}", "wrong").status_code == 401
        assert _login(anon_client, "192.0.2.70", ALICE_PASSWORD).status_code == 200


def test_a_known_device_is_not_held_by_a_strangers_failures(anon_client, alice, free_failures):
    # given alice logged in once on her phone and kept its device token
    device = _login(anon_client, "192.0.2.1", ALICE_PASSWORD).json()["device_token"]

    # when a stranger locks the account
    for n in range(free_failures + 1):
        _login(anon_client, f"198.51.100.{n}", "wrong")
    assert _login(anon_client, "198.51.100.200", ALICE_PASSWORD).status_code == 429

    # then her phone still gets in at once, and keeps its device token
    response = _login(anon_client, "192.0.2.1", ALICE_PASSWORD, device_token=device)
    assert response.status_code == 200
    assert response.json()["device_token"] == device


def test_a_device_token_of_another_account_does_not_help(anon_client, alice, bob, free_failures):
    bobs_device = _login(anon_client, "192.0.2.1", "bob-Secret-123", username="bob").json()["device_token"]
    for n in range(free_failures):
        _login(anon_client, f"198.51.100.{n}", "wrong")
    response = _login(anon_client, "198.51.100.9", ALICE_PASSWORD, device_token=bobs_device)
    assert response.status_code == 429


def test_unknown_usernames_are_delayed_like_known_ones(anon_client, free_failures):
    for n in range(free_failures):
        assert _login(anon_client, f"198.51.100.{n}", "wrong", username="nobody").status_code == 401
    assert _login(anon_client, "198.51.100.77", "wrong", username="nobody").status_code == 429


# --- per address, behind proxies ----------------------------------------------------------


@pytest.fixture
def strict_auth_rate(settings):
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "auth": "3/min"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}


def test_behind_a_trusted_proxy_clients_get_their_own_address_bucket(
    anon_client, bob, strict_auth_rate, settings
):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}

    # given one client behind the ingress using its bucket up
    def through_the_ingress(forwarded_for: str, **login: str):
        return anon_client.post(
            "/api/auth/login",
            {"username": "x", "password": "y", **login},
            format="json",
            REMOTE_ADDR="10.0.0.1",
            HTTP_X_FORWARDED_FOR=forwarded_for,
        )

    for _ in range(3):
        through_the_ingress("203.0.113.5")
    # then another client behind the same ingress is not locked out
    assert through_the_ingress("203.0.113.6", username="bob", password="bob-Secret-123").status_code == 200
    # and a spoofed left-hand entry does not buy the first client a fresh bucket
    assert through_the_ingress("1.2.3.4, 203.0.113.5").status_code == 429


# --- the admin login -------------------------------------------------------------------------


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_user(
        "olga", "olga@example.com", "olga-Secret-123", is_staff=True, is_superuser=True
    )


def _admin_login(client: Client, password: str, username: str = "olga", ip: str = "192.0.2.10"):
    return client.post("/admin/login/", {"username": username, "password": password}, REMOTE_ADDR=ip)


def test_the_admin_login_is_throttled_per_address_with_429(client, staff, strict_auth_rate):
    for _ in range(3):
        assert _admin_login(client, "wrong").status_code == 200  # the form again, with an error
    response = _admin_login(client, "olga-Secret-123")
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1


def test_the_admin_login_shares_the_api_logins_address_bucket(client, anon_client, staff, strict_auth_rate):
    for _ in range(3):
        _login(anon_client, "192.0.2.10", "wrong", username="olga")
    assert _admin_login(client, "olga-Secret-123").status_code == 429


def test_failed_admin_logins_are_audited(client, staff):
    _admin_login(client, "wrong")
    _admin_login(client, "whatever", username="nobody")
    assert [(e.data["username"], e.data["reason"], e.data["via"]) for e in _failures()] == [
        ("olga", "invalid_password", "admin"),
        ("nobody", "unknown_user", "admin"),
    ]


def test_the_admin_login_applies_the_account_delay(client, staff, free_failures):
    for n in range(free_failures):
        _admin_login(client, "wrong", ip=f"198.51.100.{n}")
    response = _admin_login(client, "olga-Secret-123", ip="198.51.100.50")
    assert response.status_code == 429
    assert b"Too many failed logins for this account" in response.content


def test_the_admin_login_still_logs_staff_in(client, staff):
    response = _admin_login(client, "olga-Secret-123")
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_with_redis_away_logins_are_still_checked_not_delayed(anon_client, alice, settings):
    # nothing listens on port 9: every throttle and the login delay fail open
    settings.CACHES = {
        **settings.CACHES,
        "default": {**settings.CACHES["default"], "LOCATION": "redis://127.0.0.1:9/0"},
    }
    assert _login(anon_client, "192.0.2.1", "wrong").status_code == 401
    assert _login(anon_client, "192.0.2.1", ALICE_PASSWORD).status_code == 200
