"""Fixtures for the assistant tests: chat helpers and a frozen clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine

from todo_project.events.dispatcher import dispatch_ready

# A Thursday, 10:00 in Berlin (alice's zone).
NOW = datetime(2026, 3, 5, 9, 0, tzinfo=UTC)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def chat(frozen, alice_client) -> Callable[..., dict[str, Any]]:
    """Send one message as alice; returns the JSON reply (asserting a 200)."""

    def send(message: str, client: Any = None, **extra: Any) -> dict[str, Any]:
        response = (client or alice_client).post("/api/chat", {"message": message, **extra}, format="json")
        assert response.status_code == 200, response.content
        return response.json()

    return send


@pytest.fixture
def dispatch() -> Callable[[], int]:
    """Run every pending event's handlers now (what the worker does after commit)."""
    return dispatch_ready
