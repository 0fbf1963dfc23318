"""Request context that flows from an API request into the events it causes."""

from __future__ import annotations

import contextvars
import ipaddress
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.http import HttpRequest, HttpResponse
from rest_framework.settings import api_settings

_current: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "taskbeat_request_context", default=None
)


def current_context() -> dict[str, str]:
    return dict(_current.get() or {})


@contextmanager
def request_context(values: dict[str, str]) -> Iterator[None]:
    token = _current.set(values)
    try:
        yield
    finally:
        _current.reset(token)


def client_ip(request: HttpRequest) -> str:
    """The client's address: the peer, or the one the trusted proxies report.

    With ``NUM_PROXIES`` = N > 0 (N proxies in front of the app, each
    appending the address it saw to X-Forwarded-For), the client is the N-th
    entry from the right; entries further left are whatever the client sent
    and are never trusted. A header with fewer entries than that, or one
    whose entry is no IP address, falls back to the leftmost valid one / the
    peer. N = 0 (default) uses the peer address only. The same rule as DRF's
    ``NUM_PROXIES`` for the anonymous throttle.
    """
    peer = str(request.META.get("REMOTE_ADDR", ""))
    proxies = int(api_settings.NUM_PROXIES or 0)
    forwarded = str(request.META.get("HTTP_X_FORWARDED_FOR", ""))
    if proxies <= 0 or not forwarded:
        return peer
    entries = [entry.strip() for entry in forwarded.split(",")]
    candidate = entries[-min(proxies, len(entries))]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return peer


class RequestContextMiddleware:
    """Records client IP, user agent and request id for the duration of a request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request.headers.get("X-Request-ID") or str(uuid.uuid4())
        values = {
            "client_ip": client_ip(request),
            "user_agent": request.headers.get("User-Agent", "")[:500],
            "request_id": request_id[:100],
        }
        with request_context(values):
            response = self.get_response(request)
        response["X-Request-ID"] = values["request_id"]
        return response
