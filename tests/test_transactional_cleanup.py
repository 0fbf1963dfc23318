"""The cleanup after a ``transaction=True`` test (``todo_project.testing.delete_test_rows``,
installed by the root conftest.py in place of Django's flush) leaves the database
as the next test expects it: no row a test wrote, the post_migrate rows as they were."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from django.contrib.contenttypes.models import ContentType
from django.db import connection

from tasks_app.models import Task
from todo_project import testing
from todo_project.events.models import OutboxEvent


def _content_types() -> list[tuple[int, str, str]]:
    return list(ContentType.objects.order_by("pk").values_list("pk", "app_label", "model"))


def _rows_outside_the_snapshot() -> list[str]:
    tables = testing._tables(connection)
    seeded = testing._seeded[connection.alias]
    return testing._tables_with_rows(connection, [t for t in tables if t not in seeded])


@pytest.mark.django_db(transaction=True)
def test_it_deletes_what_the_test_wrote_and_keeps_the_content_types_and_their_ids(alice, bob):
    # given: rows in many tables (users, profiles, tasks, the outbox), all committed
    Task.objects.create(owner=alice, title="Buy milk")
    content_types = _content_types()
    assert OutboxEvent.objects.exists() or Task.objects.exists()
    last_user_id = bob.pk

    # when
    assert testing.delete_test_rows(connection) is True

    # then: nothing of the test is left, what post_migrate made is untouched
    assert _rows_outside_the_snapshot() == []
    assert _content_types() == content_types
    assert Permission.objects.exists()
    # sequences go on (Django's flush does not reset them either)
    assert User.objects.create_user("carol").pk > last_user_id


@pytest.mark.django_db(transaction=True)
def test_a_test_that_changed_the_post_migrate_rows_is_left_for_djangos_flush(alice):
    # given: a test that adds a permission (a row of a table that had rows before it)
    content_type = ContentType.objects.get_for_model(Task)
    Permission.objects.create(content_type=content_type, codename="export_task", name="Can export task")

    # when / then: it deletes nothing, so the conftest falls back to the full flush
    assert testing.delete_test_rows(connection) is False
    assert User.objects.filter(pk=alice.pk).exists()


@pytest.mark.django_db
def test_the_next_test_finds_no_row_of_the_ones_before():
    # Runs after the two above (file order): the first cleaned up by deleting,
    # the second by Django's flush.
    assert not User.objects.exists()
    assert not Task.objects.exists()
    assert not Permission.objects.filter(codename="export_task").exists()
    assert ContentType.objects.filter(app_label="tasks_app", model="task").exists()
    assert Permission.objects.filter(codename="add_task").exists()
