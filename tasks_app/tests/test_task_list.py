"""GET /api/tasks: every filter, every sort, pagination bounds, bad parameters, query count."""

from __future__ import annotations

from datetime import date, datetime

import pytest
import time_machine
from django.db import connection
from django.db.models import Count, Window

from tasks_app.models import Task

pytestmark = pytest.mark.django_db

URL = "/api/tasks"
UTC = datetime.fromisoformat("2026-01-01T00:00:00+00:00").tzinfo


def _titles(client, query: str = "") -> list[str]:
    response = client.get(f"{URL}?{query}")
    assert response.status_code == 200, response.json()
    return [task["title"] for task in response.json()["results"]]


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def test_it_lists_only_the_callers_tasks(alice_client, bob, make_task):
    make_task(title="alice 1")
    make_task(owner=bob, title="bob 1")

    assert _titles(alice_client) == ["alice 1"]


def test_it_lists_in_manual_order_by_default(alice_client, make_task):
    for title in ("first", "second", "third"):
        make_task(title=title)

    assert _titles(alice_client) == ["first", "second", "third"]


def test_it_filters_by_status(alice_client, make_task):
    make_task(title="open")
    make_task(title="done", is_completed=True)

    assert _titles(alice_client, "status=active") == ["open"]
    assert _titles(alice_client, "status=completed") == ["done"]
    assert sorted(_titles(alice_client, "status=all")) == ["done", "open"]


def test_it_filters_by_any_of_several_priorities(alice_client, make_task):
    make_task(title="h", priority="high")
    make_task(title="m", priority="medium")
    make_task(title="l", priority="low")

    assert _titles(alice_client, "priority=high,medium") == ["h", "m"]
    assert _titles(alice_client, "priority=LOW") == ["l"]


def test_it_filters_by_all_tags_case_insensitively(alice_client, make_task):
    make_task(title="both", tags=["Work", "Finance"])
    make_task(title="work only", tags=["work"])
    make_task(title="none")

    assert _titles(alice_client, "tags=work,FINANCE") == ["both"]
    assert _titles(alice_client, "tags=WORK") == ["both", "work only"]


def test_it_filters_by_any_tag_with_tags_mode_any(alice_client, make_task):
    make_task(title="work", tags=["work"])
    make_task(title="home", tags=["Home"])
    make_task(title="other", tags=["misc"])

    assert _titles(alice_client, "tags=work,home&tags_mode=any") == ["work", "home"]


def test_it_searches_title_and_description_ranked(alice_client, make_task):
    make_task(title="Call the bank", description="about the quarterly report")
    make_task(title="Quarterly report", description="quarterly numbers for the report")
    make_task(title="Walk the dog")

    assert _titles(alice_client, "q=quarterly") == ["Quarterly report", "Call the bank"]
    assert _titles(alice_client, "q=dog") == ["Walk the dog"]
    # websearch syntax: a leading minus excludes.
    assert _titles(alice_client, "q=report -bank") == ["Quarterly report"]


def test_it_sorts_search_results_by_an_explicit_sort_by(alice_client, make_task):
    make_task(title="b report")
    make_task(title="a report report report")

    assert _titles(alice_client, "q=report&sort_by=title") == ["a report report report", "b report"]


def test_it_filters_by_recurrence(alice_client, make_task):
    make_task(title="once")
    make_task(title="daily", recurrence_rule="FREQ=DAILY")

    assert _titles(alice_client, "is_recurring=true") == ["daily"]
    assert _titles(alice_client, "is_recurring=false") == ["once"]


def test_it_filters_by_due_range_on_due_at_or_on_a_date_only_due_date(alice_client, make_task):
    # alice is in Europe/Berlin (UTC+1 in February).
    make_task(title="before", due_at=_at("2026-01-31T22:59:00+00:00"))  # 23:59 Jan 31 Berlin
    make_task(title="first minute", due_at=_at("2026-01-31T23:00:00+00:00"))  # 00:00 Feb 1 Berlin
    make_task(title="date feb 28", due_date=date(2026, 2, 28))
    make_task(title="last minute", due_at=_at("2026-02-28T22:59:00+00:00"))  # 23:59 Feb 28 Berlin
    make_task(title="after", due_at=_at("2026-02-28T23:00:00+00:00"))
    make_task(title="undated")

    titles = _titles(alice_client, "due_after=2026-02-01&due_before=2026-02-28&sort_by=due_at")

    assert titles == ["first minute", "date feb 28", "last minute"]


