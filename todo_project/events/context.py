"""Request context that flows from an API request into the events it causes."""

from __future__ import annotations

import contextvars
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.http import HttpRequest, HttpResponse

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
    # REMOTE_ADDR is the trusted peer; behind the ingress, gunicorn is run with
    # --forwarded-allow-ips so it reflects X-Forwarded-For from trusted proxies only.
    return str(request.META.get("REMOTE_ADDR", ""))


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
