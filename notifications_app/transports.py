"""Outbound delivery: SendGrid email, Standard Webhooks POSTs and Web Push.

Each sender returns a ``SendResult``: ok, or a failure that is transient
(retried with backoff) or permanent (never retried). Neither raises for a
remote failure, so the delivery service has one place to decide.
"""

from __future__ import annotations

import base64
import email.utils
import functools
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

from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from py_vapid import Vapid
from python_http_client import exceptions as sg_exceptions
from pywebpush import WebPusher, WebPushException
from sendgrid import SendGridAPIClient
from sendgrid.helpers.mail import CustomArg, Mail

from todo_project.errors import DomainError
from todo_project.keys import vapid_private_key

TRANSIENT_STATUSES = frozenset({408, 425, 429})


@dataclass(frozen=True)
class SendResult:
    ok: bool
    transient: bool = False
    status: int | None = None
    error: str = ""
    # The endpoint said it is gone for good (webhook 410, push 404/410).
    gone: bool = False
    # Seconds the receiver asked us to wait (Retry-After of a 429/503).
    retry_after: float | None = None


def _classify(status: int, text: str, retry_after: float | None = None) -> SendResult:
    if 200 <= status < 300:
        return SendResult(ok=True, status=status)
    transient = status in TRANSIENT_STATUSES or status >= 500
    return SendResult(
        ok=False,
        transient=transient,
        status=status,
        error=f"HTTP {status}: {text[:300]}",
        retry_after=retry_after if transient else None,
    )


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """A Retry-After header (RFC 9110 §10.2.3: delay-seconds or HTTP-date) in seconds; None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


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
        # SendGrid's 429 (rate limit) and a 503 may say when to come back.
        headers = exc.headers if hasattr(exc.headers, "get") else {}
        retry_after = headers.get("Retry-After") or headers.get("retry-after")
        return _classify(int(exc.status_code), body, retry_after_seconds(retry_after))
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


def resolve_webhook_url(
    url: str, *, field: str = "webhook_url", what: str = "Webhook URL"
) -> tuple[str, str, int, str]:
    """Check a webhook URL against the SSRF rules; returns (scheme, host, port, first allowed IP).

    http(s) only; every address the host resolves to must be public (not
    private, loopback, link-local, multicast or reserved) unless
    WEBHOOK_ALLOW_PRIVATE_NETWORKS is on. Checked at registration and again
    before every send, connecting to the very IP checked (DNS rebinding).
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise DomainError(f"{what} must use http or https.", field=field)
    if not parts.hostname:
        raise DomainError(f"{what} has no host.", field=field)
    if parts.username or parts.password:
        raise DomainError(f"{what} must not contain credentials.", field=field)
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise DomainError(f"{what} has an invalid port.", field=field) from None
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise DomainError(f"{what} host {parts.hostname!r} does not resolve.", field=field) from None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    blocked = [ip for ip in addresses if not _ip_allowed(ip)]
    if blocked or not addresses:
        raise DomainError(
            f"{what} resolves to a non-public address ({blocked[0] if blocked else 'none'}).",
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


@dataclass(frozen=True)
class PostAnswer:
    status: int
    text: str
    headers: dict[str, str]


def post_pinned(
    url: str, *, body: bytes, headers: dict[str, str], timeout: float, what: str = "Webhook URL"
) -> PostAnswer | SendResult:
    """POST to ``url`` through the SSRF guard, connected to the very IP it checked.

    Returns the answer (status, up to 2000 characters of body, lower-cased
    headers), or a failed ``SendResult``: permanent when the guard refuses the
    URL, transient for network errors and timeouts. Redirects are not followed.
    """
    try:
        scheme, host, port, ip = resolve_webhook_url(url, what=what)
    except DomainError as exc:
        return SendResult(ok=False, transient=False, error=f"refused: {exc.message}")
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    conn_class = _PinnedHTTPSConnection if scheme == "https" else _PinnedHTTPConnection
    conn = conn_class(host, port, ip, timeout)
    try:
        conn.request("POST", target, body=body, headers=headers)
        response = conn.getresponse()
        text = response.read(2000).decode("utf-8", "replace")
        answer_headers = {k.lower(): v for k, v in response.getheaders()}
    except (OSError, http.client.HTTPException) as exc:
        return SendResult(ok=False, transient=True, error=f"{type(exc).__name__}: {exc}"[:500])
    finally:
        conn.close()
    return PostAnswer(status=response.status, text=text, headers=answer_headers)


def redirect_refused(status: int) -> SendResult:
    return SendResult(
        ok=False, transient=False, status=status, error=f"HTTP {status}: redirects are not followed"
    )


def send_webhook(
    *, url: str, secret: str, msg_id: str, payload: dict[str, Any], previous_secrets: tuple[str, ...] = ()
) -> SendResult:
    """POST the signed payload. Redirects are not followed (a 3xx is a permanent failure).

    ``webhook-signature`` holds one signature per secret, space-separated as
    Standard Webhooks specify: the current one first, then those a rotation
    replaced (still inside their window), so a receiver holding either verifies.
    """
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    timestamp = int(time.time())
    signatures = [
        sign_webhook(secret=key, msg_id=msg_id, timestamp=timestamp, body=body)
        for key in (secret, *previous_secrets)
        if key
    ]
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Taskbeat-Webhooks/1",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signatures),
    }
    answer = post_pinned(url, body=body, headers=headers, timeout=settings.WEBHOOK_TIMEOUT_SECONDS)
    if isinstance(answer, SendResult):
        return answer
    if answer.status == 410:
        return SendResult(ok=False, transient=False, status=410, error="HTTP 410: endpoint gone", gone=True)
    if 300 <= answer.status < 400:
        return redirect_refused(answer.status)
    return _classify(answer.status, answer.text, retry_after_seconds(answer.headers.get("retry-after")))


