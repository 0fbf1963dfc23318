"""The bridge tests' settings: the session's broker (root conftest.py) and topics of their own."""

from __future__ import annotations

import uuid

import pytest

from todo_project.testing import Broker


@pytest.fixture
def kafka_settings(settings, kafka_broker: Broker):
    """Point the app at the broker, with topics of this test's own (a fresh prefix)."""
    settings.KAFKA_BOOTSTRAP_SERVERS = kafka_broker.bootstrap
    settings.KAFKA_TOPIC_PREFIX = f"t{uuid.uuid4().hex[:8]}."
    settings.KAFKA_DELIVERY_TIMEOUT_MS = 3000
    return settings
