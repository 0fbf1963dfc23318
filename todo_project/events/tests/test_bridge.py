"""The Kafka bridge against a real broker (tansu), read back by a real consumer."""

from __future__ import annotations

import threading
import uuid
from collections import defaultdict

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from todo_project.events.bridge import Bridge, CircuitBreaker, topic_for
from todo_project.events.consumer import EventConsumer, Received
from todo_project.events.models import OutboxEvent
from todo_project.events.services import record_event

pytestmark = pytest.mark.kafka


def _record(user, count: int, kind: str = "user.login") -> list[OutboxEvent]:
    events = []
    for _ in range(count):
        with transaction.atomic():
            if kind == "user.login":
                events.append(
                    record_event(
                        type="user.login",
                        user_id=user.id,
                        data={"user_id": user.id, "username": user.username},
                    )
                )
            else:
                task_id = uuid.uuid4()
                events.append(
                    record_event(
                        type="task.deleted",
                        user_id=user.id,
                        data={"task_id": str(task_id), "user_id": user.id, "version": 2},
                        subject=f"tasks/{task_id}",
                    )
                )
    return events


def _drain(bridge: Bridge, rounds: int = 200) -> None:
    for _ in range(rounds):
        if not OutboxEvent.objects.filter(published_at__isnull=True).exists():
            return
        bridge.run_once()
    raise AssertionError("the bridge did not drain the outbox")


def _consume(expected: int, *, topics: list[str] | None = None, name: str | None = None) -> list[Received]:
    consumer = EventConsumer(
        name=name or f"test-{uuid.uuid4().hex[:6]}", topics=topics, static_assignment=True
    )
    received: list[Received] = []
    try:
        for _ in range(120):  # bounded: at most ~2 minutes of 1 s polls
            received += consumer.poll(timeout=1.0)
            if len(received) >= expected:
                # one more short poll catches any duplicate sent behind them
                received += consumer.poll(timeout=0.5)
                break
    finally:
        consumer.close()
    return received


def _per_user_sequences(received: list[Received]) -> dict[str, list[int]]:
    sequences: dict[str, list[int]] = defaultdict(list)
    for item in received:
        sequences[item.event.get_extension("partitionkey")].append(int(item.event.get_extension("sequence")))
    return dict(sequences)


@pytest.fixture
def bridge(kafka_settings):
    bridge = Bridge()
    bridge.start()
    yield bridge
    bridge.close()


@pytest.mark.django_db
def test_it_publishes_cloudevents_that_the_sdk_parses_from_a_real_consumer(bridge, alice, bob):
    # given
    login = _record(alice, 1)[0]
    deleted = _record(bob, 1, kind="task.deleted")[0]

    # when
    result = bridge.run_once()

    # then
    assert result.published == 2
    assert not OutboxEvent.objects.filter(published_at__isnull=True).exists()
    received = {item.event.get_id(): item for item in _consume(2)}
    assert set(received) == {str(login.id), str(deleted.id)}
    parsed = received[str(deleted.id)]
    assert parsed.topic.endswith("task-events")
    assert parsed.event.get_specversion() == "1.0"
    assert parsed.event.get_type() == "task.deleted"
    assert parsed.event.get_source() == deleted.source
    assert parsed.event.get_subject() == deleted.subject
    assert parsed.event.get_datacontenttype() == "application/json"
    assert parsed.event.get_time() == deleted.time
    assert parsed.event.get_extension("partitionkey") == str(bob.id)
    assert parsed.event.get_extension("sequence") == str(deleted.seq)
    assert parsed.event.get_data() == deleted.data
    assert received[str(login.id)].topic.endswith("audit-events")


def test_it_routes_event_types_by_family():
    assert topic_for("task.occurrence.generated") == "task-events"
    assert topic_for("reminder.triggered") == "reminder-events"
    assert topic_for("notification.sent") == "notification-events"
    assert topic_for("user.login_failed") == "audit-events"
    assert topic_for("chat.message") == "chat-events"
    assert topic_for("unheard.of") == "audit-events"
    # Projects and sections organise tasks: same topic, same per-user order.
    assert topic_for("project.archived") == "task-events"
    assert topic_for("section.deleted") == "task-events"
    assert topic_for("task.moved") == "task-events"


@pytest.mark.django_db
def test_it_creates_the_topics_with_the_specs_partition_counts(bridge):
    from confluent_kafka.admin import AdminClient

    metadata = AdminClient({"bootstrap.servers": bridge.bootstrap_servers}).list_topics(timeout=5)
    partitions = {name: len(metadata.topics[name].partitions) for name in bridge.topics.values()}
    assert partitions == {
        bridge.topics["task-events"]: 6,
        bridge.topics["reminder-events"]: 3,
        bridge.topics["notification-events"]: 3,
        bridge.topics["audit-events"]: 6,
        bridge.topics["dlq-events"]: 3,
        bridge.topics["chat-events"]: 3,
    }


