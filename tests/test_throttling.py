"""The one-round-trip Redis throttles (todo_project/throttling.py), against the real Redis."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core.cache import cache
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.test import APIRequestFactory

from todo_project.testing import clear_throttle_counters
from todo_project.throttling import AnonRateThrottle, GcraRateThrottle

URL = "/api/tasks"


@pytest.fixture(autouse=True)
def _no_throttle_history_left_behind():
    # The root conftest clears before each test; these tests also leave none.
    yield
    clear_throttle_counters()


@pytest.fixture
def rates(monkeypatch):
    """Set the anon/user rates where DRF's throttles read them (a class attribute bound at import)."""

    def set_rates(**overrides: str) -> None:
        monkeypatch.setattr(
            GcraRateThrottle, "THROTTLE_RATES", {**api_settings.DEFAULT_THROTTLE_RATES, **overrides}
        )

    return set_rates


def _anon_request(remote_addr: str = "192.0.2.1", forwarded_for: str | None = None) -> Request:
    extra: dict[str, Any] = {"REMOTE_ADDR": remote_addr}
    if forwarded_for is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return Request(APIRequestFactory().get(URL, **extra))


def _allowed(throttle_class: type, request: Request) -> tuple[bool, float | None]:
    throttle = throttle_class()
    allowed = throttle.allow_request(request, None)
    return allowed, None if allowed else throttle.wait()


def test_a_burst_of_the_rate_passes_and_the_next_request_waits_one_interval(rates):
    rates(anon="3/min")
    request = _anon_request()
    with time_machine.travel(timezone.now(), tick=False):
        assert [_allowed(AnonRateThrottle, request)[0] for _ in range(3)] == [True, True, True]
        allowed, wait = _allowed(AnonRateThrottle, request)

    assert not allowed
    # 3/min refills one request every 20 s; the first three arrived together.
    assert wait == pytest.approx(20, abs=0.01)


def test_a_request_passes_again_once_one_interval_has_passed_and_only_one(rates):
    rates(anon="3/min")
    request = _anon_request()
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        for _ in range(3):
            _allowed(AnonRateThrottle, request)
        assert not _allowed(AnonRateThrottle, request)[0]

    with time_machine.travel(start + timedelta(seconds=20), tick=False):
        assert _allowed(AnonRateThrottle, request)[0]
        allowed, wait = _allowed(AnonRateThrottle, request)
        assert not allowed
        assert wait == pytest.approx(20, abs=0.01)

    with time_machine.travel(start + timedelta(seconds=80), tick=False):
        # A full period idle: the whole burst is available again.
        assert [_allowed(AnonRateThrottle, request)[0] for _ in range(4)] == [True, True, True, False]


def test_refused_requests_are_not_counted(rates):
    rates(anon="2/min")
    request = _anon_request()
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        for _ in range(2):
            _allowed(AnonRateThrottle, request)
        for _ in range(10):  # a client hammering while throttled
            assert not _allowed(AnonRateThrottle, request)[0]

    with time_machine.travel(start + timedelta(seconds=30), tick=False):
        assert _allowed(AnonRateThrottle, request)[0]


def test_a_rate_that_does_not_divide_its_period_still_allows_its_whole_burst(rates):
    rates(anon="7/min")  # an interval of 8571.43 ms
    request = _anon_request()

    results = [_allowed(AnonRateThrottle, request)[0] for _ in range(8)]

    assert results == [True] * 7 + [False]


def test_a_client_costs_one_key_that_expires_when_its_bucket_is_full_again(rates):
    rates(anon="3/min")
    _allowed(AnonRateThrottle, _anon_request())
    client = cache._cache.get_client()  # type: ignore[attr-defined]

    keys = list(client.scan_iter(match=cache.make_key("throttle_*")))

    assert keys == [cache.make_key("throttle_anon_192.0.2.1").encode()]
    # one request used 20 s of the bucket: the key lives that long, not a period
    assert 0 < client.pttl(keys[0]) <= 20_000


def test_anonymous_clients_are_told_apart_by_address_and_num_proxies_applies(rates, settings):
    rates(anon="1/min")
    assert _allowed(AnonRateThrottle, _anon_request("192.0.2.1"))[0]
    assert not _allowed(AnonRateThrottle, _anon_request("192.0.2.1", forwarded_for="203.0.113.9"))[0]
    assert _allowed(AnonRateThrottle, _anon_request("192.0.2.2"))[0]

    # behind one trusted proxy the client is the last X-Forwarded-For address
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    assert _allowed(AnonRateThrottle, _anon_request("10.0.0.1", forwarded_for="203.0.113.9"))[0]
    assert not _allowed(AnonRateThrottle, _anon_request("10.0.0.2", forwarded_for="203.0.113.9"))[0]
    assert _allowed(AnonRateThrottle, _anon_request("10.0.0.1", forwarded_for="203.0.113.10"))[0]


@pytest.mark.django_db
def test_the_api_answers_429_with_retry_after_per_user(rates, alice_client, bob_client):
    rates(user="2/min")
    with time_machine.travel(timezone.now(), tick=False):
        assert alice_client.get(URL).status_code == 200
        assert alice_client.get(URL).status_code == 200

        response = alice_client.get(URL)

    assert response.status_code == 429
    assert response["Retry-After"] == "30"
    assert response.json()["error"]["code"] == "throttled"
    # another user has a bucket of their own
    assert bob_client.get(URL).status_code == 200


def test_a_key_left_by_drfs_throttle_counts_as_an_empty_bucket(rates):
    # DRF's throttle kept a pickled list of timestamps under the same key; an
    # upgrade must not turn those into errors.
    rates(anon="2/min")
    cache.set("throttle_anon_192.0.2.1", [1764000000.0, 1764000001.0], 60)
    request = _anon_request()

    assert [_allowed(AnonRateThrottle, request)[0] for _ in range(3)] == [True, True, False]


def test_with_redis_unreachable_the_throttle_fails_open_and_counts_it(settings, rates):
    # A real socket with nothing listening: the address Redis would have when it is down.
    import socket

    from todo_project.degraded import degraded_counts

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.CACHES = {
        **settings.CACHES,
        "default": {**settings.CACHES["default"], "LOCATION": f"redis://127.0.0.1:{port}/0"},
    }
    rates(anon="1/min")
    before = degraded_counts().get("throttle", 0)

    results = [_allowed(AnonRateThrottle, _anon_request()) for _ in range(3)]

    assert results == [(True, None)] * 3  # over the rate, but nothing to count it in: let through
    assert degraded_counts()["throttle"] == before + 3
