"""Concurrent writes against real PostgreSQL: row locks keep the invariants."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tasks_app import services
from tasks_app.models import Task
from todo_project.testing import run_in_threads

pytestmark = pytest.mark.django_db(transaction=True)


def _in_threads(count: int, work: Callable[[], object]) -> list[BaseException]:
    return run_in_threads(*[work] * count)[1]


def test_it_gives_concurrent_creates_distinct_positions_at_the_end(alice):
    services.task_create(owner=alice, title="first")

    errors = _in_threads(6, lambda: services.task_create(owner=alice, title="racing"))

    assert errors == []
    positions = sorted(Task.objects.values_list("position", flat=True))
    assert positions == list(range(7))


def test_it_applies_concurrent_toggles_one_after_the_other(alice):
    task = services.task_create(owner=alice, title="flip")

    errors = _in_threads(4, lambda: services.task_toggle(user=alice, task_id=task.pk))

    assert errors == []
    task.refresh_from_db()
    # four flips in sequence: back to open, and every flip counted
    assert task.is_completed is False
    assert task.version == 5


def test_it_lets_only_one_of_two_writers_on_the_same_version_through(alice):
    task = services.task_create(owner=alice, title="v1")
    outcomes: list[str] = []

    def write() -> None:
        try:
            services.task_update(user=alice, task_id=task.pk, values={"title": "mine"}, expected_version=1)
            outcomes.append("applied")
        except services.VersionConflictError:
            outcomes.append("conflict")

    assert _in_threads(2, write) == []

    assert sorted(outcomes) == ["applied", "conflict"]
    task.refresh_from_db()
    assert task.version == 2
