"""Web Push: the key, browser subscriptions (API), and delivery to a local RFC 8030 push service."""

from __future__ import annotations

import base64

import pytest

from notifications_app.models import PushSubscription
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
