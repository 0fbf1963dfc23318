"""Webhooks: Standard Webhooks signing, retries, disabling, SSRF guard."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from notifications_app.models import Notification, NotificationPreference
from notifications_app.services import _claim, notifications_sweep
from notifications_app.tasks import notification_deliver_task
from notifications_app.tests.conftest import NOW
from reminders_app.tests.factories import events_of

pytestmark = pytest.mark.django_db


def _register(client, url: str) -> str:
    response = client.patch("/api/notifications/preferences", {"webhook_url": url}, format="json")
    assert response.status_code == 200, response.json()
    return response.json()["webhook_secret"]


def _verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """Standard Webhooks verification as a receiver would write it from the spec."""
    key = base64.b64decode(secret.split("_", 1)[1])
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.{body.decode()}".encode()
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(
        hmac.compare_digest(expected, sig.split(",", 1)[1])
        for sig in headers["webhook-signature"].split(" ")
        if sig.startswith("v1,")
    )


def _webhook(reminder) -> Notification:
    return Notification.objects.get(reminder=reminder, channel="webhook")


def test_it_posts_a_signed_body_that_verifies_with_the_published_secret(
    alice, alice_client, webhook_receiver, fire_reminder
):
    secret = _register(alice_client, webhook_receiver.url + "/hooks/taskbeat?src=1")
    assert secret.startswith("whsec_")
    reminder = fire_reminder(alice, title="Pay rent")

    [request] = webhook_receiver.requests
    assert request.path == "/hooks/taskbeat?src=1"
    assert _verify(secret, request.headers, request.body)
    assert not _verify("whsec_" + base64.b64encode(b"x" * 24).decode(), request.headers, request.body)
    body = request.json()
    assert body["event"] == "reminder.triggered"
    assert body["occurrence_at"] == "2026-03-02T10:00:00Z"
    assert body["task"]["title"] == "Pay rent"
    assert body["task"]["id"] == str(reminder.task_ref)
    assert body["reminder"]["id"] == str(reminder.id)
    assert _webhook(reminder).status == "sent"


def test_the_webhook_id_stays_the_same_across_retries(alice, alice_client, webhook_receiver, fire_reminder):
    _register(alice_client, webhook_receiver.url)
    webhook_receiver.statuses = [502]
    reminder = fire_reminder(alice)
    with time_machine.travel(NOW + timedelta(seconds=2), tick=False):
        notification_deliver_task(str(_webhook(reminder).id))
    first, second = webhook_receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert _webhook(reminder).status == "sent"


def test_a_410_disables_the_endpoint_and_tells_the_owner(
    alice, alice_client, webhook_receiver, fire_reminder
):
    _register(alice_client, webhook_receiver.url)
    webhook_receiver.statuses = [410]
    reminder = fire_reminder(alice)

    assert _webhook(reminder).status == "failed"
    prefs = alice_client.get("/api/notifications/preferences").json()
    assert prefs["webhook_disabled_at"] is not None
    notices = alice_client.get("/api/notifications").json()["results"]
    assert [n["kind"] for n in notices if n["kind"] != "reminder"] == ["webhook_disabled"]

    # The next reminder no longer goes to the webhook.
    later = fire_reminder(alice, at=NOW + timedelta(minutes=5))
    assert not Notification.objects.filter(reminder=later, channel="webhook").exists()
    assert len(webhook_receiver.requests) == 1

    # Registering the URL again re-enables it.
    alice_client.patch("/api/notifications/preferences", {"webhook_url": webhook_receiver.url}, format="json")
    assert alice_client.get("/api/notifications/preferences").json()["webhook_disabled_at"] is None


def test_an_endpoint_failing_past_the_retry_schedule_is_disabled(
    alice, alice_client, webhook_receiver, fire_reminder
):
    _register(alice_client, webhook_receiver.url)
    webhook_receiver.default_status = 500
    reminder = fire_reminder(alice)
    hook = _webhook(reminder)
    for _ in range(4):
        hook.refresh_from_db()
        with time_machine.travel(hook.next_attempt_at, tick=False):
            notification_deliver_task(str(hook.id))
    hook.refresh_from_db()
    assert (hook.status, hook.attempts, len(webhook_receiver.requests)) == ("failed", 5, 5)
    assert NotificationPreference.objects.get(user=alice).webhook_disabled_at is not None
    assert Notification.objects.filter(user=alice, kind="webhook_disabled").count() == 1


@pytest.mark.parametrize("status", [400, 404])
def test_a_client_error_is_not_retried(alice, alice_client, webhook_receiver, fire_reminder, status):
    _register(alice_client, webhook_receiver.url)
    webhook_receiver.statuses = [status]
    reminder = fire_reminder(alice)
    assert (_webhook(reminder).status, len(webhook_receiver.requests)) == ("failed", 1)
    assert NotificationPreference.objects.get(user=alice).webhook_disabled_at is None


def test_redirects_are_not_followed(alice, alice_client, webhook_receiver, fire_reminder):
    _register(alice_client, webhook_receiver.url + "/hook")
    webhook_receiver.statuses = [302]
    webhook_receiver.location = webhook_receiver.url + "/internal"
    reminder = fire_reminder(alice)
    assert [r.path for r in webhook_receiver.requests] == ["/hook"]
    hook = _webhook(reminder)
    assert hook.status == "failed"
    assert "redirect" in hook.last_error


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
        "http://user:pw@example.com/hook",
        "ftp://example.com/hook",
        "file:///etc/passwd",
    ],
)
def test_it_refuses_to_register_a_url_that_is_not_public_http(alice_client, settings, url):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    response = alice_client.patch("/api/notifications/preferences", {"webhook_url": url}, format="json")
    assert response.status_code == 400
    assert "webhook_url" in response.json()["error"]["fields"]
    assert alice_client.get("/api/notifications/preferences").json()["webhook_url"] == ""


@pytest.mark.parametrize(
    "address",
    [
        "2002:7f00:1::1",  # 6to4 of 127.0.0.1
        "2002:a00:1::1",  # 6to4 of 10.0.0.1
        "2002:808:808::1",  # 6to4 even of a public address: a relay we cannot vet
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "64:ff9b:1::a00:1",  # local-use NAT64
        "::127.0.0.1",  # IPv4-compatible
        "::ffff:0:7f00:1",  # IPv4-translated
        "::ffff:10.0.0.1",  # IPv4-mapped private
    ],
)
def test_it_refuses_ipv6_addresses_that_embed_an_ipv4_one(alice_client, settings, address):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False

    response = alice_client.patch(
        "/api/notifications/preferences", {"webhook_url": f"http://[{address}]/hook"}, format="json"
    )

    assert response.status_code == 400, response.json()
    assert "webhook_url" in response.json()["error"]["fields"]


def test_it_accepts_a_public_ipv6_address(alice_client, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False

    response = alice_client.patch(
        "/api/notifications/preferences", {"webhook_url": "https://[2606:4700::1111]/hook"}, format="json"
    )

    assert response.status_code == 200, response.json()


def test_it_checks_the_address_again_at_send_time(
    alice, alice_client, webhook_receiver, settings, fire_reminder
):
    # given a URL accepted while private networks were allowed (or that re-resolved since)
    _register(alice_client, webhook_receiver.url)
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    # when a reminder fires
    reminder = fire_reminder(alice)
    # then nothing is sent to the private address
    assert webhook_receiver.requests == []
    hook = _webhook(reminder)
    assert hook.status == "failed"
    assert "non-public address" in hook.last_error


def test_a_delivery_whose_worker_died_is_sent_once_after_its_lease_expires(
    alice, alice_client, webhook_receiver, fire_reminder, settings
):
    _register(alice_client, webhook_receiver.url)
    webhook_receiver.statuses = [503]
    reminder = fire_reminder(alice)
    hook = _webhook(reminder)
    # A worker claims the retry and dies before recording anything.
    with time_machine.travel(NOW + timedelta(seconds=2), tick=False):
        assert _claim(hook.id, NOW + timedelta(seconds=2))
    # While the lease holds, neither the sweep nor a redelivered task sends it.
    with time_machine.travel(
        NOW + timedelta(seconds=2 + settings.NOTIFICATION_LEASE_SECONDS - 1), tick=False
    ):
        assert notifications_sweep() == 0
        notification_deliver_task(str(hook.id))
    assert len(webhook_receiver.requests) == 1
    # After the lease, the sweep sends it once.
    after = NOW + timedelta(seconds=2 + settings.NOTIFICATION_LEASE_SECONDS + 10)
    with time_machine.travel(after, tick=False):
        assert notifications_sweep() == 1
        assert notifications_sweep() == 0
    hook.refresh_from_db()
    assert (hook.status, len(webhook_receiver.requests)) == ("sent", 2)
    assert len(events_of("notification.sent")) == 1


def test_during_a_secret_rotation_each_delivery_verifies_with_the_old_and_the_new_secret(
    alice, alice_client, webhook_receiver, fire_reminder, settings
):
    # given a receiver still holding the first secret when the user rotates it
    settings.WEBHOOK_SECRET_ROTATION_SECONDS = 3600
    old = _register(alice_client, webhook_receiver.url)
    new = alice_client.post("/api/notifications/preferences/webhook/rotate-secret").json()["webhook_secret"]
    rotated = timezone.now()

    # when reminders fire inside the window and after it
    fire_reminder(alice, at=rotated + timedelta(minutes=59))
    fire_reminder(alice, at=rotated + timedelta(minutes=61))

    # then the first carries both signatures (either secret verifies), the second only the new one
    inside, after = webhook_receiver.requests
    assert len(inside.headers["webhook-signature"].split(" ")) == 2
    assert _verify(old, inside.headers, inside.body)
    assert _verify(new, inside.headers, inside.body)
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    assert _verify(new, after.headers, after.body)
    assert not _verify(old, after.headers, after.body)


def test_without_a_rotation_window_the_old_secret_stops_signing_at_once(
    alice, alice_client, webhook_receiver, fire_reminder, settings
):
    settings.WEBHOOK_SECRET_ROTATION_SECONDS = 0
    old = _register(alice_client, webhook_receiver.url)
    new = alice_client.post("/api/notifications/preferences/webhook/rotate-secret").json()["webhook_secret"]
    fire_reminder(alice, at=timezone.now() + timedelta(minutes=1))
    [request] = webhook_receiver.requests
    assert _verify(new, request.headers, request.body)
    assert not _verify(old, request.headers, request.body)


def test_the_retry_schedule_is_the_configured_one(
    alice, alice_client, webhook_receiver, fire_reminder, settings
):
    settings.NOTIFICATION_RETRY_SECONDS = (2, 7)
    _register(alice_client, webhook_receiver.url)
    webhook_receiver.default_status = 503
    hook = _webhook(fire_reminder(alice))
    waits = [(hook.next_attempt_at - NOW).total_seconds()]
    at = hook.next_attempt_at
    with time_machine.travel(at, tick=False):
        notification_deliver_task(str(hook.id))
    hook.refresh_from_db()
    waits.append((hook.next_attempt_at - at).total_seconds())
    with time_machine.travel(hook.next_attempt_at, tick=False):
        notification_deliver_task(str(hook.id))
    hook.refresh_from_db()
    assert waits == [2, 7]
    assert (hook.status, hook.attempts, len(webhook_receiver.requests)) == ("failed", 3, 3)
