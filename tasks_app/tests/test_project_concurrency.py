"""Project deletes racing task writes into the project: no deadlock, nothing half-done.

Real concurrent transactions on PostgreSQL (threads with their own connections).
"""

from __future__ import annotations

import pytest

from tasks_app import services
from tasks_app.models import Project, Task
from tasks_app.projects import services as project_services
from todo_project.errors import DomainError
from todo_project.testing import run_in_threads

pytestmark = pytest.mark.django_db(transaction=True)


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

    _, errors = run_in_threads(delete, *(create(i) for i in range(3)), *(move(t) for t in others))

    # then nothing failed other than writers that came after the delete and
    # were told the project is gone, and no task points at a deleted project
    assert [e for e in errors if not isinstance(e, DomainError)] == []
    assert not Project.objects.filter(pk=work.pk).exists() or Task.objects.filter(project_id=work.pk).exists()
    project_ids = set(Task.objects.values_list("project_id", flat=True))
    assert project_ids <= set(Project.objects.values_list("pk", flat=True))
