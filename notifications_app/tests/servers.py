"""Local HTTP servers speaking the outside contracts: SendGrid v3 /mail/send and webhook receivers."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from todo_project.testing import serving


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    received_at: float = 0.0  # time.time() when the request arrived

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Reply:
    """One scripted answer: a status, extra headers (``Retry-After``), and how long to wait first."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    delay_seconds: float = 0.0


@dataclass
class FakeServer:
    """Answers with the queued statuses (or ``Reply``s) in order, then ``default_status``."""

    url: str = ""
    requests: list[Recorded] = field(default_factory=list)
    statuses: list[int | Reply] = field(default_factory=list)
    default_status: int = 200
    delay_seconds: float = 0.0
    location: str = ""

    def next_reply(self) -> Reply:
        queued = self.statuses.pop(0) if self.statuses else self.default_status
        return queued if isinstance(queued, Reply) else Reply(queued)


API_KEY = "SG.test-key"


def _sendgrid_problem(request: Recorded) -> str | None:
    """The subset of SendGrid's request validation that a malformed client would trip."""
    if request.method != "POST" or request.path != "/v3/mail/send":
        return f"unknown endpoint {request.method} {request.path}"
    if request.headers.get("authorization") != f"Bearer {API_KEY}":
        return "unauthorized"
    try:
        body = request.json()
    except ValueError:
        return "body is not JSON"
    to = body.get("personalizations", [{}])[0].get("to", [{}])[0].get("email")
    if not to or not body.get("from", {}).get("email") or not body.get("subject"):
        return "personalizations.to, from and subject are required"
    if not any(c.get("type") == "text/plain" and c.get("value") for c in body.get("content", [])):
        return "content is required"
    return None


@contextmanager
def serve(kind: str) -> Iterator[FakeServer]:
    state = FakeServer(default_status=202 if kind == "sendgrid" else 200)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            length = int(self.headers.get("Content-Length") or 0)
            request = Recorded(
                method="POST",
                path=self.path,
                headers={k.lower(): v for k, v in self.headers.items()},
                body=self.rfile.read(length),
                received_at=time.time(),
            )
            state.requests.append(request)
            reply = state.next_reply()
            if state.delay_seconds or reply.delay_seconds:
                time.sleep(state.delay_seconds or reply.delay_seconds)
            status = reply.status
            payload = b""
            if kind == "sendgrid":
                problem = _sendgrid_problem(request)
                if problem:
                    status = 401 if problem == "unauthorized" else 400
                if status >= 400:
                    payload = json.dumps({"errors": [{"message": problem or f"status {status}"}]}).encode()
            try:
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", state.location or "/elsewhere")
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout test)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    with serving(server):
        yield state