def test_it_takes_datetime_bounds_inclusively(alice_client, make_task):
    make_task(title="at 10", due_at=_at("2026-02-10T10:00:00+00:00"))
    make_task(title="at 12", due_at=_at("2026-02-10T12:00:00+00:00"))

    assert _titles(alice_client, "due_after=2026-02-10T10:00:00Z&due_before=2026-02-10T11:00:00Z") == [
        "at 10"
    ]
    assert _titles(alice_client, "due_before=2026-02-10T12:00:00%2B00:00&sort_by=due_at") == [
        "at 10",
        "at 12",
    ]


def test_it_reads_a_datetime_bound_without_offset_in_the_users_time_zone(alice_client, make_task):
    # 10:00 in Berlin (alice's zone) is 09:00 UTC in February.
    make_task(title="at 09 UTC", due_at=_at("2026-02-10T09:00:00+00:00"))
    make_task(title="at 09:30 UTC", due_at=_at("2026-02-10T09:30:00+00:00"))

    assert _titles(alice_client, "due_after=2026-02-10T10:00:00&due_before=2026-02-10T10:00:00") == [
        "at 09 UTC"
    ]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("sort_by=title", ["apple", "Banana", "cherry"]),
        ("sort_by=title&sort_order=desc", ["cherry", "Banana", "apple"]),
        ("sort_by=priority", ["Banana", "cherry", "apple"]),
        ("sort_by=priority&sort_order=asc", ["apple", "cherry", "Banana"]),
        ("sort_by=due_at", ["cherry", "apple", "Banana"]),
        ("sort_by=due_at&sort_order=desc", ["apple", "cherry", "Banana"]),
        ("sort_by=created_at", ["cherry", "Banana", "apple"]),
        ("sort_by=created_at&sort_order=asc", ["apple", "Banana", "cherry"]),
        ("sort_by=position", ["apple", "Banana", "cherry"]),
        ("sort_by=position&sort_order=desc", ["cherry", "Banana", "apple"]),
    ],
)
def test_it_sorts_by_each_field_with_nulls_last(alice_client, make_task, sort, expected):
    with time_machine.travel("2026-01-01T10:00:00Z", tick=False) as clock:
        make_task(title="apple", priority="low", due_at=_at("2026-03-01T10:00:00+00:00"))
        clock.shift(60)
        make_task(title="Banana", priority="high")  # no due date: last either way
        clock.shift(60)
        make_task(title="cherry", priority="medium", due_at=_at("2026-02-01T10:00:00+00:00"))

    assert _titles(alice_client, sort) == expected


def test_it_sorts_by_priority_descending_within_equal_sort_keys(alice_client, make_task):
    due = _at("2026-02-01T10:00:00+00:00")
    make_task(title="low", priority="low", due_at=due)
    make_task(title="high", priority="high", due_at=due)
    make_task(title="medium", priority="medium", due_at=due)

    assert _titles(alice_client, "sort_by=due_at") == ["high", "medium", "low"]


def test_it_sorts_a_date_only_task_among_timed_ones(alice_client, make_task):
    make_task(title="timed late", due_at=_at("2026-02-02T10:00:00+00:00"))
    make_task(title="date", due_date=date(2026, 2, 2))
    make_task(title="timed early", due_at=_at("2026-02-01T10:00:00+00:00"))

    assert _titles(alice_client, "sort_by=due_at") == ["timed early", "date", "timed late"]


def test_it_pages_with_count_next_and_previous(alice_client, make_task):
    for i in range(5):
        make_task(title=f"t{i}")

    first = alice_client.get(f"{URL}?limit=2").json()
    second = alice_client.get(first["next"]).json()
    last = alice_client.get(f"{URL}?limit=2&page=3").json()
    beyond = alice_client.get(f"{URL}?limit=2&page=9").json()

    assert first["count"] == 5
    assert [t["title"] for t in first["results"]] == ["t0", "t1"]
    assert first["previous"] is None
    assert [t["title"] for t in second["results"]] == ["t2", "t3"]
    assert second["previous"] is not None
    assert [t["title"] for t in last["results"]] == ["t4"]
    assert last["next"] is None
    assert beyond["results"] == []


def test_it_defaults_to_twenty_per_page_and_allows_up_to_one_hundred(alice_client, make_task):
    Task.objects.bulk_create(
        [Task(owner_id=make_task().owner_id, title=f"bulk {i}", position=i + 1) for i in range(104)]
    )

    assert len(alice_client.get(URL).json()["results"]) == 20
    assert len(alice_client.get(f"{URL}?limit=100").json()["results"]) == 100


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
        ("page=0", "page"),
        ("status=open", "status"),
        ("priority=high,urgent", "priority"),
        ("sort_by=owner", "sort_by"),
        ("sort_order=up", "sort_order"),
        ("due_after=2026-02-30", "due_after"),
        ("due_before=soon", "due_before"),
        ("due_after=2026-03-01&due_before=2026-02-01", "due_after"),
        ("is_recurring=maybe", "is_recurring"),
        ("tags_mode=some", "tags_mode"),
        ("q=" + "x" * 501, "q"),
    ],
)
def test_it_refuses_a_bad_list_parameter_naming_it(alice_client, query, parameter):
    response = alice_client.get(f"{URL}?{query}")

    assert response.status_code == 400
    assert parameter in response.json()["error"]["fields"], response.json()


