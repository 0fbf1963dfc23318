"""Project deletes racing task writes into the project: no deadlock, nothing half-done.

Real concurrent transactions on PostgreSQL (threads with their own connections).
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from tasks_app import services
from tasks_app.models import Project, Task
from tasks_app.projects import services as project_services
from todo_project.errors import DomainError

pytestmark = pytest.mark.django_db(transaction=True)


def _run_together(*targets) -> list[str]:
    errors: list[str] = []
    start = threading.Barrier(len(targets))

    def wrap(target):
        def run():
            try:
                start.wait(10)
                target()
            except DomainError as exc:  # an expected refusal, not a failure
                errors.append(f"refused: {exc.message}")
            except BaseException as exc:  # noqa: BLE001 - reported to the test
                errors.append(f"error: {exc!r}"[:300])
            finally:
                connection.close()

        return run

    threads = [threading.Thread(target=wrap(target)) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads), "a writer hung"
    return errors


def test_deleting_a_project_while_tasks_are_created_and_moved_into_it_does_not_deadlock(alice):
    # given a project with tasks, and more tasks elsewhere
    work = project_services.project_create(owner=alice, name="Work")
    inbox = project_services.inbox_ensure(user_id=alice.pk)
    for i in range(5):
        services.task_create(owner=alice, title=f"in work {i}", project_id=work.pk)
    others = [services.task_create(owner=alice, title=f"other {i}") for i in range(4)]

    # when the project is deleted (tasks moved to the Inbox) while tasks are
    # created in it and moved into it
    def delete():
        project_services.project_delete(user=alice, project_id=work.pk, tasks="move", move_to=inbox)

    def create(i):
        return lambda: services.task_create(owner=alice, title=f"new {i}", project_id=work.pk)

    def move(task):
        return lambda: services.task_move(user=alice, task_id=task.pk, placement={"project_id": work.pk})

    errors = _run_together(delete, *(create(i) for i in range(3)), *(move(t) for t in others))

    # then nothing failed other than writers that came after the delete and
    # were told the project is gone, and no task points at a deleted project
    assert [e for e in errors if not e.startswith("refused:")] == []
    assert not Project.objects.filter(pk=work.pk).exists() or Task.objects.filter(project_id=work.pk).exists()
    project_ids = set(Task.objects.values_list("project_id", flat=True))
    assert project_ids <= set(Project.objects.values_list("pk", flat=True))