@pytest.mark.django_db
def test_it_consumes_each_event_once_by_source_and_id(bridge, alice):
    # given: two events, published and consumed once
    _record(alice, 2)
    bridge.run_once()
    first = _consume(2, name="dedupe")
    assert [item.duplicate for item in first] == [False, False]

    # when: the same consumer reads the topic again (a new group: a full replay)
    consumer = EventConsumer(name="dedupe", group_id=f"replay-{uuid.uuid4().hex[:6]}", static_assignment=True)
    replayed: list[Received] = []
    for _ in range(60):
        replayed += consumer.poll(timeout=1.0)
        if len(replayed) >= 2:
            break
    consumer.close()

    # then
    assert [item.duplicate for item in replayed] == [True, True]


@pytest.mark.django_db
def test_it_keeps_each_users_order_across_bridge_restarts(kafka_settings, alice, bob):
    # given: a backlog bigger than one round
    _record(alice, 25)
    _record(bob, 25, kind="task.deleted")
    first = Bridge(batch_size=20)
    first.start()
    first.run_once()
    first.close()
    assert OutboxEvent.objects.filter(published_at__isnull=True).exists()

    # when: more events arrive and a new bridge process takes over
    _record(alice, 5)
    second = Bridge(batch_size=20)
    second.start()
    _drain(second)
    second.close()

    # then
    sequences = _per_user_sequences(_consume(55))
    assert sequences == {str(alice.id): list(range(1, 31)), str(bob.id): list(range(1, 26))}


@pytest.mark.django_db
def test_it_replays_the_backlog_in_order_after_the_broker_was_down(kafka_settings, alice, bob):
    from todo_project.testing import Broker

    broker = Broker()
    broker.start()
    kafka_settings.KAFKA_BOOTSTRAP_SERVERS = broker.bootstrap
    kafka_settings.KAFKA_DELIVERY_TIMEOUT_MS = 2000
    bridge = Bridge(breaker=CircuitBreaker(backoff=0.2, max_backoff=0.5))
    bridge.start()
    try:
        _record(alice, 3)
        _drain(bridge)

        # given: the broker goes away while events keep being written
        broker.stop()
        _record(alice, 10)
        _record(bob, 10, kind="task.deleted")

        # when: the bridge tries, fails and backs off
        result = bridge.run_once()
        assert result.published == 0
        assert result.failed > 0
        assert bridge.breaker.is_open
        assert OutboxEvent.objects.filter(published_at__isnull=True).count() == 20
        assert OutboxEvent.objects.filter(published_at__isnull=True).exclude(publish_error="").exists()

        # ... and the broker comes back (empty: tansu keeps topics in memory)
        broker.start()
        for _ in range(400):
            if not OutboxEvent.objects.filter(published_at__isnull=True).exists():
                break
            bridge.run_once()
            threading.Event().wait(0.05)

        # then: every event written during the outage arrives, in order, once
        assert not OutboxEvent.objects.filter(published_at__isnull=True).exists()
        assert not bridge.breaker.is_open
        received = _consume(20)
        assert len({item.event.get_id() for item in received}) == len(received) == 20
        assert _per_user_sequences(received) == {
            str(alice.id): list(range(4, 14)),
            str(bob.id): list(range(1, 11)),
        }
    finally:
        bridge.close()
        broker.stop()


@pytest.mark.django_db
def test_it_dead_letters_a_message_too_large_and_moves_on(kafka_settings, alice):
    # given: a limit of 2 kB and an event of 5 kB between two normal ones
    _record(alice, 1)
    with transaction.atomic():
        huge = record_event(
            type="user.login", user_id=alice.id, data={"user_id": alice.id, "username": "x" * 5000}
        )
    _record(alice, 1)
    bridge = Bridge(message_max_bytes=2000)
    bridge.start()

    # when
    result = bridge.run_once()
    bridge.close()

    # then
    assert (result.published, result.dead_lettered) == (2, 1)
    huge.refresh_from_db()
    assert huge.dead_lettered_at is not None
    assert huge.published_at is not None
    assert "too large" in huge.publish_error
    dead = _consume(1, topics=["dlq-events"])
    assert [item.event.get_id() for item in dead] == [str(huge.id)]
    assert "too large" in dead[0].event.get_extension("dlqerror")
    assert dead[0].event.get_extension("dlqtopic").endswith("audit-events")
    assert _per_user_sequences(_consume(2, topics=["audit-events"])) == {str(alice.id): [1, 3]}


