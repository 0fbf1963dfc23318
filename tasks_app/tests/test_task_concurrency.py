"""Concurrent writes against real PostgreSQL: row locks keep the invariants."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.db import connection

from tasks_app import services
from tasks_app.models import Task

pytestmark = pytest.mark.django_db(transaction=True)


def _in_threads(count: int, work: Callable[[], object]) -> list[BaseException]:
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            work()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


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
