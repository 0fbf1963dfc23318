"""Outbound delivery: SendGrid email and Standard Webhooks POSTs.

Each sender returns a ``SendResult``: ok, or a failure that is transient
(retried with backoff) or permanent (never retried). Neither raises for a
remote failure, so the delivery service has one place to decide.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import ipaddress
import json
import re
import secrets
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from python_http_client import exceptions as sg_exceptions
from sendgrid import SendGridAPIClient
from sendgrid.helpers.mail import CustomArg, Mail

from todo_project.errors import DomainError

TRANSIENT_STATUSES = frozenset({408, 425, 429})


@dataclass(frozen=True)
class SendResult:
    ok: bool
    transient: bool = False
    status: int | None = None
    error: str = ""
    # The endpoint said it is gone for good (webhook 410).
    gone: bool = False


def _classify(status: int, text: str) -> SendResult:
    if 200 <= status < 300:
        return SendResult(ok=True, status=status)
    transient = status in TRANSIENT_STATUSES or status >= 500
    return SendResult(ok=False, transient=transient, status=status, error=f"HTTP {status}: {text[:300]}")


# --- email (SendGrid v3 /mail/send) -------------------------------------------


_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


def header_safe(value: str) -> str:
    """``value`` fit for a mail header: CR, LF and other control characters become one space.

    Task titles reach the subject; a title with a line break must never add a
    header (``Bcc:``) or end the headers early, whatever the mail path does
    with it downstream.
    """
    return _CONTROL_CHARS.sub(" ", value).strip()


def send_email(*, to: str, subject: str, text: str, html: str, delivery_id: str = "") -> SendResult:
    """Send one email through SendGrid: 2xx ok; 429/5xx/network transient; other 4xx permanent.

    ``delivery_id`` goes out as the ``taskbeat_delivery_id`` custom argument
    (SendGrid echoes custom args in its event webhook), the same on every
    retry of one notification: a send repeated after a worker died between
    the provider's 202 and recording it is recognisable as one delivery.
    """
    client = SendGridAPIClient(api_key=settings.SENDGRID_API_KEY, host=settings.SENDGRID_API_HOST)
    # python-http-client has no timeout by default; a hung API must not hang a worker.
    client.client.timeout = settings.SENDGRID_TIMEOUT_SECONDS
    message = Mail(
        from_email=header_safe(settings.SENDGRID_FROM_EMAIL),
        to_emails=header_safe(to),
        subject=header_safe(subject),
        plain_text_content=text,
        html_content=html,
    )
    if delivery_id:
        message.custom_arg = CustomArg("taskbeat_delivery_id", delivery_id)
    try:
        response = client.send(message)
    except sg_exceptions.HTTPError as exc:
        body = exc.body.decode("utf-8", "replace") if isinstance(exc.body, bytes) else str(exc.body)
        return _classify(int(exc.status_code), body)
    except (OSError, http.client.HTTPException) as exc:  # URLError, timeouts, resets
        return SendResult(ok=False, transient=True, error=f"{type(exc).__name__}: {exc}"[:500])
    return _classify(int(response.status_code), "")


# --- webhooks (Standard Webhooks) --------------------------------------------


def new_webhook_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def sign_webhook(*, secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header value: ``v1,<base64 HMAC-SHA256(id.timestamp.body)>``."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


# IPv6 ranges that carry an IPv4 address inside them and reach it through a
# translator or tunnel: a webhook there may land on any IPv4 host, private or
# loopback included (2002:7f00:1:: is 127.0.0.1 over 6to4, and Python calls
# it global). No webhook receiver needs one; they are refused outright.
_TRANSLATED_V6 = tuple(
    ipaddress.ip_network(net)
    for net in (
        "2002::/16",  # 6to4 (RFC 3056)
        "2001::/32",  # Teredo (RFC 4380)
        "64:ff9b::/96",  # NAT64, well-known prefix (RFC 6052)
        "64:ff9b:1::/48",  # NAT64, local use (RFC 8215)
        "::/96",  # IPv4-compatible (deprecated, RFC 4291)
        "::ffff:0:0:0/96",  # IPv4-translated (SIIT, RFC 2765)
    )
)


def _ip_allowed(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS:
        return True
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped:  # ::ffff:a.b.c.d is that IPv4 host itself
            ip = ip.ipv4_mapped
        elif any(ip in net for net in _TRANSLATED_V6):
            return False
    return ip.is_global and not (ip.is_multicast or ip.is_reserved)


def resolve_webhook_url(url: str, *, field: str = "webhook_url") -> tuple[str, str, int, str]:
    """Check a webhook URL against the SSRF rules; returns (scheme, host, port, first allowed IP).

    http(s) only; every address the host resolves to must be public (not
    private, loopback, link-local, multicast or reserved) unless
    WEBHOOK_ALLOW_PRIVATE_NETWORKS is on. Checked at registration and again
    before every send, connecting to the very IP checked (DNS rebinding).
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise DomainError("Webhook URL must use http or https.", field=field)
    if not parts.hostname:
        raise DomainError("Webhook URL has no host.", field=field)
    if parts.username or parts.password:
        raise DomainError("Webhook URL must not contain credentials.", field=field)
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise DomainError("Webhook URL has an invalid port.", field=field) from None
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise DomainError(f"Webhook host {parts.hostname!r} does not resolve.", field=field) from None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    blocked = [ip for ip in addresses if not _ip_allowed(ip)]
    if blocked or not addresses:
        raise DomainError(
            f"Webhook URL resolves to a non-public address ({blocked[0] if blocked else 'none'}).",
            field=field,
            code="webhook_url_forbidden",
        )
    return scheme, parts.hostname, port, str(addresses[0])


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, ip: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._ip = ip

    def connect(self) -> None:
        self.sock = socket.create_connection((self._ip, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, ip: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._ip = ip

    def connect(self) -> None:
        sock = socket.create_connection((self._ip, self.port), self.timeout)
        # _context is what HTTPSConnection.__init__ made of context= (no public accessor).
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def send_webhook(*, url: str, secret: str, msg_id: str, payload: dict[str, Any]) -> SendResult:
    """POST the signed payload. Redirects are not followed (a 3xx is a permanent failure)."""
    try:
        scheme, host, port, ip = resolve_webhook_url(url)
    except DomainError as exc:
        return SendResult(ok=False, transient=False, error=f"refused: {exc.message}")
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Taskbeat-Webhooks/1",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign_webhook(secret=secret, msg_id=msg_id, timestamp=timestamp, body=body),
    }
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    conn_class = _PinnedHTTPSConnection if scheme == "https" else _PinnedHTTPConnection
    conn = conn_class(host, port, ip, settings.WEBHOOK_TIMEOUT_SECONDS)
    try:
        conn.request("POST", target, body=body, headers=headers)
        response = conn.getresponse()
        text = response.read(2000).decode("utf-8", "replace")
    except (OSError, http.client.HTTPException) as exc:
        return SendResult(ok=False, transient=True, error=f"{type(exc).__name__}: {exc}"[:500])
    finally:
        conn.close()
    if response.status == 410:
        return SendResult(ok=False, transient=False, status=410, error="HTTP 410: endpoint gone", gone=True)
    if 300 <= response.status < 400:
        return SendResult(
            ok=False,
            transient=False,
            status=response.status,
            error=f"HTTP {response.status}: redirects are not followed",
        )
    return _classify(response.status, text)
