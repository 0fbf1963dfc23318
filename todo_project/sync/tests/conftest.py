"""Real ASGI servers (uvicorn subprocesses) and real WebSocket clients.

The servers talk to the test database and the test Redis DB, so a test must
be ``@pytest.mark.django_db(transaction=True)``: rows it commits are visible
to the server process, and events it records are dispatched (Celery eager)
in the test process, whose push handler publishes through channels-redis to
the servers.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tasks_app import services as task_services
from todo_project.testing import database_url, free_port

BASE_DIR = Path(__file__).resolve().parents[3]
RECV_TIMEOUT = 15.0


def _server_env(extra: dict[str, str]) -> dict[str, str]:
    db = settings.DATABASES["default"]
    env = dict(os.environ)
    env.pop("DATABASE_TEST_NAME", None)
    env.update(
        {
            "DEBUG": "true",
            "DATABASE_URL": database_url(dict(db)),
            "REDIS_URL": str(settings.REDIS_URL),
            "JWT_PRIVATE_KEY": str(settings.JWT_PRIVATE_KEY),
            "JWT_PUBLIC_KEY": str(settings.JWT_PUBLIC_KEY),
            "DATABASE_POOL_MAX_SIZE": "4",
            "LOG_LEVEL": "WARNING",
        }
    )
    env.update(extra)
    return env


@dataclass
class AsgiServer:
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    def url(self, path: str = "/ws/tasks/") -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    def http(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def start_server(log_dir: Path, **env: str) -> AsgiServer:
    port = free_port()
    log_path = log_dir / f"uvicorn-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "todo_project.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--lifespan",
                "off",
                "--no-access-log",
            ],
            cwd=BASE_DIR,
            env=_server_env(env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = AsgiServer(port, process, log_path)
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"uvicorn exited with {process.returncode}:\n{server.log()}")
        try:
            with urllib.request.urlopen(server.http("/health"), timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return server
        except OSError:
            pass
        if time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"uvicorn did not answer /health:\n{server.log()}")
        time.sleep(0.2)


@pytest.fixture(scope="session")
def asgi_servers(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[list[AsgiServer]]:
    """Two ASGI server processes sharing the test database and Redis."""
    log_dir = tmp_path_factory.mktemp("uvicorn")
    servers: list[AsgiServer] = []
    try:
        # Eager Celery: a REST write served by a server process dispatches its
        # events (and so pushes) in that process, as a worker would.
        servers.append(start_server(log_dir, CELERY_TASK_ALWAYS_EAGER="true"))
        servers.append(start_server(log_dir, CELERY_TASK_ALWAYS_EAGER="true"))
        yield servers
    finally:
        for server in servers:
            server.stop()


@pytest.fixture
def server(asgi_servers: list[AsgiServer]) -> AsgiServer:
    return asgi_servers[0]


@pytest.fixture
def other_server(asgi_servers: list[AsgiServer]) -> AsgiServer:
    return asgi_servers[1]


@pytest.fixture
def own_server(django_db_setup, tmp_path) -> Iterator[Any]:
    """Start a dedicated server with extra environment (a test's own settings)."""
    started: list[AsgiServer] = []

    def start(**env: str) -> AsgiServer:
        started.append(start_server(tmp_path, **env))
        return started[-1]

    yield start
    for srv in started:
        srv.stop()


def token_for(user: Any, lifetime_seconds: int | None = None) -> str:
    token = AccessToken.for_user(user)
    if lifetime_seconds is not None:
        from datetime import timedelta

        token.set_exp(lifetime=timedelta(seconds=lifetime_seconds))
    return str(token)


def ws_connect(
    server: AsgiServer, user: Any = None, *, path: str = "/ws/tasks/", **kwargs: Any
) -> ClientConnection:
    """Connect with the bearer subprotocol when a user is given."""
    if user is not None:
        kwargs.setdefault("subprotocols", ["bearer", token_for(user)])
    kwargs.setdefault("compression", None)
    kwargs.setdefault("open_timeout", 10)
    kwargs.setdefault("legacy", True)  # a plain connection object; tests close it themselves
    return connect(server.url(path), **kwargs)


def recv_json(ws: ClientConnection, timeout: float = RECV_TIMEOUT) -> dict[str, Any]:
    return json.loads(ws.recv(timeout=timeout))


def recv_until(ws: ClientConnection, type_: str, timeout: float = RECV_TIMEOUT) -> dict[str, Any]:
    """Next frame of ``type_``, skipping others (e.g. the connected frame)."""
    deadline = time.monotonic() + timeout
    while True:
        frame = recv_json(ws, max(0.1, deadline - time.monotonic()))
        if frame["type"] == type_:
            return frame


def subscribed(server: AsgiServer, user: Any, channel: str = "tasks", **kwargs: Any) -> ClientConnection:
    """An open connection subscribed to ``channel``, past its handshake frames."""
    ws = ws_connect(server, user, **kwargs)
    assert recv_json(ws)["type"] == "connected"
    ws.send(json.dumps({"type": "subscribe", "channel": channel}))
    assert recv_json(ws) == {"type": "subscribed", "channel": channel}
    return ws


def close_code(ws: ClientConnection, timeout: float = RECV_TIMEOUT) -> int | None:
    """Read until the server closes; the close code it sent."""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ws.recv(timeout=max(0.1, deadline - time.monotonic()))
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None
    raise AssertionError("the server did not close the connection")


# --- driving changes through the event backbone --------------------------------------


def notification_data(user: Any) -> dict[str, Any]:
    """The data of a notification.created event for an in-app reminder."""
    now = timezone.now().isoformat()
    return {
        "notification_id": str(uuid.uuid4()),
        "user_id": user.pk,
        "channel": "in_app",
        "reminder_id": None,
        "task_id": None,
        "kind": "reminder",
        "title": "Buy milk",
        "body": "Due at 09:00",
        "occurrence_at": now,
        "created_at": now,
        "read_at": None,
    }


class TaskChanges:
    """Task changes through the task services (rows and events in one
    transaction, dispatched on commit; Celery is eager in the test process),
    made as if by a REST call carrying ``request_id``."""

    def __init__(self, request_id: str | None = None) -> None:
        self.request_id = request_id

    def _context(self) -> Any:
        from todo_project.events.context import request_context

        return request_context({"request_id": self.request_id or str(uuid.uuid4())})

    def create(self, user: Any, title: str = "Buy milk") -> Any:
        with self._context():
            return task_services.task_create(owner=user, title=title)

    def update(self, user: Any, task: Any, title: str) -> Any:
        with self._context():
            return task_services.task_update(user=user, task_id=task.id, values={"title": title}).task

    def complete(self, user: Any, task: Any) -> Any:
        with self._context():
            return task_services.task_complete(user=user, task_id=task.id).task

    def delete(self, user: Any, task: Any) -> None:
        with self._context():
            task_services.task_delete(user=user, task_id=task.id)

    def reorder(self, user: Any, tasks: list[Any]) -> None:
        with self._context():
            task_services.task_reorder(user=user, task_ids=[task.id for task in tasks])


@pytest.fixture
def changes() -> TaskChanges:
    return TaskChanges()
