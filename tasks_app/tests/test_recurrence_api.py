"""Recurring series through the API and the event handlers, on real PostgreSQL.

Handlers run through the real outbox dispatch (Celery eager) when the test
lets on-commit callbacks run (``django_capture_on_commit_callbacks``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tasks_app.models import SeriesStatus, Task, TaskSeries
from tasks_app.recurrence import services as recurrence_services
from tasks_app.tests.helpers import events
from todo_project.testing import run_in_threads

pytestmark = pytest.mark.django_db

# Alice lives in Europe/Berlin. Her daily 09:00 task starts far in the future
# so "now" never interferes with the scheduled-mode arithmetic.
DUE = "2030-01-07T08:00:00Z"  # Monday 09:00 in Berlin


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def _create(client, run, **body):
    body.setdefault("title", "Standup")
    body.setdefault("due_at", DUE)
    body.setdefault("is_recurring", True)
    body.setdefault("recurrence_rule", "FREQ=DAILY")
    with run(execute=True):
        response = client.post("/api/tasks", body, format="json")
    assert response.status_code == 201, response.json()
    return Task.objects.get(pk=response.json()["id"])


def _complete(client, run, task):
    with run(execute=True):
        response = client.patch(f"/api/tasks/{task.pk}", {"is_completed": True}, format="json")
    assert response.status_code == 200, response.json()


def _open_occurrences(series) -> list[Task]:
    return list(series.occurrences.filter(is_completed=False, is_skipped=False).order_by("occurrence_at"))


# -- series and next occurrence on completion ---------------------------------------------


def test_it_attaches_a_series_to_a_recurring_task(alice_client, django_capture_on_commit_callbacks):
    task = _create(alice_client, django_capture_on_commit_callbacks, tags=["team"], priority="high")

    series = TaskSeries.objects.get()
    task.refresh_from_db()
    assert task.series == series
    assert task.occurrence_at == utc(2030, 1, 7, 8)
    assert series.rule == "RRULE:FREQ=DAILY"
    assert series.timezone == "Europe/Berlin"
    assert (series.title, series.priority, series.tags) == ("Standup", "high", ["team"])


def test_it_generates_the_next_occurrence_on_completion(alice_client, django_capture_on_commit_callbacks):
    # given a daily task with a reminder 15 minutes before
    task = _create(
        alice_client,
        django_capture_on_commit_callbacks,
        tags=["team"],
        priority="high",
        description="Notes",
        remind_at="2030-01-07T07:45:00Z",
    )

    # when it is completed
    _complete(alice_client, django_capture_on_commit_callbacks, task)

    # then the next day's occurrence exists with the template and the same offset
    nxt = Task.objects.exclude(pk=task.pk).get()
    assert nxt.series_id == task.series_id
    assert nxt.occurrence_at == utc(2030, 1, 8, 8)
    assert nxt.due_at == utc(2030, 1, 8, 8)
    assert nxt.remind_at == utc(2030, 1, 8, 7, 45)
    assert (nxt.title, nxt.description, nxt.priority, nxt.tags) == ("Standup", "Notes", "high", ["team"])
    assert nxt.is_recurring
    assert not nxt.is_completed
    [generated] = events("task.occurrence.generated")
    assert generated.data["task_id"] == str(nxt.pk)
    assert generated.data["previous_task_id"] == str(task.pk)
    assert generated.data["reason"] == "completed"


def test_it_keeps_nine_oclock_local_across_dst(alice_client, django_capture_on_commit_callbacks):
    # Saturday 28 March 2026, 09:00 CET; Berlin springs forward that night.
    task = _create(alice_client, django_capture_on_commit_callbacks, due_at="2026-03-28T08:00:00Z")

    Task.objects.filter(pk=task.pk).update(is_completed=True, completed_at=utc(2026, 3, 28, 9))
    nxt = recurrence_services.occurrence_generate_next(task_id=task.pk, now=utc(2026, 3, 28, 9))

    assert nxt is not None
    assert nxt.due_at == utc(2026, 3, 29, 7)  # 09:00 CEST


def test_it_generates_once_when_the_completion_is_handled_twice(
    alice_client, django_capture_on_commit_callbacks
):
    task = _create(alice_client, django_capture_on_commit_callbacks)
    _complete(alice_client, django_capture_on_commit_callbacks, task)

    again = recurrence_services.occurrence_generate_next(task_id=task.pk)

    assert again is None
    assert Task.objects.count() == 2
    assert len(events("task.occurrence.generated")) == 1


def test_it_counts_from_completion_in_completion_mode(alice_client, django_capture_on_commit_callbacks):
    task = _create(alice_client, django_capture_on_commit_callbacks, recurrence_rule="FREQ=DAILY;INTERVAL=3")
    TaskSeries.objects.update(completion_mode="completion")
    done = utc(2030, 1, 10, 17)  # Thursday 18:00 local, three days late
    Task.objects.filter(pk=task.pk).update(is_completed=True, completed_at=done)

    nxt = recurrence_services.occurrence_generate_next(task_id=task.pk, now=done)

    assert nxt is not None
    assert nxt.due_at == utc(2030, 1, 13, 8)  # the 10th + 3 days, 09:00


def test_it_skips_missed_occurrences_in_scheduled_mode(alice_client, django_capture_on_commit_callbacks):
    task = _create(alice_client, django_capture_on_commit_callbacks)
    late = utc(2030, 1, 10, 12)  # three days late
    Task.objects.filter(pk=task.pk).update(is_completed=True, completed_at=late)

    nxt = recurrence_services.occurrence_generate_next(task_id=task.pk, now=late)

    assert nxt is not None
    assert nxt.due_at == utc(2030, 1, 11, 8)
    assert Task.objects.count() == 2


def test_it_ends_the_series_when_count_is_used_up(alice_client, django_capture_on_commit_callbacks):
    task = _create(alice_client, django_capture_on_commit_callbacks, recurrence_rule="FREQ=DAILY;COUNT=2")
    _complete(alice_client, django_capture_on_commit_callbacks, task)
    second = Task.objects.exclude(pk=task.pk).get()

    _complete(alice_client, django_capture_on_commit_callbacks, second)

    assert Task.objects.count() == 2
    series = TaskSeries.objects.get()
    assert series.status == SeriesStatus.ENDED
    response = alice_client.get(f"/api/series/{series.pk}")
    assert response.json()["status"] == "ended"
    assert response.json()["next_occurrence"] is None


@pytest.mark.django_db(transaction=True)
def test_it_creates_exactly_one_next_occurrence_for_two_concurrent_completions(alice):
    # given a completed occurrence of a daily series
    from tasks_app import services

    task = services.task_create(
        owner=alice, title="Standup", due_at=utc(2030, 1, 7, 8), recurrence_rule="FREQ=DAILY"
    )
    recurrence_services.series_attach(task_id=task.pk)
    task.refresh_from_db()
    Task.objects.filter(pk=task.pk).update(is_completed=True, completed_at=utc(2030, 1, 7, 9))

    # when two workers handle the completion at the same moment
    results, errors = run_in_threads(
        *[lambda: recurrence_services.occurrence_generate_next(task_id=task.pk)] * 2
    )

    # then exactly one next occurrence exists
    assert errors == []
    assert sum(1 for r in results if r is not None) == 1
    assert Task.objects.filter(series=task.series_id).count() == 2
    assert Task.objects.filter(occurrence_at=utc(2030, 1, 8, 8)).count() == 1


def test_a_burst_of_completions_is_generated_in_one_batch(
    alice, bob, monkeypatch, django_capture_on_commit_callbacks
):
    # given three daily series each for alice (Berlin) and bob (New York)
    from tasks_app import services
    from todo_project.events.dispatcher import dispatch_ready

    firsts = []
    for owner in (alice, bob):
        for n in range(3):
            with django_capture_on_commit_callbacks(execute=True):
                firsts.append(
                    services.task_create(
                        owner=owner,
                        title=f"Chore {n}",
                        due_at=utc(2030, 1, 7, 14),
                        recurrence_rule="FREQ=DAILY",
                    )
                )
    calls: list[list[str]] = []
    generate = recurrence_services.occurrences_generate_next

    def spy(*, task_ids, now=None):
        calls.append([str(task_id) for task_id in task_ids])
        return generate(task_ids=task_ids, now=now)

    monkeypatch.setattr(recurrence_services, "occurrences_generate_next", spy)

    # when all six are completed, each in its own transaction, before a worker runs
    for task in firsts:
        services.task_complete(user=task.owner, task_id=task.pk)
    dispatch_ready()

    # then one handler call generated all six next occurrences
    assert len(calls) == 1
    assert sorted(calls[0]) == sorted(str(task.pk) for task in firsts)
    for task in firsts:
        nxt = Task.objects.get(series=task.series_id, is_completed=False)
        assert nxt.due_at == utc(2030, 1, 8, 14)
        assert nxt.title == task.title
    for owner in (alice, bob):
        positions = list(Task.objects.filter(owner=owner).values_list("position", flat=True))
        assert len(positions) == len(set(positions)) == 6
        seqs = [event.seq for event in events() if event.user_id == owner.pk]
        assert seqs == list(range(1, len(seqs) + 1))
    generated = events("task.occurrence.generated")
    created_ids = {event.data["task_id"] for event in events("task.created")}
    assert len(generated) == 6
    assert {event.data["task_id"] for event in generated} <= created_ids


def test_two_completed_occurrences_of_one_series_in_a_batch_make_one_next(
    alice_client, django_capture_on_commit_callbacks
):
    # given Monday's occurrence completed (Tuesday's generated), then Tuesday's
    # completed too without its handler having run yet
    monday = _create(alice_client, django_capture_on_commit_callbacks)
    _complete(alice_client, django_capture_on_commit_callbacks, monday)
    tuesday = Task.objects.get(series=monday.series_id, is_completed=False)
    Task.objects.filter(pk=tuesday.pk).update(is_completed=True, completed_at=utc(2030, 1, 8, 9))

    # when both completions reach the generator in one batch (e.g. a redelivery)
    made = recurrence_services.occurrences_generate_next(
        task_ids=[tuesday.pk, monday.pk], now=utc(2030, 1, 8, 9)
    )

    # then only Tuesday's successor is made, as if they had come one by one
    assert [task.occurrence_at for task in made] == [utc(2030, 1, 9, 8)]
    assert Task.objects.filter(series=monday.series_id).count() == 3


# -- skip -------------------------------------------------------------------------------------


def test_it_skips_an_occurrence_and_generates_the_following(alice_client, django_capture_on_commit_callbacks):
    task = _create(alice_client, django_capture_on_commit_callbacks)

    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(f"/api/tasks/{task.pk}/skip")

    assert response.status_code == 200
    body = response.json()
    assert body["skipped"]["occurrence_status"] == "skipped"
    assert body["skipped"]["is_completed"] is False
    assert body["next"]["due_at"] == "2030-01-08T08:00:00Z"
    task.refresh_from_db()
    assert task.is_skipped
    [skipped] = events("task.occurrence.skipped")
    assert skipped.data["task_id"] == str(task.pk)
    assert events("task.occurrence.generated")[0].data["reason"] == "skipped"


def test_it_refuses_to_skip_twice(alice_client, django_capture_on_commit_callbacks):
    task = _create(alice_client, django_capture_on_commit_callbacks)
    alice_client.post(f"/api/tasks/{task.pk}/skip")

    response = alice_client.post(f"/api/tasks/{task.pk}/skip")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "not_open"


def test_it_refuses_to_skip_a_one_off_task(alice_client, django_capture_on_commit_callbacks):
    response = alice_client.post("/api/tasks", {"title": "Once"}, format="json")

    skip = alice_client.post(f"/api/tasks/{response.json()['id']}/skip")

    assert skip.status_code == 400
    assert skip.json()["error"]["code"] == "not_recurring"


def test_it_hides_other_users_series(alice_client, bob_client, django_capture_on_commit_callbacks):
    task = _create(alice_client, django_capture_on_commit_callbacks)

    assert bob_client.post(f"/api/tasks/{task.pk}/skip").status_code == 404
    assert bob_client.get(f"/api/tasks/{task.pk}/occurrences").status_code == 404
    assert bob_client.get(f"/api/series/{task.series_id}/history").status_code == 404
    assert bob_client.post(f"/api/series/{task.series_id}/stop").status_code == 404


# -- preview ----------------------------------------------------------------------------------


def test_it_previews_upcoming_occurrences_of_a_saved_task(alice_client, django_capture_on_commit_callbacks):
    rule = "FREQ=WEEKLY;BYDAY=MO,WE"
    task = _create(alice_client, django_capture_on_commit_callbacks, recurrence_rule=rule)

    response = alice_client.get(f"/api/tasks/{task.pk}/occurrences?count=3")

    assert response.status_code == 200
    body = response.json()
    assert body["occurrences"] == ["2030-01-07T08:00:00Z", "2030-01-09T08:00:00Z", "2030-01-14T08:00:00Z"]
    assert body["summary"] == "every Monday and Wednesday at 09:00"
    assert Task.objects.count() == 1  # nothing created


@pytest.mark.parametrize("count", ["0", "51", "x"])
def test_it_refuses_a_bad_preview_count(alice_client, django_capture_on_commit_callbacks, count):
    task = _create(alice_client, django_capture_on_commit_callbacks)

    response = alice_client.get(f"/api/tasks/{task.pk}/occurrences?count={count}")

    assert response.status_code == 400
    assert "count" in response.json()["error"]["fields"]


def test_it_previews_an_unsaved_rule(alice_client):
    response = alice_client.post(
        "/api/recurrence/preview",
        {"rule": "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO", "start": "2026-01-07T09:00:00", "count": 3},
        format="json",
    )

    assert response.status_code == 200
    body = response.json()
    # Naive start = Alice's wall time; the first Monday on or after it starts the series.
    assert body["occurrences"] == ["2026-01-12T08:00:00Z", "2026-01-26T08:00:00Z", "2026-02-09T08:00:00Z"]
    assert body["summary"] == "every other Monday at 09:00"
    assert body["timezone"] == "Europe/Berlin"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"rule": "FREQ=SOMETIMES"}, "rule"),
        ({"rule": "FREQ=MINUTELY"}, "rule"),
        ({"rule": "FREQ=DAILY;COUNT=2;UNTIL=20300101"}, "rule"),
        ({"rule": "FREQ=DAILY", "timezone": "Mars/Base"}, "timezone"),
        ({"rule": "FREQ=DAILY", "count": 51}, "count"),
        ({}, "rule"),
    ],
)
def test_it_refuses_a_bad_unsaved_rule_naming_the_field(alice_client, body, field):
    response = alice_client.post("/api/recurrence/preview", body, format="json")

    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


# -- edit, stop, delete -------------------------------------------------------------------------


def _series_with_three_open(client, run):
    task = _create(client, run, recurrence_rule="FREQ=DAILY")
    TaskSeries.objects.update(lookahead_days=2)
    # 2 days ahead of 09:00 UTC on the 7th: the 8th and the 9th.
    recurrence_services.series_repair(now=utc(2030, 1, 7, 9))
    series = TaskSeries.objects.get()
    assert len(_open_occurrences(series)) == 3
    return task, series


def test_it_edits_this_occurrence_only(alice_client, django_capture_on_commit_callbacks):
    task, series = _series_with_three_open(alice_client, django_capture_on_commit_callbacks)

    response = alice_client.patch(
        f"/api/tasks/{task.pk}/series", {"scope": "this", "title": "Long standup"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["title"] == "Long standup"
    assert [t.title for t in _open_occurrences(series)] == ["Long standup", "Standup", "Standup"]
    series.refresh_from_db()
    assert series.title == "Standup"


def test_it_refuses_a_rule_change_for_this_occurrence_only(alice_client, django_capture_on_commit_callbacks):
    task = _create(alice_client, django_capture_on_commit_callbacks)

    response = alice_client.patch(
        f"/api/tasks/{task.pk}/series", {"scope": "this", "recurrence_rule": "FREQ=WEEKLY"}, format="json"
    )

    assert response.status_code == 400
    assert "recurrence_rule" in response.json()["error"]["fields"]


def test_it_edits_this_and_future_occurrences(alice_client, django_capture_on_commit_callbacks):
    task, series = _series_with_three_open(alice_client, django_capture_on_commit_callbacks)
    second = _open_occurrences(series)[1]

    response = alice_client.patch(
        f"/api/tasks/{second.pk}/series",
        {"scope": "future", "title": "Sync", "priority": "low", "tags": ["x"]},
        format="json",
    )

    assert response.status_code == 200
    assert [(t.title, t.priority) for t in _open_occurrences(series)] == [
        ("Standup", "medium"),
        ("Sync", "low"),
        ("Sync", "low"),
    ]
    series.refresh_from_db()
    assert (series.title, series.priority, series.tags) == ("Sync", "low", ["x"])


def test_it_changes_the_rule_for_this_and_future(alice_client, django_capture_on_commit_callbacks):
    task, series = _series_with_three_open(alice_client, django_capture_on_commit_callbacks)
    second = _open_occurrences(series)[1]  # Tuesday 8 January 2030

    response = alice_client.patch(
        f"/api/tasks/{second.pk}/series",
        {"scope": "future", "recurrence_rule": "FREQ=WEEKLY;BYDAY=FR"},
        format="json",
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    # This occurrence moves to the new rule's first date; later open ones of the old rule go.
    assert body["due_at"] == "2030-01-11T08:00:00Z"
    assert body["series"]["summary"] == "every Friday at 09:00"
    assert [t.due_at for t in _open_occurrences(series)] == [utc(2030, 1, 7, 8), utc(2030, 1, 11, 8)]


def test_it_refuses_a_bad_rule_for_this_and_future(alice_client, django_capture_on_commit_callbacks):
    task = _create(alice_client, django_capture_on_commit_callbacks)

    body = {"scope": "future", "recurrence_rule": "FREQ=DAILY;COUNT=0"}

    response = alice_client.patch(f"/api/tasks/{task.pk}/series", body, format="json")

    assert response.status_code == 400
    assert "recurrence_rule" in response.json()["error"]["fields"]
    assert TaskSeries.objects.get().rule == "RRULE:FREQ=DAILY"


def test_it_stops_a_series_keeping_its_occurrences(alice_client, django_capture_on_commit_callbacks):
    task = _create(alice_client, django_capture_on_commit_callbacks)

    response = alice_client.post(f"/api/series/{task.series_id}/stop")
    _complete(alice_client, django_capture_on_commit_callbacks, task)

    assert response.status_code == 200
    assert response.json()["status"] == "stopped"
    assert response.json()["next_occurrence"] is None
    assert Task.objects.count() == 1  # kept, and nothing new


def test_it_deletes_only_this_occurrence_and_moves_on(alice_client, django_capture_on_commit_callbacks):
    task = _create(alice_client, django_capture_on_commit_callbacks)

    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.delete(f"/api/tasks/{task.pk}/series?scope=this")

    assert response.status_code == 200
    assert response.json() == {"deleted": 1}
    [remaining] = Task.objects.all()
    assert remaining.due_at == utc(2030, 1, 8, 8)
    assert TaskSeries.objects.get().status == SeriesStatus.ACTIVE


def test_it_deletes_this_and_future_occurrences(alice_client, django_capture_on_commit_callbacks):
    task, series = _series_with_three_open(alice_client, django_capture_on_commit_callbacks)
    _complete(alice_client, django_capture_on_commit_callbacks, task)
    second = _open_occurrences(series)[0]

    response = alice_client.delete(f"/api/tasks/{second.pk}/series?scope=future")

    assert response.json() == {"deleted": 2}
    assert list(Task.objects.values_list("pk", flat=True)) == [task.pk]  # the completed one stays
    series.refresh_from_db()
    assert series.status == SeriesStatus.STOPPED
    assert len(events("task.deleted")) == 2


def test_it_deletes_the_whole_series(alice_client, django_capture_on_commit_callbacks):
    task, series = _series_with_three_open(alice_client, django_capture_on_commit_callbacks)
    _complete(alice_client, django_capture_on_commit_callbacks, task)

    response = alice_client.delete(f"/api/tasks/{task.pk}/series?scope=all")

    assert response.json() == {"deleted": 3}
    assert not Task.objects.exists()
    assert not TaskSeries.objects.exists()


def test_it_refuses_an_unknown_delete_scope(alice_client, django_capture_on_commit_callbacks):
    task = _create(alice_client, django_capture_on_commit_callbacks)

    response = alice_client.delete(f"/api/tasks/{task.pk}/series?scope=some")

    assert response.status_code == 400
    assert "scope" in response.json()["error"]["fields"]


# -- history ----------------------------------------------------------------------------------


def test_it_lists_the_history_of_a_series(alice_client, django_capture_on_commit_callbacks):
    task = _create(alice_client, django_capture_on_commit_callbacks)
    _complete(alice_client, django_capture_on_commit_callbacks, task)
    second = Task.objects.exclude(pk=task.pk).get()
    with django_capture_on_commit_callbacks(execute=True):
        alice_client.post(f"/api/tasks/{second.pk}/skip")

    response = alice_client.get(f"/api/series/{task.series_id}/history")

    assert response.status_code == 200
    rows = response.json()["results"]
    assert [(r["occurrence_at"], r["occurrence_status"]) for r in rows] == [
        ("2030-01-07T08:00:00Z", "completed"),
        ("2030-01-08T08:00:00Z", "skipped"),
        ("2030-01-09T08:00:00Z", "open"),
    ]
    assert response.json()["count"] == 3


# -- repair scan ------------------------------------------------------------------------------


def test_it_repairs_a_series_whose_completion_was_never_handled(
    alice_client, django_capture_on_commit_callbacks
):
    # given a completion whose handler never ran (worker down: no on-commit callbacks)
    task = _create(alice_client, django_capture_on_commit_callbacks)
    alice_client.patch(f"/api/tasks/{task.pk}", {"is_completed": True}, format="json")
    assert Task.objects.count() == 1

    # when the repair scan runs, twice
    first = recurrence_services.series_repair(now=utc(2030, 1, 7, 12))
    second = recurrence_services.series_repair(now=utc(2030, 1, 7, 12))

    # then exactly the missing occurrence was created
    assert (first, second) == (1, 0)
    nxt = Task.objects.exclude(pk=task.pk).get()
    assert nxt.due_at == utc(2030, 1, 8, 8)
    assert events("task.occurrence.generated")[0].data["reason"] == "repair"


def test_it_leaves_stopped_series_alone_when_repairing(alice_client, django_capture_on_commit_callbacks):
    task = _create(alice_client, django_capture_on_commit_callbacks)
    alice_client.post(f"/api/series/{task.series_id}/stop")
    Task.objects.filter(pk=task.pk).update(is_completed=True, completed_at=utc(2030, 1, 7, 9))

    assert recurrence_services.series_repair(now=utc(2030, 1, 7, 12)) == 0


def test_it_keeps_lookahead_occurrences_generated(alice_client, django_capture_on_commit_callbacks):
    _create(alice_client, django_capture_on_commit_callbacks, recurrence_rule="FREQ=WEEKLY;BYDAY=MO,TH")
    TaskSeries.objects.update(lookahead_days=14)

    created = recurrence_services.series_repair(now=utc(2030, 1, 7, 7))
    again = recurrence_services.series_repair(now=utc(2030, 1, 7, 7))

    # 14 days from 07:00 UTC on the 7th ends at 07:00 UTC on the 21st, before
    # that Monday's 09:00 (08:00 UTC) occurrence.
    assert (created, again) == (3, 0)
    assert [t.due_at.date().isoformat() for t in Task.objects.order_by("occurrence_at")] == [
        "2030-01-07",
        "2030-01-10",
        "2030-01-14",
        "2030-01-17",
    ]


def test_it_runs_the_repair_task_from_celery(alice_client, django_capture_on_commit_callbacks):
    from tasks_app.tasks import series_repair_task

    task = _create(alice_client, django_capture_on_commit_callbacks, due_at="2020-01-06T08:00:00Z")
    alice_client.patch(f"/api/tasks/{task.pk}", {"is_completed": True}, format="json")

    assert series_repair_task.delay().get() == 1
    nxt = Task.objects.exclude(pk=task.pk).get()
    assert nxt.due_at > datetime.now(tz=UTC) - timedelta(days=1)


# -- quick add through the API ---------------------------------------------------------------


def test_it_previews_quick_add_text_in_the_users_zone(alice_client):
    text = "Pay bills on the 1st of every month #home"

    response = alice_client.post("/api/tasks/parse", {"text": text}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert body["title"] == "Pay bills"
    assert body["recurrence_rule"] == "FREQ=MONTHLY;BYMONTHDAY=1"
    assert body["recurrence_summary"] == "every month on the 1st"
    assert body["tags"] == ["home"]
    assert body["timezone"] == "Europe/Berlin"
    assert [s["kind"] for s in body["spans"]] == ["recurrence", "tag"]
    assert Task.objects.count() == 0


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "empty"),
        ("x" * 501, "longer than 500"),
        ("Stretch every 30 minutes", "more frequent than hourly"),
        ("Party Feb 30", "not a date that exists"),
    ],
)
def test_it_refuses_bad_quick_add_text(alice_client, text, problem):
    response = alice_client.post("/api/tasks/parse", {"text": text}, format="json")

    assert response.status_code == 400
    assert problem in response.json()["error"]["fields"]["text"][0]


def test_it_creates_what_the_quick_add_preview_shows(alice_client, django_capture_on_commit_callbacks):
    text = "Water cactus every! 3 days at 9am #home !!! remind me 15 minutes before"
    preview = alice_client.post("/api/tasks/parse", {"text": text}, format="json").json()

    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post("/api/tasks/quick", {"text": text}, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["title"] == preview["title"] == "Water cactus"
    assert body["due_at"] == preview["due_at"]
    assert body["priority"] == "high"
    assert body["tags"] == ["home"]
    assert body["recurrence_rule"] == "FREQ=DAILY;INTERVAL=3"
    assert body["series"]["completion_mode"] == "completion"
    assert body["series"]["reminder_offsets"] == [15]
    assert TaskSeries.objects.count() == 1


def test_it_keeps_the_rule_when_one_occurrence_is_rescheduled(
    alice_client, django_capture_on_commit_callbacks
):
    # given Monday's occurrence of a weekly Monday series moved to Wednesday
    task = _create(alice_client, django_capture_on_commit_callbacks, recurrence_rule="FREQ=WEEKLY;BYDAY=MO")
    with django_capture_on_commit_callbacks(execute=True):
        alice_client.patch(f"/api/tasks/{task.pk}", {"due_at": "2030-01-09T08:00:00Z"}, format="json")

    # when it is completed
    Task.objects.filter(pk=task.pk).update(is_completed=True, completed_at=utc(2030, 1, 9, 9))
    nxt = recurrence_services.occurrence_generate_next(task_id=task.pk, now=utc(2030, 1, 9, 9))

    # then the series goes on on Mondays
    assert nxt is not None
    assert nxt.due_at == utc(2030, 1, 14, 8)
    assert TaskSeries.objects.count() == 1


def test_it_follows_a_rule_edited_through_the_task_api(alice_client, django_capture_on_commit_callbacks):
    task = _create(alice_client, django_capture_on_commit_callbacks)

    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.patch(
            f"/api/tasks/{task.pk}", {"recurrence_rule": "FREQ=WEEKLY;BYDAY=FR"}, format="json"
        )

    assert response.status_code == 200
    series = TaskSeries.objects.get()
    assert series.rule == "RRULE:FREQ=WEEKLY;BYDAY=FR"
    task.refresh_from_db()
    assert task.due_at == utc(2030, 1, 11, 8)  # re-anchored on the first Friday


def test_it_stops_the_series_when_recurrence_is_turned_off(alice_client, django_capture_on_commit_callbacks):
    task = _create(alice_client, django_capture_on_commit_callbacks)

    with django_capture_on_commit_callbacks(execute=True):
        alice_client.patch(f"/api/tasks/{task.pk}", {"is_recurring": False}, format="json")
    _complete(alice_client, django_capture_on_commit_callbacks, task)

    assert TaskSeries.objects.get().status == SeriesStatus.STOPPED
    assert Task.objects.count() == 1


def test_a_created_recurring_task_shows_its_series_in_the_response(alice_client):
    response = alice_client.post(
        "/api/tasks",
        {"title": "Standup", "due_at": DUE, "recurrence_rule": "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"},
        format="json",
    )

    assert response.status_code == 201, response.json()
    series = response.json()["series"]
    assert series["summary"] == "every weekday at 09:00"
    assert series["is_active"] is True
    assert series["next_occurrence"] is not None
    assert response.json()["series_id"] == series["id"]


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=MINUTELY",
        "FREQ=DAILY;COUNT=0",
        "FREQ=DAILY;COUNT=3;UNTIL=20310101T000000Z",
        "FREQ=DAILY;INTERVAL=1001",
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
        "EVERY DAY",
    ],
)
def test_the_task_api_refuses_a_rule_its_series_could_not_run(alice_client, rule):
    response = alice_client.post(
        "/api/tasks", {"title": "Bad", "due_at": DUE, "recurrence_rule": rule}, format="json"
    )

    assert response.status_code == 400
    assert "recurrence_rule" in response.json()["error"]["fields"]
    assert not Task.objects.exists()
    assert not TaskSeries.objects.exists()


def test_the_task_api_accepts_a_rule_set(alice_client):
    rule = "RRULE:FREQ=YEARLY;BYMONTH=1;BYMONTHDAY=14\nRDATE:20300615T090000\nEXDATE:20310114T090000"

    response = alice_client.post(
        "/api/tasks",
        {"title": "Estimated tax", "due_at": "2030-01-14T08:00:00Z", "recurrence_rule": rule},
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert response.json()["series"] is not None


def test_changing_the_rule_of_a_task_to_one_too_frequent_is_refused(alice_client):
    task_id = alice_client.post("/api/tasks", {"title": "Plain", "due_at": DUE}, format="json").json()["id"]

    response = alice_client.patch(
        f"/api/tasks/{task_id}", {"recurrence_rule": "FREQ=SECONDLY"}, format="json"
    )

    assert response.status_code == 400
    assert "recurrence_rule" in response.json()["error"]["fields"]
    assert Task.objects.get(pk=task_id).recurrence_rule == ""


def test_staff_can_list_and_stop_series_in_the_admin(alice_client, admin_client):
    series_id = alice_client.post(
        "/api/tasks", {"title": "Standup", "due_at": DUE, "recurrence_rule": "FREQ=DAILY"}, format="json"
    ).json()["series_id"]

    listing = admin_client.get("/admin/tasks_app/taskseries/")
    stopped = admin_client.post(
        "/admin/tasks_app/taskseries/", {"action": "stop_series", "_selected_action": [series_id]}
    )

    assert listing.status_code == 200
    assert b"Standup" in listing.content
    assert stopped.status_code == 302
    assert TaskSeries.objects.get(pk=series_id).status == SeriesStatus.STOPPED
