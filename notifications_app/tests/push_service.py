"""A local Web Push service: the push-service side of RFC 8030 over real TLS, plus a browser's keys.

It checks what a real push service checks and what a browser then does:
the TTL header (RFC 8030 §5.2), the VAPID ``Authorization: vapid t=…, k=…``
header (RFC 8292: an ES256 JWT whose ``aud`` is this service's origin, a
future ``exp`` at most 24 h away, a ``sub`` that is a mailto: or https: URI,
signed by ``k``), and that the body decrypts (RFC 8291, aes128gcm) with the
subscription's private key and auth secret — the browser's side, done with
``http_ece``. It answers 201 Created with a Location, or the statuses a test
queues (410, 429 with Retry-After, 413, 500 …).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import secrets
import ssl
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import http_ece
import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from todo_project.keys import b64url, b64url_decode
from todo_project.testing import serving

# What push services accept as an encrypted body (RFC 8030 §7.2 says at least 4096).
MAX_BODY = 4096


@dataclass
class Browser:
    """One subscribed browser: the keys it keeps private and what it gives the server."""

    endpoint: str
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes

    @property
    def p256dh(self) -> str:
        point = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return b64url(point)

    def subscription_json(self) -> dict[str, Any]:
        """What ``PushSubscription.toJSON()`` gives a page."""
        return {
            "endpoint": self.endpoint,
            "expirationTime": None,
            "keys": {"p256dh": self.p256dh, "auth": b64url(self.auth)},
        }


@dataclass
class Delivered:
    path: str
    headers: dict[str, str]
    status: int
    # Set when the request was well-formed and accepted for delivery.
    message: dict[str, Any] | None = None
    claims: dict[str, Any] | None = None
    problem: str = ""


@dataclass
class PushService:
    origin: str = ""
    ca_file: str = ""
    browsers: dict[str, Browser] = field(default_factory=dict)
    requests: list[Delivered] = field(default_factory=list)
    # (status, extra headers) to answer next, in order, whatever the request.
    queued: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    # Subscriptions the browser revoked: a valid message to them answers 410 Gone.
    revoked: set[str] = field(default_factory=set)
    # The VAPID public key (base64url) the server was told; None = accept any valid signer.
    expected_vapid_key: str | None = None
    # Where a browser test reads back what was delivered (tests/test_web.py sets it).
    mailbox_url: str = ""

    def browser(self) -> Browser:
        token = secrets.token_urlsafe(16)
        browser = Browser(
            endpoint=f"{self.origin}/push/{token}",
            private_key=ec.generate_private_key(ec.SECP256R1()),
            auth=os.urandom(16),
        )
        self.browsers[f"/push/{token}"] = browser
        return browser

    def delivered(self) -> list[Delivered]:
        return [r for r in self.requests if r.message is not None]

    def check(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, Delivered]:
        record = Delivered(path=path, headers=headers, status=0)
        browser = self.browsers.get(path)
        if browser is None:
            return 404, record
        if "ttl" not in headers or not headers["ttl"].isdigit():
            record.problem = "TTL header missing"
            return 400, record
        if headers.get("content-encoding") != "aes128gcm":
            record.problem = "Content-Encoding must be aes128gcm"
            return 415, record
        if len(body) > MAX_BODY:
            return 413, record
        try:
            record.claims = self._vapid(headers.get("authorization", ""))
        except ValueError as exc:
            record.problem = f"VAPID: {exc}"
            return 401, record
        try:
            plain = http_ece.decrypt(
                body, private_key=browser.private_key, auth_secret=browser.auth, version="aes128gcm"
            )
            record.message = json.loads(plain)
        except Exception as exc:  # noqa: BLE001 - any decryption failure is the client's
            record.problem = f"payload: {type(exc).__name__}: {exc}"
            return 400, record
        if path in self.revoked:
            record.message = None
            return 410, record
        return 201, record

    def _vapid(self, authorization: str) -> dict[str, Any]:
        scheme, _, params = authorization.partition(" ")
        if scheme.lower() != "vapid":
            raise ValueError(f"scheme {scheme!r}, not vapid")
        parts = dict(p.strip().split("=", 1) for p in params.split(",") if "=" in p)
        if "t" not in parts or "k" not in parts:
            raise ValueError("t= and k= are required")
        if self.expected_vapid_key is not None and parts["k"] != self.expected_vapid_key:
            raise ValueError("k is not the application server key the subscription was made with")
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64url_decode(parts["k"]))
        if jwt.get_unverified_header(parts["t"]).get("alg") != "ES256":
            raise ValueError("the JWT must be ES256")
        try:
            claims = jwt.decode(
                parts["t"],
                public,
                algorithms=["ES256"],
                audience=self.origin,
                options={"require": ["aud", "exp", "sub"]},
            )
        except jwt.PyJWTError as exc:
            raise ValueError(str(exc)) from exc
        if claims["exp"] > time.time() + 24 * 3600:
            raise ValueError("exp more than 24 hours ahead (RFC 8292 §2)")
        if not str(claims["sub"]).startswith(("mailto:", "https://")):
            raise ValueError("sub must be a mailto: or https: URI")
        return claims


def _tls_files(folder: Path) -> tuple[str, str, str]:
    """A CA and a server certificate for 127.0.0.1 signed by it: (ca.pem, cert.pem, key.pem)."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test push CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=400))
        .not_valid_after(now + dt.timedelta(days=400))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=400))
        .not_valid_after(now + dt.timedelta(days=400))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = (folder / "ca.pem", folder / "cert.pem", folder / "key.pem")
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return str(paths[0]), str(paths[1]), str(paths[2])


@contextmanager
def serve_push() -> Iterator[PushService]:
    """Run the push service on https://127.0.0.1:<port> until the block ends.

    Clients trust it through ``state.ca_file`` (point ``SSL_CERT_FILE`` at it).
    """
    state = PushService()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, record = state.check(self.path, headers, body)
            extra: dict[str, str] = {}
            if state.queued and status == 201:
                status, extra = state.queued.pop(0)
                if status != 201:
                    record.message = None
            record.status = status
            state.requests.append(record)
            self.send_response(status)
            if status == 201:
                self.send_header("Location", f"{state.origin}/message/{secrets.token_urlsafe(8)}")
            for name, value in extra.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    with tempfile.TemporaryDirectory() as folder:
        ca_file, cert_file, key_file = _tls_files(Path(folder))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file, key_file)
        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        state.origin = f"https://127.0.0.1:{server.server_address[1]}"
        state.ca_file = ca_file
        with serving(server):
            yield state
