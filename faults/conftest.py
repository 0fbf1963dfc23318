"""Fixtures of the fault suite: one cluster of real servers and processes per test module.

The default run is CI-sized; ``-m "faults and not long"`` is what CI runs (all
of faults/ but the long variants), ``FAULTS_LONG=1`` enables the long ones.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from faults.harness import Cluster


def pytest_collection_modifyitems(config, items):
    if os.environ.get("FAULTS_LONG"):
        return
    skip = pytest.mark.skip(reason="long fault run: set FAULTS_LONG=1")
    for item in items:
        if "long" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="module")
def cluster(request) -> Iterator[Cluster]:
    kafka = getattr(request.module, "KAFKA", True)
    extra_env = getattr(request.module, "EXTRA_ENV", None)
    c = Cluster(kafka=kafka, extra_env=extra_env)
    try:
        c.start_servers()
        yield c
    finally:
        c.shutdown()
