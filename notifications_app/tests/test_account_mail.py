"""Account mails on the SendGrid path, and verified reminder addresses (issue 11, findings 2 and 5)."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from notifications_app.models import Notification, NotificationKind
from notifications_app.tasks import notification_deliver_task
from todo_project.accounts.models import EmailVerification
from todo_project.events.models import OutboxEvent

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-Brand-new-passphrase-7"


def _text(request) -> str:
    return next(c["value"] for c in request.json()["content"] if c["type"] == "text/plain")


def _to(request) -> str:
    return request.json()["personalizations"][0]["to"][0]["email"]


def _token_in(request) -> str:
    match = re.search(r"#token=([^\s\"<]+)", _text(request))
    assert match, _text(request)
    return match.group(1)


def test_a_password_reset_is_mailed_and_its_link_resets(anon_client, alice, sendgrid, on_commit):
    # when a reset is asked for (the event's handler runs on commit)
    with on_commit():
        response = anon_client.post("/api/auth/password/reset", {"email": "alice@example.com"}, format="json")
    assert response.status_code == 202

    # then one mail went to alice through SendGrid, with a link to the web app
    (request,) = sendgrid.requests
    assert _to(request) == "alice@example.com"
    assert request.json()["subject"] == "Reset your Taskbeat password"
    assert "https://taskbeat.example/reset-password#token=" in _text(request)
    token = _token_in(request)
    # the token is in the mail only: not in the outbox, nor in the notification row
    assert not OutboxEvent.objects.filter(data__icontains=token).exists()
    assert token not in str(Notification.objects.get(kind=NotificationKind.PASSWORD_RESET).payload)

    # and the link sets the password
    body = {"token": token, "new_password": NEW_PASSWORD}
    assert anon_client.post("/api/auth/password/reset/confirm", body, format="json").status_code == 204
    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD)


def test_nothing_is_mailed_for_an_unknown_address(anon_client, sendgrid, on_commit):
    with on_commit():
        anon_client.post("/api/auth/password/reset", {"email": "nobody@example.com"}, format="json")
    assert sendgrid.requests == []


def test_the_account_mail_is_idempotent_per_event(anon_client, alice, sendgrid, on_commit):
    from notifications_app.services import account_mail_create

    with on_commit():
        anon_client.post("/api/auth/password/reset", {"email": "alice@example.com"}, format="json")
    event = OutboxEvent.objects.get(type="user.password_reset_requested")
    assert account_mail_create(event_id=str(event.id), event_type=event.type, data=event.data) is None
    assert Notification.objects.filter(kind=NotificationKind.PASSWORD_RESET).count() == 1


def test_registration_mails_a_verification_link_that_verifies(anon_client, sendgrid, on_commit):
    with on_commit():
        response = anon_client.post(
            "/api/auth/register",
            {"username": "carol", "email": "carol@example.com", "password": "correct-Horse-battery-9"},
            format="json",
        )
    (request,) = sendgrid.requests
    assert _to(request) == "carol@example.com"
    assert "https://taskbeat.example/verify-email#token=" in _text(request)
    verified = anon_client.post("/api/auth/email/verify", {"token": _token_in(request)}, format="json")
    assert verified.status_code == 200
    assert EmailVerification.objects.filter(user_id=response.json()["id"], email="carol@example.com").exists()


# --- reminder addresses ---------------------------------------------------------------------


def test_an_unverified_reminder_address_gets_only_its_verification_link(
    alice, alice_client, sendgrid, fire_reminder, on_commit
):
    # given alice points reminders at an address she has not verified
    with on_commit():
        response = alice_client.patch(
            "/api/notifications/preferences", {"email_address": "victim@example.net"}, format="json"
        )
    assert response.json()["email_address_verified"] is False

    # when a reminder fires
    fire_reminder(alice, title="Buy now at evil.example")

    # then that address got the verification link and nothing else
    assert [(_to(r), r.json()["subject"]) for r in sendgrid.requests] == [
        ("victim@example.net", "Verify your e-mail address for Taskbeat")
    ]
    assert not Notification.objects.filter(kind=NotificationKind.REMINDER, channel="email").exists()


def test_verifying_the_reminder_address_lets_reminders_through(
    alice, alice_client, sendgrid, fire_reminder, on_commit
):
    with on_commit():
        alice_client.patch(
            "/api/notifications/preferences", {"email_address": "a@work.example"}, format="json"
        )
    token = _token_in(sendgrid.requests[0])
    assert alice_client.post("/api/auth/email/verify", {"token": token}, format="json").status_code == 200
    assert alice_client.get("/api/notifications/preferences").json()["email_address_verified"] is True

    fire_reminder(alice)

    assert _to(sendgrid.requests[-1]) == "a@work.example"
    assert sendgrid.requests[-1].json()["subject"] == "Reminder: Pay rent"


def test_changing_the_reminder_address_unverifies_it(alice, alice_client):
    EmailVerification.objects.create(user=alice, email="a@work.example", verified_at="2026-01-01T00:00:00Z")
    alice_client.patch("/api/notifications/preferences", {"email_address": "a@work.example"}, format="json")
    assert alice_client.get("/api/notifications/preferences").json()["email_address_verified"] is True

    alice_client.patch("/api/notifications/preferences", {"email_address": "a@home.example"}, format="json")
    assert alice_client.get("/api/notifications/preferences").json()["email_address_verified"] is False
    # the address given up is no longer verified either (coming back needs a new link)
    assert not EmailVerification.objects.filter(user=alice, email="a@work.example").exists()


def test_a_pending_reminder_mail_is_not_sent_once_its_address_lost_verification(
    alice, sendgrid, settings, fire_reminder
):
    sendgrid.statuses = [503]  # the first attempt fails, a retry is pending
    reminder = fire_reminder(alice)
    email = Notification.objects.get(reminder=reminder, channel="email")
    EmailVerification.objects.filter(user=alice).delete()

    email.next_attempt_at = email.created_at
    email.save(update_fields=["next_attempt_at"])
    notification_deliver_task(str(email.id))

    email.refresh_from_db()
    assert email.status == "failed"
    assert "not verified" in email.last_error
    assert len(sendgrid.requests) == 1


def test_the_reminder_address_verification_can_be_asked_for_again(alice, alice_client):
    alice_client.patch("/api/notifications/preferences", {"email_address": "a@work.example"}, format="json")
    response = alice_client.post("/api/notifications/preferences/email/verification")
    assert response.status_code == 202
    assert response.json() == {"email": "a@work.example"}
    requests = OutboxEvent.objects.filter(type="user.email_verification_requested").order_by("time")
    assert [e.data["purpose"] for e in requests] == ["reminders", "reminders"]


# --- headers -----------------------------------------------------------------------------


def test_line_breaks_never_reach_a_mail_header(alice, sendgrid, fire_reminder):
    fire_reminder(alice, title="Pay rent\r\nBcc: everyone@example.com\nX-Spam: yes")

    (request,) = sendgrid.requests
    subject = request.json()["subject"]
    assert "\r" not in subject
    assert "\n" not in subject
    assert subject == "Reminder: Pay rent Bcc: everyone@example.com X-Spam: yes"


def test_existing_accounts_start_unverified_and_can_be_asked_to_verify(db):
    # Rows from before verification existed have no EmailVerification; the
    # command asks each of them for a verification mail once.
    User = get_user_model()
    User.objects.create_user("old1", "old1@example.com", "x-Secret-12345")
    User.objects.create_user("old2", "", "x-Secret-12345")
    call_command("accounts_request_verification")
    requests = OutboxEvent.objects.filter(type="user.email_verification_requested")
    assert [e.data["email"] for e in requests] == ["old1@example.com"]
