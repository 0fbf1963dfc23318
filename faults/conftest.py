"""Fixtures of the fault suite: one cluster of real servers and processes per test module.

The default run is CI-sized; ``-m "faults and not long"`` is what CI runs (all
of faults/ but the long variants), ``FAULTS_LONG=1`` enables the long ones.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from faults.harness import Cluster
from notifications_app.tests.servers import API_KEY, FakeServer, serve


def pytest_collection_modifyitems(config, items):
    if os.environ.get("FAULTS_LONG"):
        return
    skip = pytest.mark.skip(reason="long fault run: set FAULTS_LONG=1")
    for item in items:
        if "long" in item.keywords:
            item.add_marker(skip)


@contextmanager
def running_cluster(*, kafka: bool = True, extra_env: dict[str, str] | None = None) -> Iterator[Cluster]:
    c = Cluster(kafka=kafka, extra_env=extra_env)
    try:
        c.start_servers()
        yield c
    finally:
        c.shutdown()


@pytest.fixture(scope="module")
def fakes() -> Iterator[tuple[FakeServer, FakeServer]]:
    """A fake SendGrid and a webhook receiver (local servers speaking those contracts)."""
    with serve("sendgrid") as sendgrid, serve("webhook") as receiver:
        yield sendgrid, receiver


@pytest.fixture(scope="module")
def cluster(request) -> Iterator[Cluster]:
    """The module's cluster; ``KAFKA = False`` in a module leaves the broker out.

    A module with ``USES_FAKES = True`` gets SENDGRID_API_HOST pointing at the
    ``fakes`` SendGrid (email channel on); ``EXTRA_ENV`` adds settings for
    every process of the module's cluster.
    """
    extra_env: dict[str, str] = dict(getattr(request.module, "EXTRA_ENV", {}))
    if getattr(request.module, "USES_FAKES", False):
        sendgrid, _ = request.getfixturevalue("fakes")
        extra_env.update({"SENDGRID_API_KEY": API_KEY, "SENDGRID_API_HOST": sendgrid.url})
    with running_cluster(kafka=getattr(request.module, "KAFKA", True), extra_env=extra_env) as c:
        yield c
