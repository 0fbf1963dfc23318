from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from todo_project.accounts.models import Profile
from todo_project.accounts.selectors import profile_get

pytestmark = pytest.mark.django_db


def test_it_shows_the_callers_account_and_time_zone(alice_client, alice):
    response = alice_client.get("/api/me")

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == alice.pk
    assert body["username"] == "alice"
    assert body["email"] == "alice@example.com"
    assert body["timezone"] == "Europe/Berlin"
    assert body["first_name"] == ""
    assert body["is_staff"] is False


def test_it_updates_email_names_and_time_zone(alice_client, alice):
    response = alice_client.patch(
        "/api/me",
        {"email": "a@example.org", "first_name": "Alice", "last_name": "Liddell", "timezone": "Asia/Kolkata"},
        format="json",
    )

    assert response.status_code == 200, response.content
    assert response.json()["timezone"] == "Asia/Kolkata"
    alice.refresh_from_db()
    assert (alice.email, alice.first_name, alice.last_name) == ("a@example.org", "Alice", "Liddell")
    assert Profile.objects.get(user=alice).timezone == "Asia/Kolkata"


def test_it_leaves_fields_that_are_not_sent_alone(alice_client, alice):
    response = alice_client.patch("/api/me", {"first_name": "Al"}, format="json")

    assert response.status_code == 200
    assert response.json()["timezone"] == "Europe/Berlin"
    assert response.json()["email"] == "alice@example.com"


def test_it_refuses_an_unknown_time_zone_naming_the_field(alice_client, alice):
    response = alice_client.patch(
        "/api/me", {"timezone": "Europe/Atlantis", "first_name": "X"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "timezone": ['"Europe/Atlantis" is not a known IANA time zone.']
    }
    alice.refresh_from_db()
    assert alice.first_name == ""  # nothing half-written
    assert Profile.objects.get(user=alice).timezone == "Europe/Berlin"


def test_it_refuses_to_change_the_username_but_accepts_it_echoed_back(alice_client, alice):
    changed = alice_client.patch("/api/me", {"username": "queen"}, format="json")
    echoed = alice_client.patch("/api/me", {"username": "alice", "first_name": "A"}, format="json")

    assert changed.status_code == 400
    assert changed.json()["error"]["fields"] == {"username": ["This field is read-only."]}
    assert echoed.status_code == 200
    alice.refresh_from_db()
    assert alice.username == "alice"


def test_it_refuses_unknown_fields(alice_client):
    response = alice_client.patch("/api/me", {"is_superuser": True}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"is_superuser": ["Unknown field."]}


def test_it_refuses_an_email_that_another_user_has(alice_client, bob):
    response = alice_client.patch("/api/me", {"email": "BOB@example.com"}, format="json")

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["email"]


def test_it_gives_users_made_elsewhere_a_utc_profile(staff_client, superuser):
    # session auth, as the admin and browsable API use
    response = staff_client.get("/api/me")

    assert response.status_code == 200
    assert response.json()["timezone"] == "UTC"
    assert profile_get(user=superuser).timezone == "UTC"
    assert Profile.objects.filter(user=superuser).count() == 1


def test_a_profile_written_without_date_order_gets_the_database_default():
    # What a pod of the previous release does during a rolling upgrade: it knows
    # no date_order column, so the column's own default must fill it.
    user = get_user_model().objects.create_user("oldpod", password="Old-Pod-Pass-9")
    Profile.objects.filter(user=user).delete()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO accounts_profile (user_id, timezone, created_at, updated_at) "
            "VALUES (%s, 'UTC', now(), now())",
            [user.pk],
        )

    assert Profile.objects.get(user=user).date_order == "MDY"
