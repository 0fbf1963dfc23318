"""Webhooks and e-mail under misbehaving receivers, with the real worker and beat.

Contract (docs/notifications.md): every webhook verifies with the Standard
Webhooks reference library (``standardwebhooks``) and tampering does not;
after a secret rotation deliveries carry both signatures for the rotation
window; transient failures (5xx, timeouts, 429) are retried on the schedule,
a longer ``Retry-After`` wins, every attempt of one delivery has the same
``webhook-id`` and only one succeeds; redirects are not followed; a 410
disables the endpoint, and so does one that fails the whole schedule, with an
in-app notice to the owner. SendGrid: 429 and 5xx retried with one
``taskbeat_delivery_id`` (after its ``Retry-After``), 400 final.

The suite shortens the schedules (``NOTIFICATION_RETRY_SECONDS`` 1,2,3,4 and
timeouts of 3 s) so a whole schedule fits in a CI run.
"""

from __future__ import annotations

import json

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from faults.harness import wait_until
from faults.load import register_webhook, reminders_due, verify_email
from notifications_app.tests.servers import Reply, serve

KAFKA = False
USES_FAKES = True
RETRY_SECONDS = (1, 2, 3, 4)
EXTRA_ENV = {
    "NOTIFICATION_RETRY_SECONDS": ",".join(map(str, RETRY_SECONDS)),
    "WEBHOOK_SECRET_ROTATION_SECONDS": "3600",
}
TIMEOUT_SECONDS = 3  # WEBHOOK_TIMEOUT_SECONDS and SENDGRID_TIMEOUT_SECONDS in the suite
pytestmark = [pytest.mark.faults, pytest.mark.slow]


@pytest.fixture(scope="module")
def running(cluster):
    cluster.start("web", "worker", "beat")
    return cluster


def _one_reminder(cluster, user) -> str:
    [reminder_id] = reminders_due(cluster, [user], per_user=1, due_in=2)[user.id]
    return reminder_id


def _notification(cluster, reminder_id: str, channel: str) -> dict | None:
    rows = cluster.postgres.query(
        "SELECT 'msg_' || replace(id::text, '-', ''), status, attempts, last_error "
        "FROM notifications_app_notification WHERE reminder_id = %s AND channel = %s",
        [reminder_id, channel],
    )
    if not rows:
        return None
    msg_id, status, attempts, last_error = rows[0]
    return {"msg_id": msg_id, "status": status, "attempts": attempts, "last_error": last_error}


def _settled(cluster, reminder_id: str, channel: str = "webhook", timeout: float = 60) -> dict:
    return wait_until(
        lambda: (n := _notification(cluster, reminder_id, channel)) and n["status"] != "pending" and n,
        timeout=timeout,
        what=f"the {channel} delivery of reminder {reminder_id} to settle",
    )


def _for(receiver, reminder_id: str):
    return [r for r in list(receiver.requests) if r.json()["reminder"]["id"] == reminder_id]


def _rejects(secret: str, body: bytes, headers: dict[str, str]) -> bool:
    try:
        Webhook(secret).verify(body, headers)
    except WebhookVerificationError:
        return True
    return False


