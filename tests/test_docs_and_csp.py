"""The API docs come from our own static files, under a Content-Security-Policy (issue 11, finding 11)."""

from __future__ import annotations

import re

import pytest


def _policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {name: values for name, *values in (part.split() for part in header.split(";") if part.strip())}


@pytest.mark.parametrize("url", ["/api/docs/", "/api/redoc/"])
def test_the_docs_load_only_our_own_scripts_and_styles(client, url):
    response = client.get(url)

    assert response.status_code == 200
    html = response.content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources, html
    assert all(source.startswith("/") for source in sources), sources
    assert "/static/drf_spectacular_sidecar/" in html
    # No inline script: every <script> has a src (script-src 'self' would block it).
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []


def test_swagger_uis_initialiser_is_a_same_origin_script(client):
    response = client.get("/api/docs/?script=")

    assert response.status_code == 200
    assert "SwaggerUIBundle" in response.content.decode()


@pytest.mark.parametrize("url", ["/api/docs/", "/admin/login/", "/api/tasks", "/health"])
def test_every_page_carries_the_policy(client, url):
    policy = _policy(client.get(url))

    assert policy["script-src"] == ["'self'"]
    assert policy["default-src"] == ["'self'"]
    assert policy["connect-src"][0] == "'self'"
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]


def test_the_docs_can_be_switched_off(client, settings):
    settings.API_DOCS_ENABLED = False

    for url in ("/api/docs/", "/api/redoc/", "/api/schema/"):
        assert client.get(url).status_code == 404