@pytest.mark.parametrize("limit", [5, 50])
def test_it_makes_the_same_number_of_queries_whatever_the_page_size(
    alice_client, make_task, django_assert_num_queries, limit
):
    # given 60 tasks with tags and due dates
    for i in range(60):
        make_task(title=f"t{i}", tags=["work", f"t{i}"], due_date=date(2026, 2, 1 + i % 28))

    # when a page is listed — then: the token's account check (first request of this
    # user in the process; cached after it), the page and the COUNT.
    with django_assert_num_queries(3):
        response = alice_client.get(f"{URL}?limit={limit}&tags=work&sort_by=due_at")

    assert len(response.json()["results"]) == limit
    assert response.json()["count"] == 60


@pytest.mark.parametrize("limit", [5, 50])
def test_it_counts_search_results_within_the_page_query(
    alice_client, make_task, django_assert_num_queries, limit
):
    for i in range(60):
        make_task(title=f"report {i}")

    with django_assert_num_queries(2):  # the account check and the ranked page with its total
        response = alice_client.get(f"{URL}?q=report&limit={limit}")

    assert len(response.json()["results"]) == limit
    assert response.json()["count"] == 60
    past = alice_client.get(f"{URL}?q=report&limit={limit}&page=50").json()
    assert (past["count"], past["results"]) == (60, [])


def test_it_skips_the_count_when_the_list_fits_in_the_page(
    alice_client, make_task, django_assert_num_queries
):
    for i in range(3):
        make_task(title=f"t{i}")

    with django_assert_num_queries(2):
        response = alice_client.get(f"{URL}?limit=3")

    assert response.json()["count"] == 3
    assert response.json()["next"] is None


def test_it_counts_correctly_on_a_partial_last_page_and_past_the_end(alice_client, make_task):
    for i in range(7):
        make_task(title=f"t{i}")

    last = alice_client.get(f"{URL}?limit=3&page=3").json()
    past = alice_client.get(f"{URL}?limit=3&page=5").json()

    assert (last["count"], len(last["results"]), last["next"]) == (7, 1, None)
    assert last["previous"] is not None
    assert (past["count"], past["results"]) == (7, [])


