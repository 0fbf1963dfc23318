"""Recording events: atomicity, per-user numbering, resync reads, retention."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connection, transaction
from django.utils import timezone

from todo_project.events.models import OutboxEvent, UserEventCounter
from todo_project.events.selectors import ResyncHorizonExceeded, events_since
from todo_project.events.services import outbox_purge, record_event


def _login(user) -> OutboxEvent:
    with transaction.atomic():
        return record_event(
            type="user.login", user_id=user.id, data={"user_id": user.id, "username": user.username}
        )


@pytest.mark.django_db
def test_it_leaves_no_event_and_no_counter_bump_when_the_transaction_rolls_back(alice):
    # given
    _login(alice)

    def change_that_fails() -> None:
        with transaction.atomic():
            record_event(type="user.logout", user_id=alice.id, data={"user_id": alice.id})
            raise RuntimeError("boom")

    # when
    with pytest.raises(RuntimeError, match="boom"):
        change_that_fails()

    # then
    assert list(OutboxEvent.objects.values_list("type", "seq")) == [("user.login", 1)]
    assert UserEventCounter.objects.get(user_id=alice.id).last_seq == 1
    assert _login(alice).seq == 2


@pytest.mark.django_db(transaction=True)
def test_it_refuses_to_record_outside_a_transaction(alice):
    with pytest.raises(RuntimeError, match="inside transaction.atomic"):
        record_event(type="user.logout", user_id=alice.id, data={"user_id": alice.id})
    assert not OutboxEvent.objects.exists()


@pytest.mark.django_db
def test_it_fills_the_cloudevents_envelope_with_the_request_context(alice):
    from todo_project.events.context import request_context

    with request_context({"client_ip": "203.0.113.9", "user_agent": "pytest", "request_id": "r-1"}):
        event = _login(alice)

    envelope = event.envelope()
    assert envelope["specversion"] == "1.0"
    assert envelope["id"] == str(event.id)
    assert envelope["source"] == "/taskbeat/auth"
    assert envelope["partitionkey"] == str(alice.id)
    assert envelope["sequence"] == "1"
    assert envelope["time"].endswith("Z")
    assert "subject" not in envelope  # CloudEvents forbids an empty subject
    assert event.context == {"client_ip": "203.0.113.9", "user_agent": "pytest", "request_id": "r-1"}


@pytest.mark.django_db(transaction=True)
def test_it_numbers_each_users_events_contiguously_under_concurrent_writers(alice, bob):
    # given: four threads per user, each committing 15 events one by one
    errors: list[BaseException] = []
    per_thread: dict[int, list[int]] = {}

    def write(index: int, user) -> None:
        try:
            seqs = []
            for _ in range(15):
                seqs.append(_login(user).seq)
            per_thread[index] = seqs
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(i, user)) for i, user in enumerate([alice, bob] * 4)]

    # when
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # then: 1..60 for each user with no gap or duplicate, increasing within each writer
    assert errors == []
    for user in (alice, bob):
        seqs = list(OutboxEvent.objects.filter(user_id=user.id).order_by("seq").values_list("seq", flat=True))
        assert seqs == list(range(1, 61))
        assert UserEventCounter.objects.get(user_id=user.id).last_seq == 60
    assert all(seqs == sorted(seqs) for seqs in per_thread.values())


@pytest.mark.django_db
def test_it_numbers_events_without_a_user_under_partition_zero():
    with transaction.atomic():
        event = record_event(
            type="user.login_failed", user_id=None, data={"username": "mallory", "reason": "unknown"}
        )
    assert (event.user_id, event.seq) == (0, 1)


@pytest.mark.django_db
def test_it_returns_the_events_after_a_sequence_in_order(alice, bob):
    for _ in range(5):
        _login(alice)
    _login(bob)

    assert [e.seq for e in events_since(user_id=alice.id, since_seq=2)] == [3, 4, 5]
    assert [e.seq for e in events_since(user_id=alice.id, since_seq=0, limit=2)] == [1, 2]
    assert events_since(user_id=alice.id, since_seq=5) == []
    assert events_since(user_id=alice.id, since_seq=9) == []


@pytest.mark.django_db
def test_it_signals_a_resync_older_than_the_retained_outbox(alice, settings):
    # given: three old events, dispatched, then purged; two new ones
    settings.KAFKA_BOOTSTRAP_SERVERS = None
    settings.OUTBOX_RETENTION_HOURS = 1
    with time_machine.travel(timezone.now() - timedelta(hours=2)):
        for _ in range(3):
            _login(alice)
    OutboxEvent.objects.update(dispatched_at=timezone.now())
    assert outbox_purge() == 3
    _login(alice)

    # when / then
    with pytest.raises(ResyncHorizonExceeded) as raised:
        events_since(user_id=alice.id, since_seq=1)
    assert (raised.value.oldest_seq, raised.value.last_seq) == (4, 4)
    assert [e.seq for e in events_since(user_id=alice.id, since_seq=3)] == [4]


@pytest.mark.django_db
def test_it_purges_only_rows_that_did_their_job_past_the_retention(alice, settings):
    # given: old rows in every state, and one recent done row
    settings.OUTBOX_RETENTION_HOURS = 24
    now = timezone.now()
    with time_machine.travel(now - timedelta(hours=25)):
        done, undispatched, unpublished, failed = (_login(alice) for _ in range(4))
    recent = _login(alice)
    OutboxEvent.objects.filter(id__in=[done.id, recent.id]).update(dispatched_at=now, published_at=now)
    OutboxEvent.objects.filter(id=unpublished.id).update(dispatched_at=now)
    OutboxEvent.objects.filter(id=failed.id).update(dispatch_failed_at=now, published_at=now)

    # when: Kafka is configured, unpublished rows must wait for the bridge
    settings.KAFKA_BOOTSTRAP_SERVERS = "127.0.0.1:9"
    assert outbox_purge() == 1

    # then
    remaining = set(OutboxEvent.objects.values_list("id", flat=True))
    assert remaining == {undispatched.id, unpublished.id, failed.id, recent.id}

    # and without Kafka, dispatched is enough
    settings.KAFKA_BOOTSTRAP_SERVERS = None
    assert outbox_purge() == 1
    assert not OutboxEvent.objects.filter(id=unpublished.id).exists()


@pytest.mark.django_db
def test_record_events_numbers_each_users_events_contiguously_in_the_given_order(alice, bob):
    from todo_project.events.services import NewEvent, record_events

    with transaction.atomic():
        before = record_event(type="user.logout", user_id=alice.id, data={"user_id": alice.id})
        batch = record_events(
            [
                NewEvent(type="user.logout", user_id=user.id, data={"user_id": user.id})
                for user in (bob, alice, bob, alice, alice)
            ]
        )

    assert [(event.user_id, event.seq) for event in batch] == [
        (bob.id, 1),
        (alice.id, before.seq + 1),
        (bob.id, 2),
        (alice.id, before.seq + 2),
        (alice.id, before.seq + 3),
    ]
    assert all(event.pk for event in batch)


# --- batched_recording --------------------------------------------------------------


@pytest.mark.django_db
def test_a_batched_block_writes_its_events_at_its_end_in_order_in_two_statements(
    alice, bob, django_assert_num_queries, django_capture_on_commit_callbacks
):
    # given
    from todo_project.events.services import batched_recording

    _login(alice)

    # when
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        # The look-up below, then the counters and one COPY at the end.
        with django_assert_num_queries(3), batched_recording():
            with django_assert_num_queries(0):
                first = record_event(type="user.logout", user_id=alice.id, data={"user_id": alice.id})
                record_event(type="user.logout", user_id=bob.id, data={"user_id": bob.id})
                login = {"user_id": alice.id, "username": "alice"}
                record_event(type="user.login", user_id=alice.id, data=login)
            assert first.seq is None
            assert not OutboxEvent.objects.filter(pk=first.pk).exists()

    # then
    rows = list(OutboxEvent.objects.order_by("user_id", "seq").values_list("user_id", "seq", "type"))
    assert rows == [
        (alice.id, 1, "user.login"),
        (alice.id, 2, "user.logout"),
        (alice.id, 3, "user.login"),
        (bob.id, 1, "user.logout"),
    ]
    assert first.seq == 2
    assert len(callbacks) == 1  # one hand-off to the dispatcher, no marker left behind


@pytest.mark.django_db
def test_a_batched_block_drops_the_events_of_a_savepoint_rolled_back_inside_it(alice):
    from todo_project.events.services import batched_recording

    with transaction.atomic(), batched_recording():
        record_event(type="user.logout", user_id=alice.id, data={"user_id": alice.id, "n": 1})
        try:
            with transaction.atomic():
                record_event(type="user.logout", user_id=alice.id, data={"user_id": alice.id, "n": 2})
                raise ValueError("refused")
        except ValueError:
            pass
        with transaction.atomic():
            record_event(type="user.logout", user_id=alice.id, data={"user_id": alice.id, "n": 3})

    assert list(OutboxEvent.objects.order_by("seq").values_list("seq", "data__n")) == [(1, 1), (2, 3)]
    assert UserEventCounter.objects.get(user_id=alice.id).last_seq == 2


@pytest.mark.django_db
def test_an_exception_leaving_a_batched_block_rolls_back_its_change_with_its_events(alice):
    from todo_project.events.services import batched_recording

    with transaction.atomic():
        try:
            with batched_recording():
                UserEventCounter.objects.create(user_id=alice.id, last_seq=40)
                record_event(type="user.logout", user_id=alice.id, data={"user_id": alice.id})
                raise ValueError("late refusal")
        except ValueError:
            pass

    assert not OutboxEvent.objects.exists()
    assert not UserEventCounter.objects.exists()  # the change went with its (unwritten) events


@pytest.mark.django_db(transaction=True)
def test_a_batched_block_must_run_inside_a_transaction():
    from todo_project.events.services import batched_recording

    with pytest.raises(RuntimeError, match="inside transaction.atomic"), batched_recording():
        pass
