"""The Kafka bridge: relays outbox rows to Kafka as CloudEvents, in order per user.

One round (``Bridge.run_once``):

1. pick users with unpublished events (a skip-scan over the partial index,
   rotating through user ids so a busy user never starves the others);
2. claim them with a session-level ``pg_try_advisory_lock`` on a dedicated
   connection: another bridge replica skips a user this one holds, so one
   user's events are only ever in flight from one producer;
3. read a prefix of each claimed user's unpublished events (autocommit: no
   transaction stays open while talking to the broker);
4. produce them (binary content mode, key = user id), wait for every
   delivery report;
5. in one short transaction, mark published the *contiguous confirmed
   prefix* of each user's batch; everything from a user's first unconfirmed
   event on is resent next round (at-least-once: consumers de-duplicate by
   ``source`` + ``id`` and may order by the ``sequence`` extension);
6. release the claims.

``run_pipelined`` (what ``step``/``run_forever`` use) overlaps step 5 of one
round with steps 1-4 of the next while a backlog lasts: the marks commit on a
marker thread, and the users whose marks are still committing stay claimed and
out of the next round. Rows are read as text (id, time formatted like
``iso_utc``, data) so no UUID or datetime object is built per message.

Poison messages (too large, unserialisable) go to the dead-letter topic with
the error and count as handled. A circuit breaker (5 failures in 10 s, spec
NFR-FT-004) stops the bridge hammering a broker that is down; it probes the
broker with a metadata request before resuming, and re-creates missing topics.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import psycopg
from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic
from django.conf import settings
from django.db import DatabaseError, connection, transaction

from todo_project.events.types import EVENT_TYPES
from todo_project.faultpoints import fault_point
from todo_project.prometheus import KAFKA_PUBLISHED

logger = logging.getLogger(__name__)

# Spec §5.1: partitions and retention per topic.
DAY_MS = 24 * 3600 * 1000
TOPIC_SPECS: dict[str, tuple[int, int]] = {
    "task-events": (6, 7 * DAY_MS),
    "reminder-events": (3, 1 * DAY_MS),
    "notification-events": (3, 1 * DAY_MS),
    "audit-events": (6, 30 * DAY_MS),
    "dlq-events": (3, 14 * DAY_MS),
    # The assistant's conversation log (not in the spec): a week, like task-events.
    "chat-events": (3, 7 * DAY_MS),
}
# Event type family -> logical topic. Auth events (user.*) are audit events;
# anything of an unknown family goes to audit-events rather than nowhere.
FAMILY_TOPICS = {
    "task": "task-events",
    # Projects and sections organise tasks: consumers of task-events need them
    # in the same per-user order (one key, one partition).
    "project": "task-events",
    "section": "task-events",
    "reminder": "reminder-events",
    "notification": "notification-events",
    # A user's browsers for Web Push: consumers of notification outcomes need them.
    "push_subscription": "notification-events",
    "user": "audit-events",
    "preferences": "audit-events",
    "chat": "chat-events",
    # Calendar-feed changes are account settings, like preferences.
    "calendar": "audit-events",
    # Import jobs: next to the task.created events an import records (one key, one order).
    "import": "task-events",
}
DEFAULT_TOPIC = "audit-events"
DLQ_TOPIC = "dlq-events"

# Advisory-lock namespace ("tb" + "ob"), the first key of the two-int form.
_LOCK_NAMESPACE = 0x7462_6F62
# Errors that no resend can fix: the message goes to the dead-letter topic.
_POISON_CODES = {
    code
    for code in (
        KafkaError.MSG_SIZE_TOO_LARGE,
        KafkaError._INVALID_ARG,
        getattr(KafkaError, "INVALID_RECORD", None),
        getattr(KafkaError, "CORRUPT_MESSAGE", None),
        getattr(KafkaError, "RECORD_LIST_TOO_LARGE", None),
    )
    if code is not None
}


def topic_for(event_type: str) -> str:
    """The logical topic an event type is relayed to (see docs/events.md)."""
    return FAMILY_TOPICS.get(event_type.split(".", 1)[0], DEFAULT_TOPIC)


# Every declared type's topic (a test checks each lands where its family says).
TOPIC_OF_TYPE: dict[str, str] = {event_type: topic_for(event_type) for event_type in EVENT_TYPES}


def topic_names() -> dict[str, str]:
    """Logical topic -> the real topic name (configured name plus KAFKA_TOPIC_PREFIX)."""
    return {
        logical: f"{settings.KAFKA_TOPIC_PREFIX}{name}" for logical, name in settings.KAFKA_TOPICS.items()
    }


def kafka_client_config() -> dict[str, Any]:
    """Connection settings shared by the producer, admin client and example consumer."""
    config: dict[str, Any] = {
        "bootstrap.servers": settings.KAFKA_BOOTSTRAP_SERVERS,
        "security.protocol": settings.KAFKA_SECURITY_PROTOCOL,
    }
    if settings.KAFKA_SASL_MECHANISM:
        config["sasl.mechanism"] = settings.KAFKA_SASL_MECHANISM
        config["sasl.username"] = settings.KAFKA_SASL_USERNAME or ""
        config["sasl.password"] = settings.KAFKA_SASL_PASSWORD or ""
    return config


class CircuitBreaker:
    """Opens after ``threshold`` failures within ``window`` seconds; backs off, then half-opens.

    While open, ``allow()`` is False until the backoff has passed; the caller
    then probes and reports ``record_success`` (close) or ``record_failure``
    (open again with a doubled backoff, capped).
    """

    def __init__(
        self,
        *,
        threshold: int = 5,
        window: float = 10.0,
        backoff: float = 1.0,
        max_backoff: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.threshold = threshold
        self.window = window
        self.base_backoff = backoff
        self.max_backoff = max_backoff
        self.clock = clock
        self._failures: deque[float] = deque()
        self._opened_at: float | None = None
        self._backoff = backoff

    @property
    def is_open(self) -> bool:
        return self._opened_at is not None

    def allow(self) -> bool:
        return self._opened_at is None or self.clock() - self._opened_at >= self._backoff

    def wait_seconds(self) -> float:
        if self._opened_at is None:
            return 0.0
        return max(0.0, self._backoff - (self.clock() - self._opened_at))

    def record_failure(self, count: int = 1) -> None:
        now = self.clock()
        if self._opened_at is not None:
            # A failed probe: stay open, wait longer.
            self._opened_at = now
            self._backoff = min(self.max_backoff, self._backoff * 2)
            return
        self._failures.extend([now] * count)
        while self._failures and now - self._failures[0] > self.window:
            self._failures.popleft()
        if len(self._failures) >= self.threshold:
            self._opened_at = now
            self._backoff = self.base_backoff
            self._failures.clear()
            logger.warning("kafka circuit breaker open: %d failures in %.0f s", self.threshold, self.window)

    def record_success(self) -> None:
        if self._opened_at is not None:
            logger.info("kafka circuit breaker closed")
        self._opened_at = None
        self._backoff = self.base_backoff
        self._failures.clear()


@dataclass(slots=True)
class _Row:
    id: str  # the UUID's canonical text, as PostgreSQL writes it
    user_id: int
    seq: int
    type: str
    source: str
    subject: str
    time: str  # RFC 3339 in UTC with a ``Z``, formatted by PostgreSQL like ``iso_utc`` would
    data: str  # the JSON text as stored; relayed byte for byte
    request_id: str = ""  # of the request that recorded it (the correlation id), "" for none


@dataclass
class RoundResult:
    claimed_users: int = 0
    published: int = 0
    dead_lettered: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass
class _Marks:
    """What one round writes back once its deliveries are confirmed."""

    users: list[int] = field(default_factory=list)  # claimed; released after the marks commit
    published: list[str] = field(default_factory=list)
    dead: dict[str, str] = field(default_factory=dict)  # id -> why it went to the dead-letter topic
    failed: dict[str, str] = field(default_factory=dict)  # id -> delivery error, resent next round
    topics: Counter[str] = field(default_factory=Counter)  # published per logical topic (metrics)
    more: bool = False  # the backlog goes on: pipelined mode marks these while the next round runs


_CONSTANT_HEADERS: tuple[tuple[str, bytes], ...] = (("ce_specversion", b"1.0"),)
_CONTENT_TYPE = ("content-type", b"application/json")


def ce_headers(row: _Row, **extensions: str) -> list[tuple[str, str | bytes | None]]:
    """CloudEvents Kafka binding, binary content mode: attributes as ``ce_*`` headers.

    Built once per message on the hot path: plain tuples, the constant ones shared.
    """
    headers: list[tuple[str, str | bytes | None]] = [
        *_CONSTANT_HEADERS,
        ("ce_id", row.id.encode()),
        ("ce_source", row.source.encode()),
        ("ce_type", row.type.encode()),
        ("ce_time", row.time.encode()),
        ("ce_partitionkey", str(row.user_id).encode()),
        ("ce_sequence", str(row.seq).encode()),
        _CONTENT_TYPE,
    ]
    if row.subject:
        headers.append(("ce_subject", row.subject.encode()))
    if row.request_id:
        # CloudEvents extension: the X-Request-ID of the request behind the event.
        headers.append(("ce_requestid", row.request_id.encode()))
    if extensions:
        headers.extend((f"ce_{name}", value.encode()) for name, value in extensions.items())
    return headers


def _close_connection() -> None:
    """Close the calling thread's Django connection (``connection`` resolves per thread when called)."""
    connection.close()


