"""Which peers may speak for the original client: the trusted proxies.

``FORWARDED_ALLOW_IPS`` (addresses or networks, comma-separated; ``*`` for
any) is the one list: gunicorn (deploy/gunicorn.conf.py) and uvicorn read the
same variable to decide whose ``X-Forwarded-*`` headers they believe, and
Django believes ``X-Forwarded-Proto: https`` (``SECURE_PROXY_SSL_HEADER``)
only when the connection comes from one of these addresses;
``ForwardedProtoMiddleware`` drops the header from anyone else, so a client
talking to the app directly cannot pass a plain-HTTP request off as HTTPS
(secure cookies, SSL redirect, CSRF's Referer rules). Client addresses for
the throttles are derived the same way (see docs/auth.md): only a trusted
proxy's X-Forwarded-For counts.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(values: Iterable[str]) -> tuple[Network, ...] | None:
    """The trusted networks; None means every peer (``*``). Bad entries fail loudly."""
    networks: list[Network] = []
    for value in values:
        if value == "*":
            return None
        try:
            networks.append(ipaddress.ip_network(value, strict=False))
        except ValueError as exc:
            raise ImproperlyConfigured(
                f"FORWARDED_ALLOW_IPS: {value!r} is not an IP address or network"
            ) from exc
    return tuple(networks)


@lru_cache(maxsize=8)
def _networks(values: tuple[str, ...]) -> tuple[Network, ...] | None:
    return parse_networks(values)


def is_trusted_proxy(address: str) -> bool:
    """Whether the peer ``address`` (REMOTE_ADDR) is one of FORWARDED_ALLOW_IPS."""
    networks = _networks(tuple(settings.FORWARDED_ALLOW_IPS))
    if networks is None:
        return True
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return False  # a Unix socket peer, or nothing
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return any(ip in network for network in networks)


class ForwardedProtoMiddleware:
    """Forget ``X-Forwarded-Proto`` unless a trusted proxy sent it (first in MIDDLEWARE)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "HTTP_X_FORWARDED_PROTO" in request.META and not is_trusted_proxy(
            request.META.get("REMOTE_ADDR", "")
        ):
            del request.META["HTTP_X_FORWARDED_PROTO"]
        return self.get_response(request)