def test_it_uses_the_gin_indexes_for_search_and_tags(alice, make_task):
    from tasks_app.selectors import parse_task_list_params, task_list

    # given enough of alice's tasks that her owner index alone is not selective
    make_task(title="Quarterly report", tags=["work"])
    Task.objects.bulk_create(
        Task(owner=alice, title=f"filler {i}", description="nothing to see", tags=["home"], tag_keys=["home"])
        for i in range(5000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE tasks_app_task")
        # migration 0004: (owner_id, tag_keys) where the server has btree_gin, else tag_keys alone
        cursor.execute("SELECT indexname FROM pg_indexes WHERE indexname LIKE 'task%%tag_keys_gin'")
        (tag_index,) = (name for (name,) in cursor.fetchall())

    # when the list is searched and filtered by tag
    for params in ({"q": "quarterly"}, {"tags": "work"}):
        queryset = task_list(user=alice, params=parse_task_list_params(params))
        plan = queryset.explain()

        # then the planner uses the GIN index (the filter spells the index's expression)
        index = "task_fulltext_gin" if "q" in params else tag_index
        assert index in plan, plan
        assert "Seq Scan" not in plan, plan
        assert [row["title"] for row in queryset] == ["Quarterly report"]


# --- the compiled page (selectors.task_list_page) ----------------------------------

PAGE_SHAPES = [
    {},
    {"status": "active", "sort_by": "due_at"},
    {"status": "completed", "sort_by": "title", "sort_order": "desc"},
    {"priority": "high,low", "sort_by": "priority"},
    {"tags": "work,home"},
    {"tags": "work,errands", "tags_mode": "any", "sort_by": "created_at"},
    {"q": "report"},
    {"q": "report", "sort_by": "due_at", "sort_order": "desc"},
    {"due_after": "2026-02-03", "due_before": "2026-02-20T12:00:00", "is_recurring": "false"},
    {"sort_by": "position", "sort_order": "desc"},
]


@pytest.mark.parametrize("raw", PAGE_SHAPES, ids=lambda raw: "&".join(f"{k}={v}" for k, v in raw.items()))
def test_the_compiled_page_answers_exactly_what_the_queryset_does(alice, bob, make_task, raw):
    from tasks_app import selectors
    from tasks_app.selectors import parse_task_list_params, task_list, task_list_page

    for i in range(30):
        make_task(
            title=f"{'report ' if i % 3 == 0 else ''}task {i:02}",
            tags=[["work", "home"], ["Work"], ["errands"]][i % 3],
            priority=["high", "medium", "low"][i % 3],
            is_completed=i % 4 == 0,
            due_date=date(2026, 2, 1 + i % 28) if i % 2 else None,
            due_at=_at(f"2026-02-{1 + i % 27:02}T{i % 24:02}:30:00+00:00") if i % 5 == 1 else None,
        )
        make_task(owner=bob, title=f"report bob {i}", tags=["work", "home"])
    params = parse_task_list_params(raw)
    queryset = task_list(user=alice, params=params)

    for offset, limit in ((0, 7), (5, 7), (28, 7), (40, 5)):
        for with_total in (False, True):
            expected = queryset.annotate(total_count=Window(Count("*"))) if with_total else queryset
            # twice: compiled on the first call, from the per-process table on the second
            for _ in range(2):
                page = task_list_page(
                    user=alice, params=params, offset=offset, limit=limit, with_total=with_total
                )
                assert page == list(expected[offset : offset + limit])
    # (and it was the compiled path, not the ORM fallback)
    compiled = [page for key, page in selectors._compiled_pages.items() if key[0] == params]
    assert len(compiled) == 2  # with and without the total
    assert all(compiled)
    # the same shape for another user lists that user's tasks
    bob_page = task_list_page(user=bob, params=params, offset=0, limit=100)
    assert bob_page == list(task_list(user=bob, params=params))


def test_the_compiled_page_applies_each_users_time_zone(alice, bob, make_task):
    from tasks_app.selectors import parse_task_list_params, task_list_page

    # 23:30 UTC on 1 Feb is 00:30 on 2 Feb in Berlin (alice) and 18:30 on 1 Feb in New York (bob)
    make_task(title="alice late", due_at=_at("2026-02-01T23:30:00+00:00"))
    make_task(owner=bob, title="bob late", due_at=_at("2026-02-01T23:30:00+00:00"))
    params = parse_task_list_params({"due_before": "2026-02-01"})

    assert task_list_page(user=alice, params=params, offset=0, limit=10) == []
    bobs = task_list_page(user=bob, params=params, offset=0, limit=10)
    assert [row["title"] for row in bobs] == ["bob late"]


def test_the_due_date_sort_is_read_from_its_index_without_sorting(alice, make_task):
    from tasks_app.selectors import parse_task_list_params, task_list

    for i in range(20):
        make_task(title=f"t{i}", due_date=date(2026, 2, 1 + i) if i % 2 else None)
    queryset = task_list(user=alice, params=parse_task_list_params({"status": "active", "sort_by": "due_at"}))

    with connection.cursor() as cursor:
        # Sorting is made prohibitively expensive: a plan without a Sort node
        # exists only if the ORDER BY spells task_owner_due_sort_idx exactly
        # (or its open-tasks twin task_open_due_idx, which status=active matches).
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = queryset[:20].explain()

    assert "task_owner_due_sort_idx" in plan or "task_open_due_idx" in plan, plan
    assert "Sort" not in plan, plan


def test_where_the_server_has_btree_gin_tag_filters_get_the_owner_and_tags_index():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'btree_gin'")
        available = cursor.fetchone() is not None
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'tasks_app_task'")
        indexes = {name for (name,) in cursor.fetchall()}

    if available:
        assert "task_owner_tag_keys_gin" in indexes
        assert "task_tag_keys_gin" not in indexes
    else:  # e.g. the embedded pgserver of scripts/test.sh
        assert "task_tag_keys_gin" in indexes


def test_it_finds_a_word_by_its_prefix_as_you_type(alice_client, make_task):
    make_task(title="Buy groceries")
    make_task(title="Call mum")

    assert _titles(alice_client, "q=groc") == ["Buy groceries"]
    assert _titles(alice_client, "q=buy%20gro") == ["Buy groceries"]
    assert _titles(alice_client, "q=mu") == ["Call mum"]


def test_it_ranks_whole_word_matches_above_prefix_matches(alice_client, make_task):
    make_task(title="Carton of cartridges")  # "cart" only as a prefix
    make_task(title="Fix the cart")  # "cart" as a whole word

    assert _titles(alice_client, "q=cart") == ["Fix the cart", "Carton of cartridges"]


def test_prefix_search_leaves_websearch_operators_alone(alice_client, make_task):
    make_task(title="Buy groceries")

    assert _titles(alice_client, "q=%22groc%22") == []
    assert _titles(alice_client, "q=groceries%20-milk") == ["Buy groceries"]