# --- Web Push (RFC 8030 delivery, RFC 8291 encryption, RFC 8292 VAPID) ----------

# Lifetime of the VAPID token in each request; RFC 8292 §2 allows at most 24 h.
VAPID_TOKEN_SECONDS = 12 * 3600
URGENCIES = ("very-low", "low", "normal", "high")


@functools.cache
def _vapid_key(text: str) -> ec.EllipticCurvePrivateKey:
    return vapid_private_key(text)


def push_origin(endpoint: str) -> str:
    """``scheme://host[:port]`` of a push endpoint: the VAPID audience and what events may name."""
    parts = urlsplit(endpoint)
    host = (parts.hostname or "").lower()
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme.lower()}://{host}{port}"


def vapid_headers(*, endpoint: str, now: float | None = None) -> dict[str, str]:
    """``Authorization: vapid t=<ES256 JWT>, k=<public key>`` for a request to ``endpoint``'s push service."""
    claims = {
        "aud": push_origin(endpoint),
        "exp": int(now if now is not None else time.time()) + VAPID_TOKEN_SECONDS,
        "sub": settings.VAPID_SUBJECT,
    }
    return dict(Vapid(private_key=_vapid_key(settings.VAPID_PRIVATE_KEY)).sign(claims))


def send_push(
    *,
    endpoint: str,
    p256dh: str,
    auth: str,
    payload: dict[str, Any],
    ttl: int,
    urgency: str = "normal",
    topic: str = "",
) -> SendResult:
    """Encrypt ``payload`` for one browser (aes128gcm) and POST it to its push service.

    2xx (201 Created) ok; 404/410 gone (the subscription expired or was
    revoked: delete it); 429 and 5xx transient, with the service's
    Retry-After; 400, 413 and other 4xx permanent; redirects are not followed.
    The endpoint passes the same SSRF guard as webhooks, connected to the IP
    it checked.
    """
    if urlsplit(endpoint).scheme.lower() != "https":
        return SendResult(ok=False, error="refused: push endpoints must use https")
    data = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    try:
        body = WebPusher({"endpoint": endpoint, "keys": {"p256dh": p256dh, "auth": auth}}).encode(
            data, content_encoding="aes128gcm"
        )["body"]
    except (WebPushException, ValueError) as exc:
        return SendResult(ok=False, error=f"refused: the subscription's keys do not work ({exc})"[:500])
    headers = {
        "Content-Type": "application/octet-stream",
        "Content-Encoding": "aes128gcm",
        "TTL": str(ttl),
        "Urgency": urgency if urgency in URGENCIES else "normal",
        "User-Agent": "Taskbeat-Push/1",
        **vapid_headers(endpoint=endpoint),
    }
    if topic:
        headers["Topic"] = topic
    answer = post_pinned(
        endpoint, body=body, headers=headers, timeout=settings.WEB_PUSH_TIMEOUT_SECONDS, what="Push endpoint"
    )
    if isinstance(answer, SendResult):
        return answer
    if answer.status in (404, 410):
        return SendResult(
            ok=False, status=answer.status, error=f"HTTP {answer.status}: subscription gone", gone=True
        )
    if 300 <= answer.status < 400:
        return redirect_refused(answer.status)
    return _classify(answer.status, answer.text, retry_after_seconds(answer.headers.get("retry-after")))
