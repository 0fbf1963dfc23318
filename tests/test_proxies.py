"""X-Forwarded-Proto counts only from FORWARDED_ALLOW_IPS (issue 11, finding 12)."""

from __future__ import annotations

import pytest
from django.test import Client

from todo_project.proxies import is_trusted_proxy


@pytest.fixture
def redirecting(settings):
    # With the SSL redirect on, a request Django believes to be HTTPS is served
    # and any other is redirected: is_secure() made visible.
    settings.SECURE_SSL_REDIRECT = True
    settings.FORWARDED_ALLOW_IPS = ["10.0.0.0/8", "::1"]
    return Client()


def test_a_client_cannot_claim_https_by_itself(redirecting):
    response = redirecting.get("/api/tasks", REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_PROTO="https")

    assert response.status_code == 301
    assert response["Location"].startswith("https://")


def test_a_trusted_proxy_can_say_the_request_was_https(redirecting):
    response = redirecting.get("/api/tasks", REMOTE_ADDR="10.1.2.3", HTTP_X_FORWARDED_PROTO="https")

    assert response.status_code == 401  # served (and refused for want of a token), not redirected


@pytest.mark.parametrize("path", ["/health", "/ready", "/metrics"])
def test_probes_and_scrapes_over_plain_http_are_not_redirected(redirecting, path):
    response = redirecting.get(path, REMOTE_ADDR="10.1.2.3")

    assert response.status_code != 301


@pytest.mark.parametrize(
    ("allowed", "peer", "trusted"),
    [
        (["127.0.0.1"], "127.0.0.1", True),
        (["127.0.0.1"], "127.0.0.2", False),
        (["10.0.0.0/8"], "::ffff:10.9.9.9", True),
        (["10.0.0.0/8"], "", False),
        (["*"], "203.0.113.7", True),
        ([], "127.0.0.1", False),
    ],
)
def test_it_matches_the_peer_against_addresses_and_networks(settings, allowed, peer, trusted):
    settings.FORWARDED_ALLOW_IPS = allowed

    assert is_trusted_proxy(peer) is trusted