@pytest.mark.django_db(transaction=True)
def test_two_bridges_at_once_neither_duplicate_nor_reorder(kafka_settings, alice, bob):
    # given: writers keep adding events while two bridges relay
    users = [alice, bob]
    writing_done = threading.Event()
    errors: list[BaseException] = []

    def write(user) -> None:
        try:
            _record(user, 60)
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    def relay() -> None:
        bridge = Bridge(batch_size=10)
        bridge.start()
        try:
            for _ in range(2000):
                bridge.run_once()
                if (
                    writing_done.is_set()
                    and not OutboxEvent.objects.filter(published_at__isnull=True).exists()
                ):
                    return
        except BaseException as exc:
            errors.append(exc)
        finally:
            bridge.close()
            connection.close()

    writers = [threading.Thread(target=write, args=(user,)) for user in users]
    relays = [threading.Thread(target=relay) for _ in range(2)]

    # when
    for thread in [*writers, *relays]:
        thread.start()
    for thread in writers:
        thread.join()
    writing_done.set()
    for thread in relays:
        thread.join()

    # then
    assert errors == []
    received = _consume(120)
    assert len({item.event.get_id() for item in received}) == len(received) == 120
    assert _per_user_sequences(received) == {
        str(alice.id): list(range(1, 61)),
        str(bob.id): list(range(1, 61)),
    }


@pytest.mark.django_db
def test_the_bridge_says_it_is_disabled_without_bootstrap_servers(settings, capsys):
    settings.KAFKA_BOOTSTRAP_SERVERS = None

    call_command("kafka_bridge")

    assert "disabled" in capsys.readouterr().out


def test_the_bridge_process_exits_cleanly_when_kafka_is_not_configured():
    import os
    import subprocess
    import sys
    from pathlib import Path

    manage = Path(__file__).resolve().parents[3] / "manage.py"
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": ""}

    done = subprocess.run(
        [sys.executable, str(manage), "kafka_bridge"], env=env, capture_output=True, text=True, timeout=60
    )

    assert done.returncode == 0, done.stderr
    assert "Kafka bridge disabled" in done.stdout


@pytest.mark.django_db(transaction=True)
def test_the_bridge_survives_losing_its_database_connection(bridge, alice):
    # given: the bridge's claim connection is cut (PostgreSQL restart, failover)
    _record(alice, 2)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [bridge._lock_conn.info.backend_pid])

    # when: a round fails on it, and the next one runs on a new connection
    assert bridge.step() == 1.0
    bridge.step()

    # then
    assert not OutboxEvent.objects.filter(published_at__isnull=True).exists()
    assert _per_user_sequences(_consume(2)) == {str(alice.id): [1, 2]}


@pytest.mark.django_db
def test_it_relays_the_assistants_events_to_chat_events(bridge, alice):
    from django.db import transaction

    with transaction.atomic():
        record_event(
            type="chat.history.cleared",
            user_id=alice.pk,
            subject=f"users/{alice.pk}",
            data={"user_id": alice.pk, "deleted_messages": 0},
        )
    bridge.run_once()
    assert OutboxEvent.objects.get(type="chat.history.cleared").published_at is not None
    (received,) = _consume(1, topics=["chat-events"])
    assert received.event.get_type() == "chat.history.cleared"


@pytest.mark.django_db
def test_the_time_header_is_written_like_iso_utc_with_and_without_microseconds(kafka_settings, alice):
    # given: one event on a whole second, one with a fraction (isoformat drops a zero fraction)
    from datetime import UTC, datetime

    from todo_project.timefmt import iso_utc

    first, second = _record(alice, 2)
    OutboxEvent.objects.filter(pk=first.pk).update(time=datetime(2026, 3, 1, 9, 0, 0, tzinfo=UTC))
    OutboxEvent.objects.filter(pk=second.pk).update(time=datetime(2026, 3, 1, 9, 0, 0, 120, tzinfo=UTC))

    # when
    rows = Bridge()._fetch([alice.id])

    # then
    assert [(row.id, row.time) for row in rows] == [
        (str(first.pk), iso_utc(datetime(2026, 3, 1, 9, 0, 0, tzinfo=UTC))),
        (str(second.pk), "2026-03-01T09:00:00.000120Z"),
    ]
    assert rows[0].time == "2026-03-01T09:00:00Z"


@pytest.mark.django_db(transaction=True)
def test_pipelined_rounds_keep_a_user_out_until_its_marks_have_committed(kafka_settings, alice):
    # given: a backlog longer than one round (10 per round)
    _record(alice, 25)
    bridge = Bridge(batch_size=10)
    bridge.start()
    try:
        # when: the first round leaves its marks committing on the marker thread
        first = bridge.run_pipelined()
        assert first.published == 10
        assert bridge.has_pending
        # the next round may not read alice's rows again while they commit
        second = bridge.run_pipelined()
        assert second.claimed_users == 0
        assert not bridge.has_pending
        assert OutboxEvent.objects.filter(published_at__isnull=True).count() == 15
        while OutboxEvent.objects.filter(published_at__isnull=True).exists() or bridge.has_pending:
            bridge.run_pipelined()
    finally:
        bridge.close()
        connection.close()

    # then: each event once, in order
    received = _consume(25)
    assert len({item.event.get_id() for item in received}) == len(received) == 25
    assert _per_user_sequences(received) == {str(alice.id): list(range(1, 26))}
