"""Fixtures for the task API tests: tasks made through the service, outbox helpers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tasks_app import services
from tasks_app.models import Task


@pytest.fixture
def make_task(alice) -> Callable[..., Task]:
    def make(owner: Any = None, **values: Any) -> Task:
        values.setdefault("title", "A task")
        return services.task_create(owner=owner or alice, **values)

    return make
