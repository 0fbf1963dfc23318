"""Web Push: the key, browser subscriptions (API), and delivery to a local RFC 8030 push service."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
import time_machine

from notifications_app.messages import reminder_push
from notifications_app.models import Notification, PushSubscription
from notifications_app.services import notifications_create_for_trigger, notifications_sweep
from notifications_app.tasks import notification_deliver_task
from notifications_app.tests.conftest import NOW
from notifications_app.transports import retry_after_seconds
from todo_project.testing import events_of

pytestmark = pytest.mark.django_db

URL = "/api/notifications/push-subscriptions"


def _subscribe(client, browser, **extra):
    return client.post(URL, {**browser.subscription_json(), **extra}, format="json")


# --- the key ------------------------------------------------------------------


def test_the_push_key_is_the_servers_vapid_public_key(alice_client, push_service, settings):
    response = alice_client.get("/api/notifications/push-key")

    assert response.status_code == 200
    body = response.json()
    assert body == {"public_key": settings.VAPID_PUBLIC_KEY, "available": True}
    point = base64.urlsafe_b64decode(body["public_key"] + "=" * (-len(body["public_key"]) % 4))
    assert len(point) == 65
    assert point[0] == 4


def test_without_a_vapid_key_push_is_unavailable(alice_client, settings):
    settings.WEB_PUSH_ENABLED = False

    assert alice_client.get("/api/notifications/push-key").json() == {"public_key": "", "available": False}
    push = alice_client.get("/api/notifications/preferences").json()["channels"]["push"]
    assert push["enabled"] is True
    assert push["delivering"] is False
    assert "VAPID" in push["unavailable_reason"]


def test_the_push_key_needs_authentication(anon_client):
    assert anon_client.get("/api/notifications/push-key").status_code == 401


# --- subscriptions ------------------------------------------------------------


def test_subscribing_a_browser_answers_201_and_turns_push_on(alice, alice_client, push_service):
    browser = push_service.browser()
    before = alice_client.get("/api/notifications/preferences").json()["channels"]["push"]
    assert before == {
        "enabled": True,
        "available": False,
        "delivering": False,
        "unavailable_reason": "No browser is subscribed to push notifications.",
    }

    response = _subscribe(alice_client, browser, user_agent="Firefox 140")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) == {"id", "endpoint", "user_agent", "created_at"}
    assert (body["endpoint"], body["user_agent"]) == (browser.endpoint, "Firefox 140")
    sub = PushSubscription.objects.get(id=body["id"])
    assert (sub.user_id, sub.p256dh) == (alice.id, browser.p256dh)
    [event] = events_of("push_subscription.created")
    assert event["subscription_id"] == body["id"]
    assert event["push_service"] == push_service.origin
    assert event["updated"] is False
    assert browser.endpoint not in str(event)  # a capability URL stays out of events
    after = alice_client.get("/api/notifications/preferences").json()["channels"]["push"]
    assert after["delivering"] is True


def test_the_same_endpoint_again_answers_200_and_replaces_its_keys(alice_client, push_service):
    browser = push_service.browser()
    first = _subscribe(alice_client, browser).json()

    again = _subscribe(alice_client, browser)
    assert again.status_code == 200
    assert again.json()["id"] == first["id"]
    assert len(events_of("push_subscription.created")) == 1  # an identical repeat changes nothing

    browser.auth = b"\x01" * 16  # the browser re-subscribed with new keys
    renewed = _subscribe(alice_client, browser)

    assert renewed.status_code == 200
    assert PushSubscription.objects.get(id=first["id"]).auth == "AQEBAQEBAQEBAQEBAQEBAQ"
    assert [e["updated"] for e in events_of("push_subscription.created")] == [False, True]


_AUTH = "AAAAAAAAAAAAAAAAAAAAAA"  # 16 bytes
_OFF_CURVE = base64.urlsafe_b64encode(b"\x04" + b"\x07" * 64).decode().rstrip("=")  # 65 bytes, no point


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"endpoint": "http://push.example.com/x"}, "endpoint"),
        ({"endpoint": "not a url"}, "endpoint"),
        ({"endpoint": "https://push.example.com/" + "x" * 2000}, "endpoint"),
        ({"keys": {"auth": _AUTH}}, "keys.p256dh"),
        ({"keys": {"p256dh": "BAAA", "auth": _AUTH}}, "keys.p256dh"),
        ({"keys": {"p256dh": _OFF_CURVE, "auth": _AUTH}}, "keys.p256dh"),
        ({"keys": {"p256dh": "P256DH", "auth": "AAAAAAAAAAAAAAAAAAAA"}}, "keys.auth"),  # 15 bytes
        ({"keys": {"p256dh": "P256DH", "auth": "not base64url!"}}, "keys.auth"),
        ({"keys": "nope"}, "keys.non_field_errors"),
    ],
)
def test_a_bad_subscription_is_a_400_naming_the_field(alice_client, push_service, change, field):
    body = push_service.browser().subscription_json()
    if isinstance(change.get("keys"), dict):
        # "P256DH" stands for the browser's real key, so only the other one is wrong.
        change = {
            "keys": {k: body["keys"]["p256dh"] if v == "P256DH" else v for k, v in change["keys"].items()}
        }
    body.update(change)

    response = alice_client.post(URL, body, format="json")

    assert response.status_code == 400, response.json()
    assert field in response.json()["error"]["fields"]
    assert not PushSubscription.objects.exists()


def test_an_endpoint_on_a_private_address_is_refused_like_a_webhook(alice_client, push_service, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    response = _subscribe(alice_client, push_service.browser())  # https://127.0.0.1:…

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "webhook_url_forbidden"
    assert "endpoint" in response.json()["error"]["fields"]


def test_there_is_a_limit_of_subscribed_browsers(alice_client, push_service, settings):
    settings.WEB_PUSH_MAX_SUBSCRIPTIONS = 2
    for _ in range(2):
        assert _subscribe(alice_client, push_service.browser()).status_code == 201

    response = _subscribe(alice_client, push_service.browser())

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "too_many_push_subscriptions"
    assert "endpoint" in response.json()["error"]["fields"]


def test_listing_shows_only_your_browsers_newest_first(alice_client, bob_client, push_service):
    first = _subscribe(alice_client, push_service.browser()).json()
    second = _subscribe(alice_client, push_service.browser()).json()
    _subscribe(bob_client, push_service.browser())

    page = alice_client.get(URL, {"limit": 1})
    assert page.status_code == 200
    assert page.json()["count"] == 2
    assert [s["id"] for s in page.json()["results"]] == [second["id"]]
    rest = alice_client.get(URL, {"limit": 1, "page": 2}).json()["results"]
    assert [s["id"] for s in rest] == [first["id"]]
    assert alice_client.get(URL, {"limit": 0}).status_code == 400


def test_deleting_a_browser_by_id(alice_client, bob_client, push_service):
    sub = _subscribe(alice_client, push_service.browser()).json()

    assert bob_client.delete(f"{URL}/{sub['id']}").status_code == 404  # not bob's
    assert alice_client.delete(f"{URL}/not-a-uuid").status_code == 404
    assert alice_client.delete(f"{URL}/{sub['id']}").status_code == 204
    assert alice_client.delete(f"{URL}/{sub['id']}").status_code == 404

    assert not PushSubscription.objects.exists()
    [event] = events_of("push_subscription.deleted")
    assert (event["subscription_id"], event["reason"]) == (sub["id"], "unsubscribed")


def test_deleting_a_browser_by_endpoint(alice_client, bob_client, push_service):
    browser = push_service.browser()
    _subscribe(alice_client, browser)

    assert bob_client.delete(URL, {"endpoint": browser.endpoint}, format="json").status_code == 404
    assert alice_client.delete(URL, {}, format="json").status_code == 400
    assert alice_client.delete(URL, {"endpoint": browser.endpoint}, format="json").status_code == 204
    assert not PushSubscription.objects.exists()


def test_a_browser_another_account_subscribes_in_moves_to_it(
    alice, bob, alice_client, bob_client, push_service
):
    browser = push_service.browser()
    alices = _subscribe(alice_client, browser).json()

    response = _subscribe(bob_client, browser)

    assert response.status_code == 201
    assert list(PushSubscription.objects.values_list("user_id", flat=True)) == [bob.id]
    assert alice_client.get(URL).json()["count"] == 0
    [moved] = events_of("push_subscription.deleted")
    assert (moved["user_id"], moved["subscription_id"], moved["reason"]) == (alice.id, alices["id"], "moved")


# --- delivery -----------------------------------------------------------------


def _push_rows(reminder) -> list[Notification]:
    return list(Notification.objects.filter(reminder=reminder, channel="push").order_by("created_at"))


def _path(browser) -> str:
    return urlsplit(browser.endpoint).path


def test_a_fired_reminder_reaches_every_browser_encrypted_and_vapid_signed(
    alice, alice_client, push_service, fire_reminder, settings
):
    browsers = [push_service.browser(), push_service.browser()]
    for browser in browsers:
        _subscribe(alice_client, browser)

    reminder = fire_reminder(alice, title="Pay rent", priority="high")

    delivered = push_service.delivered()
    assert sorted(r.path for r in delivered) == sorted(_path(b) for b in browsers)
    for request in delivered:  # each decrypted with its own browser's private key and auth secret
        assert request.message == {
            "title": "Reminder: Pay rent",
            "body": "Pay rent — due Mon 02 Mar 2026, 12:00 CET.",
            "url": f"https://taskbeat.example/tasks/{reminder.task_ref}",
            "tag": f"reminder-{reminder.id}",
        }
        assert request.claims["aud"] == push_service.origin
        assert request.claims["sub"] == settings.VAPID_SUBJECT
        assert request.claims["exp"] == int(NOW.timestamp()) + 12 * 3600
        assert request.headers["ttl"] == str(settings.WEB_PUSH_TTL_SECONDS)
        assert request.headers["urgency"] == "high"  # from the task's priority
        assert request.headers["topic"] == reminder.id.hex
    assert [n.status for n in _push_rows(reminder)] == ["sent", "sent"]
    assert {n.recipient for n in _push_rows(reminder)} == {push_service.origin}
    sent = [e for e in events_of("notification.sent") if e["channel"] == "push"]
    assert len(sent) == 2
    [triggered] = events_of("reminder.triggered")
    assert "push" in triggered["channels"]


@pytest.mark.parametrize(("priority", "urgency"), [("low", "low"), ("medium", "normal")])
def test_urgency_follows_the_task_priority(
    alice, alice_client, push_service, fire_reminder, priority, urgency
):
    _subscribe(alice_client, push_service.browser())
    fire_reminder(alice, priority=priority)
    [request] = push_service.delivered()
    assert request.headers["urgency"] == urgency


def test_a_reminder_handled_twice_pushes_once_per_browser(alice, alice_client, push_service, fire_reminder):
    _subscribe(alice_client, push_service.browser())
    fire_reminder(alice)
    [data] = events_of("reminder.triggered")

    assert notifications_create_for_trigger(data=data) == []
    assert len(push_service.delivered()) == 1


@pytest.mark.parametrize("status", [404, 410])
def test_a_browser_the_push_service_says_is_gone_is_unsubscribed(
    alice, alice_client, push_service, fire_reminder, status
):
    gone, other = push_service.browser(), push_service.browser()
    gone_id = _subscribe(alice_client, gone).json()["id"]
    _subscribe(alice_client, other)
    if status == 404:  # the service forgot it (expired) …
        del push_service.browsers[_path(gone)]
    else:  # … or remembers the browser revoked it
        push_service.revoked.add(_path(gone))

    reminder = fire_reminder(alice)

    assert list(PushSubscription.objects.values_list("endpoint", flat=True)) == [other.endpoint]
    by_ref = {str(n.push_subscription_ref): n for n in _push_rows(reminder)}
    assert by_ref[gone_id].status == "failed"
    assert f"HTTP {status}" in by_ref[gone_id].last_error
    [deleted] = events_of("push_subscription.deleted")
    assert (deleted["subscription_id"], deleted["reason"]) == (gone_id, "gone")
    [failed] = events_of("notification.failed")
    assert failed["permanent"] is True


def test_a_429_waits_as_long_as_the_push_service_asks(alice, alice_client, push_service, fire_reminder):
    _subscribe(alice_client, push_service.browser())
    push_service.queued = [(429, {"Retry-After": "120"})]

    reminder = fire_reminder(alice)

    [n] = _push_rows(reminder)
    assert n.status == "pending"
    assert n.next_attempt_at == NOW + timedelta(seconds=120)  # not the 1 s of the backoff
    with time_machine.travel(NOW + timedelta(seconds=60), tick=False):
        notification_deliver_task(str(n.id))  # too early: not claimed
    assert len(push_service.delivered()) == 0
    with time_machine.travel(NOW + timedelta(seconds=121), tick=False):
        notification_deliver_task(str(n.id))
    n.refresh_from_db()
    assert (n.status, n.attempts) == ("sent", 2)
    assert len(push_service.delivered()) == 1


def test_a_5xx_is_retried_on_the_backoff(alice, alice_client, push_service, fire_reminder):
    _subscribe(alice_client, push_service.browser())
    push_service.queued = [(503, {}), (500, {})]

    reminder = fire_reminder(alice)
    [n] = _push_rows(reminder)
    assert n.next_attempt_at == NOW + timedelta(seconds=1)
    for seconds in (2, 8):
        with time_machine.travel(NOW + timedelta(seconds=seconds), tick=False):
            notification_deliver_task(str(n.id))

    n.refresh_from_db()
    assert (n.status, n.attempts) == ("sent", 3)


@pytest.mark.parametrize("status", [400, 413])
def test_a_refused_message_fails_for_good_and_keeps_the_browser(
    alice, alice_client, push_service, fire_reminder, status
):
    _subscribe(alice_client, push_service.browser())
    push_service.queued = [(status, {})]

    reminder = fire_reminder(alice)

    [n] = _push_rows(reminder)
    assert (n.status, n.attempts) == ("failed", 1)
    assert PushSubscription.objects.count() == 1
    [failed] = events_of("notification.failed")
    assert (failed["channel"], failed["permanent"]) == ("push", True)


def test_quiet_hours_hold_push_until_they_end(alice, alice_client, push_service, fire_reminder):
    _subscribe(alice_client, push_service.browser())
    # NOW is 11:00 in Berlin (alice's zone)
    alice_client.patch(
        "/api/notifications/preferences",
        {"quiet_hours_start": "10:30", "quiet_hours_end": "12:00"},
        format="json",
    )

    reminder = fire_reminder(alice)

    [n] = _push_rows(reminder)
    assert n.next_attempt_at == datetime(2026, 3, 2, 11, 0, tzinfo=UTC)
    assert push_service.delivered() == []
    with time_machine.travel(n.next_attempt_at + timedelta(seconds=10), tick=False):
        notifications_sweep()
    assert len(push_service.delivered()) == 1


def test_push_turned_off_or_no_browser_means_no_push(alice, alice_client, push_service, fire_reminder):
    fire_reminder(alice)  # nobody subscribed
    _subscribe(alice_client, push_service.browser())
    alice_client.patch("/api/notifications/preferences", {"push_enabled": False}, format="json")
    channels = alice_client.get("/api/notifications/preferences").json()["channels"]["push"]
    fire_reminder(alice, at=NOW + timedelta(days=1))

    assert channels == {"enabled": False, "available": True, "delivering": False, "unavailable_reason": None}
    assert ["push" in e["channels"] for e in events_of("reminder.triggered")] == [False, False]
    assert push_service.requests == []


def test_a_browser_unsubscribed_while_a_push_waited_is_not_sent_to(
    alice, alice_client, push_service, fire_reminder
):
    sub = _subscribe(alice_client, push_service.browser()).json()
    alice_client.patch(
        "/api/notifications/preferences",
        {"quiet_hours_start": "10:30", "quiet_hours_end": "12:00"},
        format="json",
    )
    reminder = fire_reminder(alice)
    alice_client.delete(f"{URL}/{sub['id']}")

    with time_machine.travel(NOW + timedelta(hours=2), tick=False):
        notifications_sweep()

    [n] = _push_rows(reminder)
    assert n.status == "failed"
    assert "removed" in n.last_error
    assert push_service.requests == []


def test_the_ssrf_guard_runs_again_before_each_send(
    alice, alice_client, push_service, fire_reminder, settings
):
    _subscribe(alice_client, push_service.browser())
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False  # the endpoint now resolves somewhere forbidden

    reminder = fire_reminder(alice)

    [n] = _push_rows(reminder)
    assert n.status == "failed"
    assert n.last_error.startswith("refused:")
    assert push_service.requests == []


def test_the_message_stays_small_whatever_the_title():
    message = reminder_push(
        title="Ü" * 5000, body="€" * 5000, url="https://taskbeat.example/tasks/x", tag="t"
    )
    assert len(json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()) <= 3000
    assert message["title"]
    assert message["url"] == "https://taskbeat.example/tasks/x"


def test_retry_after_takes_seconds_or_an_http_date():
    assert retry_after_seconds("120") == 120
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412420.0) == 60
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


def test_operators_see_browsers_by_push_service_not_by_endpoint(alice_client, push_service, admin_client):
    browser = push_service.browser()
    sub = _subscribe(alice_client, browser, user_agent="Firefox 140").json()

    listing = admin_client.get("/admin/notifications_app/pushsubscription/").content.decode()
    assert push_service.origin in listing
    assert "Firefox 140" in listing
    assert browser.endpoint not in listing  # a capability URL
    detail = admin_client.get(
        f"/admin/notifications_app/pushsubscription/{sub['id']}/change/"
    ).content.decode()
    assert browser.p256dh not in detail
    assert admin_client.get("/admin/notifications_app/pushsubscription/add/").status_code == 403