def test_every_delivery_verifies_with_the_reference_library_and_both_secrets_sign_during_a_rotation(running):
    cluster = running
    with serve("webhook") as receiver:
        user = cluster.new_user("sw")
        old = register_webhook(user, receiver.url + "/hook")
        first = reminders_due(cluster, [user], per_user=3, due_in=3)[user.id]
        wait_until(lambda: len(receiver.requests) >= 3, timeout=60, what="three webhooks")
        for request in receiver.requests:
            payload = Webhook(old).verify(request.body, request.headers)
            assert payload["reminder"]["id"] in first
            # Tampering: the body, the id, the timestamp, or another secret.
            tampered = json.dumps({**payload, "task": {**payload["task"], "title": "forged"}}).encode()
            assert _rejects(old, tampered, request.headers)
            assert _rejects(old, request.body, {**request.headers, "webhook-id": "msg_forged"})
            later = str(int(request.headers["webhook-timestamp"]) + 1)
            assert _rejects(old, request.body, {**request.headers, "webhook-timestamp": later})
            assert _rejects("whsec_" + "A" * 32, request.body, request.headers)

        # A delivery that fails first (429, Retry-After 4 s) and is retried after the rotation.
        receiver.statuses = [Reply(429, {"Retry-After": "4"})]
        pending = _one_reminder(cluster, user)
        wait_until(lambda: _for(receiver, pending), timeout=60, what="the first attempt")
        status, body, _ = user.client.call("POST", "/api/notifications/preferences/webhook/rotate-secret")
        assert status == 200, body
        new = body["webhook_secret"]
        after = reminders_due(cluster, [user], per_user=2, due_in=3)[user.id]
        for reminder_id in (pending, *after):
            assert _settled(cluster, reminder_id)["status"] == "sent"
        retried = _for(receiver, pending)
        assert len(retried) == 2
        assert retried[0].headers["webhook-id"] == retried[1].headers["webhook-id"]
        for request in [retried[1], *(r for rid in after for r in _for(receiver, rid))]:
            # Both signatures: a receiver still on the old secret and one already on the new verify.
            assert len(request.headers["webhook-signature"].split(" ")) == 2, request.headers
            Webhook(new).verify(request.body, request.headers)
            Webhook(old).verify(request.body, request.headers)
        print(f"verified {len(receiver.requests)} deliveries; 2 signatures on each after the rotation")


def test_500_then_a_hang_then_429_with_retry_after_then_200_is_one_success_on_the_schedule(running):
    cluster = running
    retry_after = 7  # longer than the 3 s backoff it replaces
    with serve("webhook") as receiver:
        receiver.statuses = [
            Reply(500),
            Reply(200, delay_seconds=TIMEOUT_SECONDS + 2),  # answers after the worker gave up
            Reply(429, {"Retry-After": str(retry_after)}),
            Reply(200),
        ]
        user = cluster.new_user("rs")
        secret = register_webhook(user, receiver.url + "/hook")
        reminder_id = _one_reminder(cluster, user)
        delivery = _settled(cluster, reminder_id, timeout=90)
        attempts = _for(receiver, reminder_id)
        arrived = [r.received_at for r in attempts]
        gaps = [round(b - a, 1) for a, b in zip(arrived, arrived[1:], strict=False)]
        print("attempts", len(attempts), "gaps (s)", gaps, delivery)
        assert (delivery["status"], delivery["attempts"], len(attempts)) == ("sent", 4, 4)
        assert {r.headers["webhook-id"] for r in attempts} == {delivery["msg_id"]}
        for request in attempts:
            Webhook(secret).verify(request.body, request.headers)
        # Never earlier than the schedule: backoff 1 s; the timeout then 2 s; Retry-After over 3 s.
        assert gaps[0] >= RETRY_SECONDS[0]
        assert gaps[1] >= TIMEOUT_SECONDS + RETRY_SECONDS[1]
        assert gaps[2] >= retry_after
        sent = cluster.postgres.query(
            "SELECT count(*) FROM events_outboxevent WHERE type = 'notification.sent' "
            "AND data->>'reminder_id' = %s AND data->>'channel' = 'webhook'",
            [reminder_id],
        )[0][0]
        assert sent == 1


def _disabled(cluster, user) -> dict:
    status, prefs, _ = user.client.call("GET", "/api/notifications/preferences")
    assert status == 200, prefs
    return prefs


def _notices(user) -> list[dict]:
    status, page, _ = user.client.call("GET", "/api/notifications?limit=50")
    assert status == 200, page
    return [n for n in page["results"] if n["kind"] == "webhook_disabled"]


