"""WebSocket authentication: the API's JWT, or the Django session cookie.

The access token travels in ``Sec-WebSocket-Protocol`` (browsers cannot set
an Authorization header on a WebSocket): the client offers the subprotocols
``["bearer", "<token>"]`` and the server answers ``bearer``. A ``?token=``
query parameter works too (it ends up in access logs; prefer the header).
Without a token, the session cookie authenticates (``SessionMiddlewareStack``
must wrap this middleware).

The outcome is left in the scope for the consumer, which closes with 4401:
``user`` (AnonymousUser when not authenticated), ``token_exp`` (epoch
seconds, or None for session auth) and ``subprotocol`` (to answer with).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from channels.auth import get_user
from channels.db import database_sync_to_async
from channels.security.websocket import OriginValidator
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import AccessToken

BEARER_SUBPROTOCOL = "bearer"


def token_from_scope(scope: dict[str, Any]) -> tuple[str | None, str | None]:
    """(token, subprotocol to accept) from the subprotocol list or the query string."""
    subprotocols: list[str] = list(scope.get("subprotocols") or [])
    if BEARER_SUBPROTOCOL in subprotocols:
        index = subprotocols.index(BEARER_SUBPROTOCOL)
        token = subprotocols[index + 1] if index + 1 < len(subprotocols) else ""
        return token, BEARER_SUBPROTOCOL
    query = parse_qs((scope.get("query_string") or b"").decode("latin-1"))
    if query.get("token"):
        return query["token"][0], None
    return None, None


@database_sync_to_async
def _user_for_token(raw: str) -> tuple[Any, float | None]:
    try:
        # simplejwt takes the encoded token as text; its stubs name only Token.
        token = AccessToken(raw)  # type: ignore[arg-type]  # verifies signature, exp, aud and iss as the REST API does
    except TokenError:
        return AnonymousUser(), None
    user_id = token.get(api_settings.USER_ID_CLAIM)
    user = get_user_model().objects.filter(**{api_settings.USER_ID_FIELD: user_id}).first()
    if user is None or not user.is_active:
        return AnonymousUser(), None
    return user, float(token["exp"])


class JWTAuthMiddleware:
    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        scope = dict(scope)
        token, subprotocol = token_from_scope(scope)
        scope["subprotocol"] = subprotocol
        if token is not None:
            # A token that is present but bad never falls back to the cookie:
            # the client meant to use the token and should hear it failed.
            scope["user"], scope["token_exp"] = await _user_for_token(token)
        else:
            scope["user"] = await get_user(scope) if "session" in scope else AnonymousUser()
            scope["token_exp"] = None
        return await self.inner(scope, receive, send)


class OriginCheck(OriginValidator):
    """Refuse browser connections from foreign origins (cross-site WebSocket
    hijacking rides on the session cookie). A missing Origin is allowed: only
    browsers send one, and they always do, so its absence is a non-browser
    client that cannot be tricked into sending someone's cookie."""

    def valid_origin(self, parsed_origin: Any) -> bool:
        if parsed_origin is None:
            return True
        return self.validate_origin(parsed_origin)


def origin_check(inner: Any) -> OriginCheck:
    # Pages are served from an allowed host or a trusted origin (a separately
    # hosted frontend); the same lists the HTTP side trusts.
    allowed = [*settings.ALLOWED_HOSTS, *settings.CSRF_TRUSTED_ORIGINS]
    if settings.DEBUG and not allowed:
        allowed = ["localhost", "127.0.0.1", "[::1]"]
    return OriginCheck(inner, allowed)
