"""The stricter rate for the credential endpoints (``auth`` in DEFAULT_THROTTLE_RATES).

Same one-round-trip Redis bucket as the API-wide throttles (todo_project/throttling.py).
"""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.settings import api_settings

from todo_project.events.context import client_ip
from todo_project.throttling import GcraRateThrottle


class AuthRateThrottle(GcraRateThrottle):
    """One bucket per client IP shared by register, login, refresh and logout.

    Keyed by the peer address (the same one the audit log records), never by
    a client-supplied X-Forwarded-For, which would let a password guesser
    pick a fresh bucket per request.
    """

    scope = "auth"

    def get_rate(self) -> str | None:
        # DRF binds THROTTLE_RATES at import; reading it here lets settings
        # changes (and test overrides) take effect.
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope or "")
        return None if rate is None else str(rate)

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": client_ip(request._request)}