def test_a_redirect_is_not_followed_and_a_410_disables_the_endpoint_and_tells_the_owner(running):
    cluster = running
    with serve("webhook") as receiver:
        user = cluster.new_user("rg")
        register_webhook(user, receiver.url + "/hook")
        receiver.location = receiver.url + "/elsewhere"
        receiver.statuses = [302]
        redirected = _one_reminder(cluster, user)
        delivery = _settled(cluster, redirected)
        assert (delivery["status"], delivery["attempts"]) == ("failed", 1), delivery
        assert "redirects are not followed" in delivery["last_error"]
        assert [r.path for r in receiver.requests] == ["/hook"], "the redirect was followed"
        assert _disabled(cluster, user)["webhook_disabled_at"] is None

        receiver.statuses = [410]
        gone = _one_reminder(cluster, user)
        assert _settled(cluster, gone)["status"] == "failed"
        prefs = _disabled(cluster, user)
        assert prefs["webhook_disabled_at"], prefs
        assert "410" in prefs["webhook_disabled_reason"], prefs
        assert prefs["channels"]["webhook"]["delivering"] is False
        wait_until(lambda: _notices(user), timeout=30, what="the in-app notice")

        # Later reminders fire (in-app) and send nothing to the disabled endpoint.
        before = len(receiver.requests)
        later = _one_reminder(cluster, user)
        wait_until(lambda: _notification(cluster, later, "in_app"), timeout=60, what="the later reminder")
        assert _notification(cluster, later, "webhook") is None
        assert len(receiver.requests) == before
        print("302: 1 attempt, not followed; 410: disabled, notice:", _notices(user)[0]["title"])


def test_an_endpoint_failing_the_whole_schedule_is_dead_lettered_disabled_and_the_owner_told(running):
    cluster = running
    with serve("webhook") as receiver:
        receiver.default_status = 503
        user = cluster.new_user("ef")
        register_webhook(user, receiver.url + "/hook")
        reminder_id = _one_reminder(cluster, user)
        delivery = _settled(cluster, reminder_id, timeout=90)
        attempts = _for(receiver, reminder_id)
        assert (delivery["status"], delivery["attempts"]) == ("failed", len(RETRY_SECONDS) + 1), delivery
        assert len(attempts) == len(RETRY_SECONDS) + 1
        assert {r.headers["webhook-id"] for r in attempts} == {delivery["msg_id"]}
        prefs = _disabled(cluster, user)
        assert prefs["webhook_disabled_at"], prefs
        assert "kept failing" in prefs["webhook_disabled_reason"], prefs
        notices = wait_until(lambda: _notices(user), timeout=30, what="the in-app notice")
        assert len(notices) == 1
        failed = cluster.postgres.query(
            "SELECT data->>'permanent' FROM events_outboxevent WHERE type = 'notification.failed' "
            "AND data->>'reminder_id' = %s",
            [reminder_id],
        )
        assert failed == [("false",)], failed
        print(f"{len(attempts)} attempts, then failed and disabled; notice: {notices[0]['title']}")


def test_sendgrid_429_and_5xx_are_retried_with_one_delivery_id_after_retry_after_and_400_is_final(
    running, fakes
):
    cluster = running
    sendgrid, _ = fakes
    user = cluster.new_user("sg")
    verify_email(cluster, user, sendgrid)
    wait_until(lambda: cluster.outbox_undispatched() == 0, timeout=60, what="the sign-up handled")
    address = f"{user.username}@example.com"

    def mails() -> list:
        return [
            r for r in list(sendgrid.requests) if r.json()["personalizations"][0]["to"][0]["email"] == address
        ]

    retry_after = 5  # longer than the 1 s and 2 s backoffs
    sendgrid.statuses = [Reply(429, {"Retry-After": str(retry_after)}), 503]
    before = len(mails())
    retried = _one_reminder(cluster, user)
    delivery = _settled(cluster, retried, channel="email", timeout=90)
    attempts = mails()[before:]
    arrived = [r.received_at for r in attempts]
    gaps = [round(b - a, 1) for a, b in zip(arrived, arrived[1:], strict=False)]
    print("e-mail attempts", len(attempts), "gaps (s)", gaps, delivery)
    assert (delivery["status"], delivery["attempts"], len(attempts)) == ("sent", 3, 3), delivery
    assert {r.json()["custom_args"]["taskbeat_delivery_id"] for r in attempts} == {delivery["msg_id"]}
    assert gaps[0] >= retry_after, "SendGrid's Retry-After was not honoured"
    assert gaps[1] >= RETRY_SECONDS[1]

    sendgrid.statuses = [400]
    before = len(mails())
    refused = _one_reminder(cluster, user)
    delivery = _settled(cluster, refused, channel="email")
    assert (delivery["status"], delivery["attempts"], len(mails()) - before) == ("failed", 1, 1), delivery
    assert "HTTP 400" in delivery["last_error"]
