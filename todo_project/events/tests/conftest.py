"""A real Kafka-protocol broker for the bridge tests (``todo_project.testing.Broker``)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from todo_project.testing import Broker


@pytest.fixture(scope="session")
def kafka_broker() -> Iterator[Broker]:
    broker = Broker()
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def kafka_settings(settings, kafka_broker: Broker):
    """Point the app at the broker, with topics of this test's own (a fresh prefix)."""
    settings.KAFKA_BOOTSTRAP_SERVERS = kafka_broker.bootstrap
    settings.KAFKA_TOPIC_PREFIX = f"t{uuid.uuid4().hex[:8]}."
    settings.KAFKA_DELIVERY_TIMEOUT_MS = 3000
    return settings
