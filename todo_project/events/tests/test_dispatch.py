"""Dispatch to handlers: on commit, the sweep, retries with backoff, marked failed, re-dispatch."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone

from todo_project.events import dispatcher, registry
from todo_project.events.dispatcher import (
    dispatch_event,
    dispatch_ready,
    dispatch_sweep,
    max_dispatch_attempts,
)
from todo_project.events.models import HandlerRun, OutboxEvent
from todo_project.events.services import events_redispatch, record_event


@pytest.fixture
def calls(monkeypatch) -> list[str]:
    """A recording handler for user.logout (alone: other apps' handlers are set aside)."""
    seen: list[str] = []
    monkeypatch.setattr(registry, "_handlers", {"user.logout": [lambda event: seen.append(str(event.id))]})
    return seen


@pytest.fixture
def failing(monkeypatch) -> list[str]:
    seen: list[str] = []

    def handler(event: OutboxEvent) -> None:
        seen.append(str(event.id))
        raise ConnectionError("smtp down")

    monkeypatch.setattr(registry, "_handlers", {"user.logout": [handler]})
    return seen


def _logout(user) -> OutboxEvent:
    with transaction.atomic():
        return record_event(type="user.logout", user_id=user.id, data={"user_id": user.id})


@pytest.mark.django_db
def test_it_dispatches_to_the_registered_handlers_on_commit(alice, calls, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        event = _logout(alice)

    event.refresh_from_db()
    assert calls == [str(event.id)]
    assert event.dispatched_at is not None
    assert event.dispatch_attempts == 1


@pytest.mark.django_db
def test_it_runs_handlers_once_when_an_event_is_dispatched_twice(alice, calls):
    event = _logout(alice)

    dispatch_event(event_id=str(event.id))
    dispatch_event(event_id=str(event.id))

    assert calls == [str(event.id)]


@pytest.mark.django_db
def test_the_sweep_dispatches_an_event_whose_enqueue_was_lost(alice, calls):
    # given: committed, but the on-commit enqueue never ran (callbacks not executed)
    event = _logout(alice)
    assert dispatch_sweep() == 0  # too fresh: its enqueue may still be on the way

    # when
    with time_machine.travel(timezone.now() + timedelta(seconds=30)):
        swept = dispatch_sweep()

    # then
    assert swept == 1
    assert calls == [str(event.id)]
    event.refresh_from_db()
    assert event.dispatched_at is not None


@pytest.mark.django_db
def test_a_failing_handler_is_retried_with_backoff_then_marked_failed(alice, failing):
    # given
    event = _logout(alice)
    start = timezone.now() + timedelta(seconds=30)
    delays = []

    # when: the sweep keeps trying, never before the backoff has passed
    with time_machine.travel(start, tick=False) as clock:
        for _ in range(max_dispatch_attempts()):
            assert dispatch_sweep() == 1
            event.refresh_from_db()
            if event.next_dispatch_at is None:
                break
            delay = (event.next_dispatch_at - timezone.now()).total_seconds()
            delays.append(delay)
            clock.shift(timedelta(seconds=delay - 0.5))
            assert dispatch_sweep() == 0
            clock.shift(timedelta(seconds=0.5))

    # then: the spec's 1 s, 5 s, 30 s, 5 min; then failed for an operator
    assert delays == [1, 5, 30, 300]
    assert len(failing) == max_dispatch_attempts() == 5
    assert event.dispatch_failed_at is not None
    assert event.dispatched_at is None
    assert "ConnectionError: smtp down" in event.dispatch_error
    with time_machine.travel(start + timedelta(hours=1)):
        assert dispatch_sweep() == 0


@pytest.mark.django_db
def test_a_failed_dispatch_on_commit_waits_out_its_backoff(
    alice, failing, django_capture_on_commit_callbacks
):
    # given / when: the on-commit dispatch fails (in tests Celery is eager and
    # propagates, so its retry is not re-run inline; the sweep is the safety net)
    with time_machine.travel(timezone.now(), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            event = _logout(alice)
        now = timezone.now()

    # then: one attempt, the next one due after the first backoff step
    event.refresh_from_db()
    assert len(failing) == 1
    assert event.dispatch_failed_at is None
    assert event.dispatch_attempts == 1
    assert event.next_dispatch_at == now + timedelta(seconds=1)


@pytest.mark.django_db
def test_it_redispatches_failed_events(alice, monkeypatch, django_capture_on_commit_callbacks):
    # given: an event that failed for good
    event = _logout(alice)
    OutboxEvent.objects.filter(id=event.id).update(
        dispatch_failed_at=timezone.now(), dispatch_attempts=5, dispatch_error="boom"
    )
    seen: list[str] = []
    monkeypatch.setattr(registry, "_handlers", {"user.logout": [lambda e: seen.append(str(e.id))]})

    # when
    with django_capture_on_commit_callbacks(execute=True):
        count = events_redispatch(event_ids=[event.id])

    # then
    assert count == 1
    assert seen == [str(event.id)]
    event.refresh_from_db()
    assert event.dispatched_at is not None
    assert event.dispatch_failed_at is None
    assert event.dispatch_error == ""


def _audit_like(seen: list[str]):
    def audit_like(event: OutboxEvent) -> None:
        seen.append("audit")
        record_event(type="user.logout", user_id=event.user_id, data={"user_id": event.user_id})

    return audit_like


@pytest.mark.django_db
def test_a_failing_handler_rolls_back_only_its_own_work_and_only_it_is_retried(alice, monkeypatch):
    # given: one handler that writes (it records an event, as a handler may) and one that fails
    seen: list[str] = []

    def webhook_like(event: OutboxEvent) -> None:
        seen.append("webhook")
        if seen.count("webhook") == 1:
            raise ConnectionError("endpoint down")

    monkeypatch.setattr(registry, "_handlers", {"user.login": [_audit_like(seen), webhook_like]})
    with transaction.atomic():
        event = record_event(
            type="user.login", user_id=alice.id, data={"user_id": alice.id, "username": "alice"}
        )

    # when: the first dispatch fails in one handler, then the retry runs
    first = dispatch_event(event_id=str(event.id))
    written_after_first = OutboxEvent.objects.filter(type="user.logout").count()
    with time_machine.travel(timezone.now() + timedelta(seconds=2), tick=False):
        assert dispatch_sweep() == 1

    # then: the writing handler's work survived the other's failure and ran once
    assert first.done is False
    assert written_after_first == 1
    assert seen == ["audit", "webhook", "webhook"]
    assert OutboxEvent.objects.filter(type="user.logout").count() == 1
    event.refresh_from_db()
    assert event.dispatched_at is not None


@pytest.mark.django_db
def test_one_transaction_enqueues_one_dispatch_for_all_its_events(
    alice, calls, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with transaction.atomic():
            events = [
                record_event(type="user.logout", user_id=alice.id, data={"user_id": alice.id})
                for _ in range(3)
            ]

    assert len(callbacks) == 1
    assert calls == [str(event.id) for event in events]


@pytest.mark.django_db
def test_a_rolled_back_savepoint_leaves_the_rest_of_the_batch_dispatched(
    alice, calls, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            kept = record_event(type="user.logout", user_id=alice.id, data={"user_id": alice.id})
            try:
                with transaction.atomic():
                    record_event(type="user.logout", user_id=alice.id, data={"user_id": alice.id})
                    raise RuntimeError("abandon this part")
            except RuntimeError:
                pass

    assert calls == [str(kept.id)]
    assert OutboxEvent.objects.count() == 1


@pytest.mark.django_db
def test_a_sweep_leases_its_events_so_an_overlapping_sweep_skips_them(alice, monkeypatch):
    # given an event whose enqueue was lost, and a sweep that dies after claiming it
    event = _logout(alice)
    taken: list[str] = []
    monkeypatch.setattr(
        dispatcher, "_dispatch_leased", lambda events: taken.extend(str(event.id) for event in events)
    )
    later = timezone.now() + dispatcher.sweep_grace() + timedelta(seconds=1)

    with time_machine.travel(later, tick=False):
        first = dispatch_sweep()
        overlapping = dispatch_sweep()
    with time_machine.travel(later + dispatcher.dispatch_lease() + timedelta(seconds=1), tick=False):
        after_lease = dispatch_sweep()

    # then only one sweep took it until the lease ran out
    assert (first, overlapping, after_lease) == (1, 0, 1)
    assert taken == [str(event.id), str(event.id)]


@pytest.mark.django_db
def test_events_recorded_inside_and_after_released_savepoints_share_one_dispatch(
    alice, calls, django_capture_on_commit_callbacks
):
    # given a service that records inside nested savepoints, then after them (as
    # generating an occurrence does: task.created deep inside, the occurrence event after)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with transaction.atomic():
            with transaction.atomic():
                with transaction.atomic():
                    inner = record_event(type="user.logout", user_id=alice.id, data={"user_id": alice.id})
            outer = record_event(type="user.logout", user_id=alice.id, data={"user_id": alice.id})

    # then one dispatch task carries both, in order
    assert len(callbacks) == 1
    assert calls == [str(inner.id), str(outer.id)]


@pytest.mark.django_db
def test_a_batch_handler_gets_the_batch_in_one_call_each_user_by_sequence(alice, bob, monkeypatch):
    # given a batch handler and events from several transactions whose enqueue has not run
    batches: list[list[str]] = []

    def batch_handler(events: list[OutboxEvent]) -> None:
        batches.append([str(event.id) for event in events])

    batch_handler.takes_batch = True  # type: ignore[attr-defined]
    monkeypatch.setattr(registry, "_handlers", {"user.logout": [batch_handler]})
    recorded = [_logout(user) for user in (alice, bob, alice)]

    # when a worker drains what is ready
    taken = dispatch_ready()

    # then one call saw all of them, each user's in sequence, and they are done
    assert taken == 3
    by_user = sorted(recorded, key=lambda event: (event.user_id, event.seq))
    assert batches == [[str(event.id) for event in by_user]]
    assert OutboxEvent.objects.filter(dispatched_at__isnull=True).count() == 0
    assert dispatch_ready() == 0


@pytest.mark.django_db
def test_a_failing_batch_is_retried_event_by_event_so_only_the_bad_one_fails(alice, monkeypatch):
    # given a batch handler that chokes on one event
    seen: list[str] = []
    poison: list[str] = []

    def batch_handler(events: list[OutboxEvent]) -> None:
        for event in events:
            if str(event.id) in poison:
                raise ValueError("cannot handle this one")
            seen.append(str(event.id))

    batch_handler.takes_batch = True  # type: ignore[attr-defined]
    monkeypatch.setattr(registry, "_handlers", {"user.logout": [batch_handler]})
    good, bad, also_good = (_logout(alice) for _ in range(3))
    poison.append(str(bad.id))

    # when
    dispatch_ready()

    # then the batch's partial work rolled back and each good event ran exactly once
    assert sorted(seen[-2:]) == sorted([str(good.id), str(also_good.id)])
    assert seen.count(str(good.id)) == 2  # once in the rolled-back batch, once on its own
    for event in (good, also_good):
        event.refresh_from_db()
        assert event.dispatched_at is not None
    bad.refresh_from_db()
    assert bad.dispatched_at is None
    assert bad.dispatch_attempts == 1
    assert "ValueError: cannot handle this one" in bad.dispatch_error
    assert HandlerRun.objects.filter(event_id=bad.id).count() == 0
    assert HandlerRun.objects.filter(event_id__in=[good.id, also_good.id]).count() == 2


@pytest.mark.django_db
def test_an_event_leased_by_another_dispatch_is_left_to_it(alice, calls):
    # given an event a draining worker has leased (and is still working on)
    event = _logout(alice)
    OutboxEvent.objects.filter(id=event.id).update(
        next_dispatch_at=timezone.now() + dispatcher.dispatch_lease()
    )

    # when its own on-commit dispatch arrives
    outcome = dispatch_event(event_id=str(event.id))

    # then it does not run the handlers a second time alongside
    assert outcome.done is True
    assert calls == []
    event.refresh_from_db()
    assert event.dispatched_at is None


@pytest.mark.django_db(transaction=True)
def test_a_worker_drains_ready_events_outside_any_transaction(alice, calls, monkeypatch):
    # A worker runs in autocommit, unlike the tests around it (each wrapped in a
    # transaction). Given three committed events whose enqueue was lost:
    from todo_project.events import services

    monkeypatch.setattr(services, "_enqueue_dispatch", lambda event_ids: None)
    events = [_logout(alice) for _ in range(3)]

    assert dispatch_ready() == 3

    assert calls == [str(event.id) for event in events]
    assert OutboxEvent.objects.filter(dispatched_at__isnull=True).count() == 0


@pytest.mark.django_db
def test_a_users_events_go_by_sequence_even_when_the_hosts_clocks_disagree(alice, monkeypatch):
    seen: list[int] = []

    def batch_handler(events: list[OutboxEvent]) -> None:
        seen.extend(event.seq for event in events)

    batch_handler.takes_batch = True  # type: ignore[attr-defined]
    monkeypatch.setattr(registry, "_handlers", {"user.logout": [batch_handler]})
    first, second = _logout(alice), _logout(alice)
    # the second transaction ran on a host whose clock is 5 ms behind
    OutboxEvent.objects.filter(id=second.id).update(time=first.time - timedelta(milliseconds=5))

    dispatch_ready()

    assert seen == [first.seq, second.seq]


@pytest.mark.django_db
def test_a_handler_skips_events_its_when_test_refuses_without_a_claim(alice, monkeypatch):
    seen: list[str] = []
    monkeypatch.setattr(registry, "_handlers", {"user.logout": []})  # registered below, for this test only
    monkeypatch.setattr(registry, "_names", {})

    @registry.handles(
        "user.logout",
        name="tests.on_expired_logout",
        when=lambda event: event.data.get("reason") == "expired",
    )
    def on_expired_logout(event: OutboxEvent) -> None:
        seen.append(str(event.id))

    with transaction.atomic():
        plain = record_event(type="user.logout", user_id=alice.id, data={"user_id": alice.id})

    dispatch_ready()

    assert seen == []
    assert HandlerRun.objects.filter(event_id=plain.id).count() == 0
    plain.refresh_from_db()
    assert plain.dispatched_at is not None


@pytest.mark.django_db
def test_the_retry_schedule_is_the_configured_one(alice, failing, settings):
    settings.EVENTS_RETRY_SECONDS = (2, 3)
    event = _logout(alice)
    delays = []
    with time_machine.travel(timezone.now() + timedelta(seconds=30), tick=False) as clock:
        while True:
            dispatch_sweep()
            event.refresh_from_db()
            if event.next_dispatch_at is None:
                break
            delays.append((event.next_dispatch_at - timezone.now()).total_seconds())
            clock.shift(timedelta(seconds=delays[-1]))
    assert delays == [2, 3]
    assert len(failing) == max_dispatch_attempts() == 3
    assert event.dispatch_failed_at is not None