class Bridge:
    """One bridge replica. ``start()``, then ``run_once()`` in a loop (or ``run_forever``), ``close()``."""

    def __init__(
        self,
        *,
        bootstrap_servers: str | None = None,
        batch_size: int | None = None,
        users_per_round: int = 200,
        delivery_timeout_ms: int | None = None,
        message_max_bytes: int | None = None,
        producer_config: dict[str, Any] | None = None,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self.bootstrap_servers: str = bootstrap_servers or settings.KAFKA_BOOTSTRAP_SERVERS or ""
        if not self.bootstrap_servers:
            raise RuntimeError("KAFKA_BOOTSTRAP_SERVERS is not set: the Kafka bridge is disabled")
        self.batch_size = batch_size or settings.KAFKA_BRIDGE_BATCH_SIZE
        self.users_per_round = users_per_round
        self.delivery_timeout_ms = delivery_timeout_ms or settings.KAFKA_DELIVERY_TIMEOUT_MS
        self.message_max_bytes = message_max_bytes or settings.KAFKA_MESSAGE_MAX_BYTES
        self.extra_config = producer_config or {}
        self.breaker = breaker or CircuitBreaker()
        self.topics = topic_names()
        self._producer: Producer | None = None
        self._lock_conn: psycopg.Connection | None = None
        self._user_cursor = -1
        # Errors the broker reported for a row that no resend can fix; the row
        # goes to the dead-letter topic on its next turn.
        self._poison: dict[str, str] = {}
        self._topics_ready = False
        # Pipelined mode (``run_forever``/``step``): the previous round's marks,
        # committing on the marker thread while this round produces.
        self._marker: ThreadPoolExecutor | None = None
        self._pending: tuple[Future[None], _Marks] | None = None

    # --- lifecycle -------------------------------------------------------
    def start(self) -> None:
        try:
            self._connect_locks()
        except psycopg.Error:
            # PostgreSQL away while the bridge starts (a restart during an
            # outage, found by the fault suite's chaos run): start anyway; each
            # round reconnects first and ``step`` retries every second.
            logger.warning("database unreachable at start; the bridge retries", exc_info=True)
        self._producer = self._make_producer()
        self._topics_ready = self.ensure_topics()

    def _connect_locks(self) -> None:
        # A connection of its own, outside Django's pool: session-level
        # advisory locks die with it, and it must never be handed to other code.
        self._lock_conn = psycopg.connect(**connection.get_connection_params(), autocommit=True)

    def close(self) -> None:
        try:
            self._finish_pending()
        except (DatabaseError, psycopg.Error):
            logger.warning("could not mark the last round published; it is resent", exc_info=True)
        if self._marker is not None:
            # The marker thread's own Django connection dies with the thread.
            self._marker.submit(_close_connection).result()
            self._marker.shutdown()
            self._marker = None
        if self._producer is not None:
            self._producer.flush(5)
            self._producer = None
        if self._lock_conn is not None:
            self._lock_conn.close()
            self._lock_conn = None

    def _make_producer(self) -> Producer:
        config: dict[str, Any] = {
            **kafka_client_config(),
            "bootstrap.servers": self.bootstrap_servers,
            "enable.idempotence": True,
            "acks": "all",
            # Java-compatible key hashing, so every client agrees on a user's partition.
            "partitioner": "murmur2_random",
            "message.timeout.ms": self.delivery_timeout_ms,
            "message.max.bytes": self.message_max_bytes,
            "linger.ms": 5,
            "compression.type": "lz4",
            "queue.buffering.max.messages": max(100000, self.batch_size * 2),
            "socket.connection.setup.timeout.ms": min(10000, self.delivery_timeout_ms),
            "reconnect.backoff.max.ms": 2000,
            **self.extra_config,
        }
        return Producer(config)

    def ensure_topics(self) -> bool:
        """Create missing topics with the spec's partitions and retention. True when all exist."""
        admin = AdminClient({**kafka_client_config(), "bootstrap.servers": self.bootstrap_servers})
        try:
            existing = set(admin.list_topics(timeout=5).topics)
        except KafkaException as exc:
            logger.warning("kafka unreachable while checking topics: %s", exc)
            return False
        missing = [
            NewTopic(
                name,
                num_partitions=TOPIC_SPECS[logical][0],
                replication_factor=settings.KAFKA_REPLICATION_FACTOR,
                config={"retention.ms": str(TOPIC_SPECS[logical][1])},
            )
            for logical, name in self.topics.items()
            if name not in existing
        ]
        if not missing:
            return True
        ok = True
        for name, future in admin.create_topics(missing, request_timeout=10).items():
            try:
                future.result(15)
                logger.info("created kafka topic %s", name)
            except KafkaException as exc:
                error = exc.args[0] if exc.args else None
                if isinstance(error, KafkaError) and error.code() == KafkaError.TOPIC_ALREADY_EXISTS:
                    continue  # another replica won the race
                logger.warning("could not create kafka topic %s: %s", name, exc)
                ok = False
        return ok

    # --- the loop --------------------------------------------------------
    def run_forever(self, stop: threading.Event, *, idle_sleep: float = 0.2) -> None:
        while not stop.is_set():
            stop.wait(self.step(idle_sleep=idle_sleep))

    def step(self, *, idle_sleep: float = 0.2) -> float:
        """One pipelined round that survives a lost database connection; returns how long to wait."""
        had_pending = self._pending is not None
        try:
            result = self.run_pipelined()
        except (DatabaseError, psycopg.Error):
            # PostgreSQL restarted or the connection was cut: the claims died
            # with the lock connection, nothing was marked, so reconnecting and
            # starting over resends at most the unconfirmed rows.
            logger.exception("database error in the kafka bridge; reconnecting")
            self._reset_database()
            return 1.0
        if self.breaker.is_open:
            return max(0.1, self.breaker.wait_seconds())
        # Users held back behind the previous round's marks are free now: go again at once.
        return idle_sleep if result.claimed_users == 0 and not had_pending else 0.0

    def _reset_database(self) -> None:
        self._pending = None  # its claims die with the lock connection; its rows are resent
        if self._marker is not None:
            self._marker.submit(_close_connection).result()
        connection.close()
        if self._lock_conn is not None:
            try:
                self._lock_conn.close()
            except psycopg.Error:
                pass  # already broken; closing is best effort
        self._lock_conn = None
        try:
            self._connect_locks()
        except psycopg.Error:
            logger.warning("database still unreachable; the bridge retries", exc_info=True)

    def run_once(self) -> RoundResult:
        """One round: claim users, relay a prefix of each one's backlog, mark, release.

        Kafka errors never raise: they are recorded on the rows and counted by the breaker.
        """
        self._finish_pending()
        result, marks = self._round(exclude=frozenset())
        if marks is not None:
            try:
                self._mark(marks)
            finally:
                self._release(marks.users)
        return result

    def run_pipelined(self) -> RoundResult:
        """``run_once``, with this round's marking overlapping the next round.

        The marks (one transaction) commit on the marker thread while the next
        round claims, reads and produces *other* users: a user stays claimed,
        and out of the next round, until its marks have committed, so its next
        round reads from its first unconfirmed event. Rows are still marked
        only after their delivery was confirmed. ``close()`` finishes the last.
        """
        exclude = frozenset(self._pending[1].users) if self._pending is not None else frozenset()
        try:
            result, marks = self._round(exclude=exclude)
        finally:
            self._finish_pending()
        if marks is None:
            return result
        if not marks.more:
            # The backlog is (nearly) drained: no next round to overlap with,
            # and marking now keeps the outbox's view current at once.
            try:
                self._mark(marks)
            finally:
                self._release(marks.users)
            return result
        if self._marker is None:
            self._marker = ThreadPoolExecutor(1, thread_name_prefix="kafka-bridge-mark")
        self._pending = (self._marker.submit(self._mark_on_thread, marks), marks)
        return result

    @property
    def has_pending(self) -> bool:
        """A round's marks are still committing (pipelined mode)."""
        return self._pending is not None

    def _finish_pending(self) -> None:
        """Wait for the previous round's marks to commit, then release its users (even if they failed)."""
        if self._pending is None:
            return
        future, marks = self._pending
        self._pending = None
        try:
            future.result()
        finally:
            self._release(marks.users)

    def _mark_on_thread(self, marks: _Marks) -> None:
        try:
            self._mark(marks)
        except BaseException:
            connection.close()  # this thread's connection; a fresh one next time
            raise

    def _round(self, *, exclude: frozenset[int]) -> tuple[RoundResult, _Marks | None]:
        """Claim, read, produce and wait for the delivery reports; the marks still to write."""
        assert self._producer is not None, "call start() first"
        if self._lock_conn is None:
            self._connect_locks()
        result = RoundResult()
        if self.breaker.is_open:
            if not self.breaker.allow() or not self._probe():
                return result, None
        if not self._topics_ready:
            self._topics_ready = self.ensure_topics()
        users = self._candidate_users(exclude)
        if not users:
            return result, None
        claimed = self._claim(users)
        result.claimed_users = len(claimed)
        if not claimed:
            return result, None
        try:
            rows = self._fetch(claimed)
            marks = self._relay(rows, result)
        except BaseException:
            self._release(claimed)
            raise
        marks.users = claimed
        per_user = Counter(row.user_id for row in rows)
        limit = self._per_user(len(claimed))
        # More to do right after: users were left waiting, or a backlog was cut at the limit.
        marks.more = len(users) >= self.users_per_round or any(n >= limit for n in per_user.values())
        return result, marks

    def _probe(self) -> bool:
        """Half-open breaker: one metadata request decides whether to resume."""
        assert self._producer is not None
        try:
            self._producer.list_topics(timeout=5)
        except KafkaException as exc:
            logger.info("kafka still unreachable: %s", exc)
            self.breaker.record_failure()
            return False
        self.breaker.record_success()
        # A fresh producer after an outage: the old one's idempotence state
        # (producer id, sequence numbers) may be unknown to a restarted broker,
        # and everything it held has been reported failed already.
        self._producer.purge()
        self._producer.poll(0)
        self._producer = self._make_producer()
        # An in-memory or rebuilt broker may have come back without our topics.
        self._topics_ready = self.ensure_topics()
        return True

    # --- database side ---------------------------------------------------
    def _candidate_users(self, exclude: frozenset[int] = frozenset()) -> list[int]:
        """Users with unpublished events, after the rotating cursor (wrapping around), minus ``exclude``."""
        want = self.users_per_round + len(exclude)
        users = self._users_after(self._user_cursor, want)
        if len(users) < want and self._user_cursor >= 0:
            users += [u for u in self._users_after(-1, want - len(users)) if u not in users]
        if users:
            self._user_cursor = users[-1] if len(users) >= want else -1
        if exclude:
            users = [u for u in users if u not in exclude][: self.users_per_round]
        random.shuffle(users)  # replicas then contend on different users first
        return users

    def _users_after(self, after: int, limit: int) -> list[int]:
        # A loose index scan over outbox_unpublished_idx: one index probe per
        # distinct user instead of reading every unpublished row.
        with connection.cursor() as cursor:
            cursor.execute(
                """
                WITH RECURSIVE u(user_id) AS (
                  (SELECT user_id FROM events_outboxevent
                    WHERE published_at IS NULL AND user_id > %s ORDER BY user_id, seq LIMIT 1)
                  UNION ALL
                  SELECT (SELECT e.user_id FROM events_outboxevent e
                           WHERE e.published_at IS NULL AND e.user_id > u.user_id
                           ORDER BY e.user_id, e.seq LIMIT 1)
                    FROM u WHERE u.user_id IS NOT NULL
                )
                SELECT user_id FROM u WHERE user_id IS NOT NULL LIMIT %s
                """,
                [after, limit],
            )
            return [row[0] for row in cursor.fetchall()]

    def _claim(self, users: list[int]) -> list[int]:
        assert self._lock_conn is not None
        rows = self._lock_conn.execute(
            "SELECT uid FROM unnest(%s::bigint[]) AS uid"
            " WHERE pg_try_advisory_lock(%s, (uid %% 2147483648)::int)",
            [users, _LOCK_NAMESPACE],
        ).fetchall()
        return [row[0] for row in rows]

    def _release(self, users: list[int]) -> None:
        assert self._lock_conn is not None
        self._lock_conn.execute(
            "SELECT pg_advisory_unlock(%s, (uid %% 2147483648)::int) FROM unnest(%s::bigint[]) AS uid",
            [_LOCK_NAMESPACE, users],
        )

    def _per_user(self, users: int) -> int:
        """How many events of each claimed user one round reads."""
        return max(10, self.batch_size // max(1, users))

    def _fetch(self, users: list[int]) -> list[_Row]:
        """A prefix of each claimed user's unpublished events, in (user, seq) order.

        Called after the claim: only this bridge can publish these users' rows
        now, and everything another bridge marked published before releasing
        its claim is committed, so the prefix starts at the first unconfirmed event.
        """
        per_user = self._per_user(len(users))
        with connection.cursor() as cursor:
            # Text straight from PostgreSQL (id, data, and the time as
            # ``iso_utc`` writes it: microseconds only when there are any, then
            # ``Z``): no UUID/datetime objects per row. No ORDER BY: sorting
            # the wide rows spills to disk; Python sorts them by (user, seq).
            cursor.execute(
                """
                SELECT e.id::text, e.user_id, e.seq, e.type, e.source, e.subject,
                       to_char(e.time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
                         || CASE WHEN extract(microseconds FROM e.time)::bigint %% 1000000 = 0 THEN ''
                                 ELSE to_char(e.time AT TIME ZONE 'UTC', '.US') END || 'Z',
                       e.data::text,
                       coalesce(e.context->>'request_id', '')
                  FROM unnest(%s::bigint[]) AS u(uid)
                  CROSS JOIN LATERAL (
                    SELECT * FROM events_outboxevent o
                     WHERE o.user_id = u.uid AND o.published_at IS NULL
                     ORDER BY o.seq LIMIT %s
                  ) e
                """,
                [users, per_user],
            )
            rows = [_Row(*row) for row in cursor.fetchall()]
        rows.sort(key=lambda row: (row.user_id, row.seq))
        return rows

    # --- broker side -----------------------------------------------------
    def _relay(self, rows: list[_Row], result: RoundResult) -> _Marks:
        assert self._producer is not None
        producer = self._producer
        outcome: dict[str, str | None] = {}  # id -> None (delivered) or error text
        dead: dict[str, str] = {}  # id -> why it went to the dead-letter queue
        poison_now: dict[str, str] = {}
        fatal = False

        def report(row_id: str) -> Callable[[KafkaError | None, Any], None]:
            def on_delivery(error: KafkaError | None, _message: Any) -> None:
                nonlocal fatal
                if error is None:
                    outcome[row_id] = None
                    return
                outcome[row_id] = str(error)
                if error.fatal():
                    fatal = True
                elif error.code() in _POISON_CODES and row_id not in dead:
                    poison_now[row_id] = str(error)

            return on_delivery

        stop_user: int | None = None
        for row in rows:
            if row.user_id == stop_user:
                continue  # an earlier event of this user could not even be queued
            topic = self.topics[topic_for(row.type)]
            poison = self._poison.pop(row.id, None)
            if poison is None:
                try:
                    value = row.data.encode("utf-8")
                    headers = ce_headers(row)
                except (UnicodeError, ValueError) as exc:
                    poison = f"unserialisable event: {exc}"
                else:
                    if len(value) > self.message_max_bytes:
                        poison = f"message too large: {len(value)} bytes > {self.message_max_bytes}"
            if poison is not None:
                dead[row.id] = poison
                self._produce_dead_letter(row, topic, poison, report(row.id))
                continue
            try:
                self._produce(topic, str(row.user_id), value, headers, report(row.id))
            except KafkaException as exc:
                error = exc.args[0] if exc.args else None
                if isinstance(error, KafkaError) and error.code() in _POISON_CODES:
                    dead[row.id] = str(error)
                    self._produce_dead_letter(row, topic, str(error), report(row.id))
                else:
                    outcome[row.id] = str(exc)
                    stop_user = row.user_id
        remaining = producer.flush(self.delivery_timeout_ms / 1000 + 5)
        if remaining:
            # Reports overdue: drop what is still queued so nothing from this
            # round is delivered behind the resend; the rows stay unpublished.
            producer.purge(in_queue=True, in_flight=False)
            producer.poll(0)
        fault_point("bridge.after_produce")
        self._poison.update(poison_now)
        if fatal:
            logger.error("kafka producer hit a fatal error; starting a new producer")
            self._producer = self._make_producer()
        return self._settle(rows, outcome, dead, result)

    def _produce(
        self,
        topic: str,
        key: str,
        value: bytes,
        headers: list[tuple[str, str | bytes | None]],
        on_delivery: Callable[[KafkaError | None, Any], None],
    ) -> None:
        assert self._producer is not None
        while True:
            try:
                self._producer.produce(topic, key=key, value=value, headers=headers, on_delivery=on_delivery)
                return
            except BufferError:
                self._producer.poll(0.05)  # local queue full: let deliveries drain

    def _produce_dead_letter(
        self, row: _Row, topic: str, error: str, on_delivery: Callable[[KafkaError | None, Any], None]
    ) -> None:
        """The original attributes, the error and the intended topic; the data when it fits."""
        value = row.data.encode("utf-8", errors="replace")
        extensions = {"dlqerror": error[:1000], "dlqtopic": topic}
        if len(value) > self.message_max_bytes // 2:
            value, extensions["dlqdataomitted"] = b"null", str(len(value))
        self._produce(
            self.topics[DLQ_TOPIC], str(row.user_id), value, ce_headers(row, **extensions), on_delivery
        )

    def _settle(
        self,
        rows: list[_Row],
        outcome: dict[str, str | None],
        dead: dict[str, str],
        result: RoundResult,
    ) -> _Marks:
        """Each user's contiguous confirmed prefix to mark; errors to record on the rest."""
        marks = _Marks()
        broken_user: int | None = None
        for row in rows:
            if row.user_id == broken_user:
                continue  # resent next round, after the first unconfirmed event
            status = outcome.get(row.id, "no delivery report")
            if status is None:
                if row.id in dead:
                    marks.dead[row.id] = dead[row.id]
                else:
                    marks.published.append(row.id)
                    marks.topics[topic_for(row.type)] += 1
            else:
                marks.failed[row.id] = status
                broken_user = row.user_id
        # Every failed delivery counts against the broker (not poison, not the
        # rows merely held back behind a user's first failure).
        transient = [
            error
            for row_id, error in outcome.items()
            if error is not None and row_id not in self._poison and row_id not in dead
        ]
        if transient:
            self.breaker.record_failure(len(transient))
            result.errors.extend(transient[:5])
            logger.warning("%d kafka deliveries failed, first: %s", len(transient), transient[0])
        elif marks.published or marks.dead:
            self.breaker.record_success()
        result.published += len(marks.published)
        result.dead_lettered += len(marks.dead)
        result.failed += len(marks.failed)
        return marks

    def _mark(self, marks: _Marks) -> None:
        """One short transaction: published, dead-lettered and failed rows."""
        with transaction.atomic():
            with connection.cursor() as cursor:
                # No wait for the WAL flush: a mark lost in a database crash only
                # resends rows Kafka already has (at-least-once; consumers
                # de-duplicate by source + id), it never loses one.
                cursor.execute("SET LOCAL synchronous_commit = off")
                if marks.published:
                    cursor.execute(
                        "UPDATE events_outboxevent SET published_at = now(),"
                        " publish_attempts = publish_attempts + 1, publish_error = ''"
                        " WHERE id = ANY(%s::uuid[])",
                        [marks.published],
                    )
                if marks.dead:
                    cursor.execute(
                        "UPDATE events_outboxevent o SET published_at = now(), dead_lettered_at = now(),"
                        " publish_attempts = o.publish_attempts + 1, publish_error = f.error"
                        " FROM unnest(%s::uuid[], %s::text[]) AS f(id, error) WHERE o.id = f.id",
                        [list(marks.dead), [e[:2000] for e in marks.dead.values()]],
                    )
                if marks.failed:
                    cursor.execute(
                        "UPDATE events_outboxevent o SET publish_attempts = o.publish_attempts + 1,"
                        " publish_error = f.error"
                        " FROM unnest(%s::uuid[], %s::text[]) AS f(id, error) WHERE o.id = f.id",
                        [list(marks.failed), [e[:2000] for e in marks.failed.values()]],
                    )
        for topic, count in marks.topics.items():
            KAFKA_PUBLISHED.labels(topic).inc(count)
        if marks.dead:
            KAFKA_PUBLISHED.labels(DLQ_TOPIC).inc(len(marks.dead))
            first = next(iter(marks.dead))
            logger.error("%d events dead-lettered, e.g. %s: %s", len(marks.dead), first, marks.dead[first])
