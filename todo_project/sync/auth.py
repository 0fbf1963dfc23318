"""WebSocket authentication: the API's JWT, or the Django session cookie.

The access token travels in ``Sec-WebSocket-Protocol`` (browsers cannot set
an Authorization header on a WebSocket): the client offers the subprotocols
``["bearer", "<token>"]`` and the server answers ``bearer``. A ``?token=``
query parameter works too (it ends up in access logs; prefer the header).
Without a token, the session cookie authenticates (``SessionMiddlewareStack``
must wrap this middleware).

The outcome is left in the scope for the consumer, which closes with 4401:
``user`` (AnonymousUser when not authenticated), ``token_exp`` (epoch
seconds, or None for session auth), ``subprotocol`` (to answer with), and
for session auth ``session_id`` (a fingerprint of the session key: the
session's logout closes the socket) and ``session_exp`` (its expiry).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from channels.auth import get_user
from channels.db import database_sync_to_async
from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.http.request import split_domain_port, validate_host
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


@database_sync_to_async
def _session_facts(session: Any) -> tuple[str | None, float | None]:
    from todo_project.accounts.services import session_fingerprint

    if not session.session_key:
        return None, None
    return session_fingerprint(session.session_key), session.get_expiry_date().timestamp()


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
            if scope["user"].is_authenticated:
                # Which session this socket rides on: its logout closes it.
                scope["session_id"], scope["session_exp"] = await _session_facts(scope["session"])
        return await self.inner(scope, receive, send)


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin1")
    return None


def _normalise_origin(origin: str) -> str:
    """Lower-case ``scheme://host[:port]`` with the scheme's default port left out."""
    origin = origin.strip().lower().rstrip("/")
    for scheme, port in (("http://", ":80"), ("https://", ":443")):
        if origin.startswith(scheme) and origin.endswith(port):
            return origin[: -len(port)]
    return origin


class OriginCheck:
    """Refuse browser connections from any origin but exactly our own (cross-site
    WebSocket hijacking rides on the session cookie).

    Allowed: the socket's own origin, i.e. scheme (``wss`` → https, ``ws`` →
    http) + Host, with that host in ALLOWED_HOSTS; or an origin listed exactly
    in CSRF_TRUSTED_ORIGINS (a separately hosted frontend). Scheme, host and
    port must all match: ``http://`` for an ``https://`` page, another port,
    or a look-alike host are refused. Behind a TLS-terminating proxy the ws
    process sees ``wss`` only when the proxy is in FORWARDED_ALLOW_IPS.

    A missing Origin is allowed: only browsers send one, and they always do,
    so its absence is a non-browser client that cannot be tricked into
    sending someone's cookie.
    """

    def __init__(self, application: Any, trusted_origins: list[str], allowed_hosts: list[str]) -> None:
        self.application = application
        self.trusted = {_normalise_origin(origin) for origin in trusted_origins}
        self.allowed_hosts = allowed_hosts

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        origin = _header(scope, b"origin")
        if origin is None or self.allowed(scope, origin):
            return await self.application(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)

    def allowed(self, scope: dict[str, Any], origin: str) -> bool:
        origin = _normalise_origin(origin)
        if origin in self.trusted:
            return True
        host = _header(scope, b"host")
        if not host or not host_allowed(host, self.allowed_hosts):
            return False
        # ASGI scopes name the scheme "ws"/"wss" for sockets, "http"/"https" otherwise.
        scheme = "https" if scope.get("scheme") in ("wss", "https") else "http"
        return origin == _normalise_origin(f"{scheme}://{host}")


def host_allowed(host: str, allowed_hosts: list[str]) -> bool:
    """Whether a Host header names this site (Django's ALLOWED_HOSTS rules)."""
    domain, _port = split_domain_port(host)
    return bool(domain) and validate_host(domain, allowed_hosts)


def allowed_hosts() -> list[str]:
    hosts = list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not hosts:
        hosts = [".localhost", "127.0.0.1", "[::1]"]
    return hosts


def origin_check(inner: Any, extra_trusted_origins: list[str] | None = None) -> OriginCheck:
    # The same lists the HTTP side trusts (Django's CSRF origin check works
    # the same way: same origin, or exactly a trusted one).
    trusted = [*settings.CSRF_TRUSTED_ORIGINS, *(extra_trusted_origins or [])]
    return OriginCheck(inner, trusted, allowed_hosts())
