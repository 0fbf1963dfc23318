"""The stored search column (migration 0009) and the views' hand-written SQL rows."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection

from tasks_app import services
from tasks_app.agenda import selectors as agenda
from tasks_app.models import Task
from tasks_app.selectors import TASK_COLUMNS_SQL, TASK_FIELDS, task_rows
from todo_project.bulk import copy_insert

pytestmark = pytest.mark.django_db

URL = "/api/tasks"


def _titles(client, query: str) -> list[str]:
    response = client.get(f"{URL}?{query}")
    assert response.status_code == 200, response.json()
    return [task["title"] for task in response.json()["results"]]


def _stored_vector(task_id) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT search_vector::text FROM tasks_app_task WHERE id = %s", [task_id])
        return cursor.fetchone()[0]


def test_the_search_column_follows_title_and_description_edits(alice, alice_client, make_task):
    task = make_task(title="Buy groceries", description="milk and eggs")

    services.task_update(
        user=alice, task_id=task.pk, values={"title": "Book flights", "description": "to Oslo"}
    )

    assert _titles(alice_client, "q=groc") == []
    assert _titles(alice_client, "q=eggs") == []
    assert _titles(alice_client, "q=fli") == ["Book flights"]
    assert _titles(alice_client, "q=oslo") == ["Book flights"]
    assert "'oslo'" in _stored_vector(task.pk)


def test_the_search_column_follows_writes_around_the_services(alice, alice_client):
    # queryset.update(), bulk_create and COPY never call save(): the database keeps the column.
    Task.objects.bulk_create([Task(owner=alice, title="Walk the dog")])
    copy_insert(Task, [Task(owner=alice, title="Water the plants")])
    Task.objects.filter(owner=alice, title="Walk the dog").update(description="around the lake")

    assert _titles(alice_client, "q=lak") == ["Walk the dog"]
    assert _titles(alice_client, "q=plan") == ["Water the plants"]


def test_the_search_column_is_the_expression_it_replaced(alice, make_task):
    task = make_task(title="Quarterly report", description="for the board, running late")

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT search_vector = to_tsvector('english', title || ' ' || description) "
            "FROM tasks_app_task WHERE id = %s",
            [task.pk],
        )
        assert cursor.fetchone() == (True,)


def test_model_instances_and_values_do_not_load_the_search_column(alice, make_task):
    task = make_task(title="Plain")

    assert "search_vector" not in Task.objects.filter(pk=task.pk).values()[0]
    assert not hasattr(Task.objects.get(pk=task.pk), "search_vector")


def test_prefix_matches_rank_below_whole_words_even_when_they_rank_higher(alice_client, make_task):
    # five prefix matches of "plan" (ts_rank favours them) against one whole-word match
    make_task(title="Planetary planetarium planets", description="planet planet")
    make_task(title="A plan")

    assert _titles(alice_client, "q=plan") == ["A plan", "Planetary planetarium planets"]


def test_task_rows_are_exactly_the_querysets_values_rows(alice, make_task):
    make_task(title="Tagged", tags=["Work", "home"], due_date=date(2026, 3, 1), priority="high")
    make_task(title="Timed", due_at=datetime(2026, 3, 2, 9, 30, tzinfo=UTC), description="x")

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {TASK_COLUMNS_SQL}, 7 FROM tasks_app_task ORDER BY title")  # noqa: S608
        rows = task_rows(cursor.fetchall())

    assert rows == list(Task.objects.order_by("title").values(*TASK_FIELDS))
    assert [type(row["tags"]) for row in rows] == [list, list]


def test_each_view_is_two_queries(alice, alice_client, make_task, django_assert_num_queries):
    _, today = agenda.local_today(alice)
    make_task(title="Due", due_date=today)
    make_task(title="Old", due_date=today - timedelta(days=10))
    # The Inbox exists from the first task on; this first call also makes the
    # account check (at most once per JWT_USER_CHECK_SECONDS, docs/auth.md).
    alice_client.get("/api/views/inbox")

    for url in ("/api/views/today", "/api/views/upcoming", "/api/views/overdue", "/api/views/inbox"):
        with django_assert_num_queries(2):  # the caller's context, the rows
            assert alice_client.get(url).status_code == 200
    with django_assert_num_queries(2):
        counts = alice_client.get("/api/views/counts").json()

    assert (counts["today"], counts["overdue"], counts["upcoming"], counts["inbox"]) == (1, 1, 1, 2)


def test_the_view_context_reads_zone_inbox_and_archived_projects(alice, make_task):
    from tasks_app.projects import services as project_services

    work = project_services.project_create(owner=alice, name="Work")
    project_services.project_archive(user=alice, project_id=work.pk)

    context = agenda.view_context(user_id=alice.pk)

    assert context.tz.key == alice.profile.timezone
    assert context.inbox_id == project_services.inbox_ensure(user_id=alice.pk)
    assert context.archived == (work.pk,)


def test_a_search_reads_only_the_callers_words(alice_client, bob, make_task):
    make_task(owner=bob, title="Buy groceries")
    make_task(title="Call mum")

    assert _titles(alice_client, "q=groc") == []
    assert _titles(alice_client, "q=groceries") == []


def test_the_owner_scoped_index_keeps_quotes_and_phrases(alice_client, make_task):
    make_task(title="Pay O'Neil's invoice")
    make_task(title="Invoice to pay")

    assert _titles(alice_client, "q=o%27neil") == ["Pay O'Neil's invoice"]
    assert _titles(alice_client, "q=%22pay%20o%27neil%22") == ["Pay O'Neil's invoice"]
    assert _titles(alice_client, "q=%22invoice%20to%20pay%22") == ["Invoice to pay"]


def test_the_owner_scoped_index_is_used(alice, make_task):
    from tasks_app.selectors import parse_task_list_params, task_list

    make_task(title="Buy groceries")
    Task.objects.bulk_create(Task(owner=alice, title=f"filler {i}") for i in range(3000))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE tasks_app_task")

    plan = task_list(user=alice, params=parse_task_list_params({"q": "groc"})).explain()

    assert "task_fulltext_gin" in plan, plan
