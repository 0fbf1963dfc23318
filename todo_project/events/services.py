"""Recording domain events. The only way anything in Taskbeat emits an event."""

from __future__ import annotations

import json
import logging
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from todo_project.bulk import copy_insert
from todo_project.degraded import note_degraded
from todo_project.events.context import current_context
from todo_project.events.models import HandlerRun, OutboxEvent
from todo_project.faultpoints import fault_point
from todo_project.prometheus import observe_committed_events

logger = logging.getLogger(__name__)

# Which component produced an event type, as the CloudEvents ``source``.
_SOURCES = {
    "task": "/tasks",
    "project": "/projects",
    "section": "/projects",
    "calendar": "/calendar",
    "import": "/imports",
    "reminder": "/reminders",
    "notification": "/notifications",
    "user": "/auth",
}

_ALLOCATE_SEQS_SQL = """
    INSERT INTO events_usereventcounter (user_id, last_seq)
    SELECT user_id, amount FROM unnest(%s::bigint[], %s::bigint[]) AS wanted(user_id, amount)
    ORDER BY user_id
    ON CONFLICT (user_id) DO UPDATE SET last_seq = events_usereventcounter.last_seq + EXCLUDED.last_seq
    RETURNING user_id, last_seq
"""


_LOCK_USERS_SQL = """
    INSERT INTO events_usereventcounter (user_id, last_seq)
    SELECT user_id, 0 FROM unnest(%s::bigint[]) AS wanted(user_id) ORDER BY user_id
    ON CONFLICT (user_id) DO UPDATE SET last_seq = events_usereventcounter.last_seq
"""


def user_events_lock(*, user_id: int) -> None:
    """Take the user's per-user write lock: their event counter row.

    ``record_event`` takes this row anyway, so it is THE per-user lock: work
    that must serialise per user before it records anything (e.g. choosing a
    new task's position) takes it first, and every writer then takes the
    user's locks in one order — counter first — which rules out deadlocks
    between a writer and, say, the reminder scan (counter, then inserts whose
    foreign keys share-lock the user row). Held until the transaction ends.
    """
    users_events_lock(user_ids=[user_id])


def users_events_lock(*, user_ids: Iterable[int | None]) -> None:
    """``user_events_lock`` for many users at once, taken in user-id order."""
    if not connection.in_atomic_block:
        raise RuntimeError("user_events_lock must be called inside transaction.atomic()")
    with connection.cursor() as cursor:
        cursor.execute(_LOCK_USERS_SQL, [sorted({user_id or 0 for user_id in user_ids})])


def _jsonable(data: Mapping[str, Any]) -> dict[str, Any]:
    """Round-trip through JSON so datetimes/UUIDs are stored exactly as sent."""
    result: dict[str, Any] = json.loads(json.dumps(data, cls=DjangoJSONEncoder))
    return result


def event_source(event_type: str) -> str:
    family = event_type.split(".", 1)[0]
    return settings.EVENT_SOURCE_PREFIX + _SOURCES.get(family, "/" + family)


@dataclass(frozen=True)
class NewEvent:
    """One event to record with ``record_events``."""

    type: str
    user_id: int | None
    # A Mapping so each domain's TypedDict (tasks_app/events.py, …) fits.
    data: Mapping[str, Any]
    subject: str = ""


def record_event(
    *,
    type: str,  # noqa: A002 - the CloudEvents attribute name
    user_id: int | None,
    data: dict[str, Any],
    subject: str = "",
) -> OutboxEvent:
    """Write one event to the outbox in the caller's transaction (see ``record_events``)."""
    return record_events([NewEvent(type=type, user_id=user_id, data=data, subject=subject)])[0]


def record_events(new_events: Sequence[NewEvent]) -> list[OutboxEvent]:
    """Write events to the outbox in the caller's transaction, in the given order.

    Must be called inside ``transaction.atomic()``: the events commit or roll
    back with the change they describe. Sequence numbers come from each
    user's counter row, which stays locked until commit, so concurrent writers
    for one user serialise here and numbers follow commit order. All counters
    are taken in one statement, in user-id order (a fixed lock order between
    batches spanning many users), and the rows are inserted in one statement:
    the reminder scan records thousands of events per transaction. After
    commit the events are handed to the dispatcher (see ``tasks.py``).

    Inside ``batched_recording()`` the rows are built now (id, time, data,
    context) and written, with their sequence numbers, when the block ends.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("record_event must be called inside transaction.atomic()")
    if not new_events:
        return []
    context = current_context()
    now = timezone.now()
    rows = [
        OutboxEvent(
            id=uuid.uuid4(),
            user_id=new.user_id or 0,
            type=new.type,
            source=event_source(new.type),
            subject=new.subject,
            time=now,
            data=_jsonable(new.data),
            context=context,
        )
        for new in new_events
    ]
    batch: _RecordingBatch | None = getattr(connection, "_taskbeat_recording_batch", None)
    if batch is not None:
        batch.add(rows)
        return rows
    _write_rows(rows)
    return rows


def _write_rows(rows: list[OutboxEvent]) -> None:
    """Number ``rows`` from their users' counters and insert them (two statements)."""
    per_user = Counter(row.user_id for row in rows)
    users = sorted(per_user)
    with connection.cursor() as cursor:
        cursor.execute(_ALLOCATE_SEQS_SQL, [users, [per_user[user] for user in users]])
        last_seq = dict(cursor.fetchall())
    next_seq = {user: last_seq[user] - per_user[user] + 1 for user in users}
    for row in rows:
        row.seq = next_seq[row.user_id]
        next_seq[row.user_id] += 1
    copy_insert(OutboxEvent, rows)
    fault_point("events.before_commit")
    for row in rows:
        _dispatch_on_commit(row.id, row)


class _RecordingBatch:
    """The events recorded inside one ``batched_recording`` block, in order.

    Each group of rows carries a no-op on-commit marker registered when it
    was recorded: a savepoint rolled back inside the block drops its markers
    (Django discards the callbacks registered in it), and with them the
    events of the change that was undone.
    """

    def __init__(self) -> None:
        self.groups: list[tuple[Callable[[], None], list[OutboxEvent]]] = []

    def add(self, rows: list[OutboxEvent]) -> None:
        def marker() -> None:
            pass

        transaction.on_commit(marker)
        self.groups.append((marker, rows))

    def take_live_rows(self) -> list[OutboxEvent]:
        """The rows whose markers survived, in order; the markers are removed."""
        markers = {id(marker) for marker, _ in self.groups}
        alive = {id(entry[1]) for entry in connection.run_on_commit} & markers
        connection.run_on_commit[:] = [e for e in connection.run_on_commit if id(e[1]) not in markers]
        return [row for marker, rows in self.groups if id(marker) in alive for row in rows]


@contextmanager
def batched_recording() -> Iterator[None]:
    """Record every event of the block in one batch when it ends: one counter
    statement and one COPY for the whole block instead of two per
    ``record_events`` call (a chat turn runs a tool whose service records its
    own events, then records the chat's).

    Same transaction, same order, same numbering as recording each at once;
    events of a savepoint rolled back inside the block are dropped as they
    would have been rolled back. The user's event counter is then taken when
    the block ends, i.e. after every row the block locked (the documented
    lock order: task rows, then the counter); work that must serialise per
    user before that still takes ``user_events_lock`` explicitly. Must be
    entered inside ``transaction.atomic()`` and left inside the same one. An
    exception leaving the block records nothing and marks the enclosing
    atomic block for rollback, so no change made in it commits without its
    events. Nested blocks join the outer one. Only ``record_events`` is
    batched: events written by ``outbox_insert_sql`` (the reminder and
    notification batches, never inside a chat turn) are numbered at once.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("batched_recording must be used inside transaction.atomic()")
    if getattr(connection, "_taskbeat_recording_batch", None) is not None:
        yield
        return
    batch = _RecordingBatch()
    connection._taskbeat_recording_batch = batch  # type: ignore[attr-defined]  # one batch per connection
    try:
        yield
    except BaseException:
        connection._taskbeat_recording_batch = None  # type: ignore[attr-defined]
        batch.take_live_rows()
        transaction.set_rollback(True)
        raise
    connection._taskbeat_recording_batch = None  # type: ignore[attr-defined]
    rows = batch.take_live_rows()
    if rows:
        _write_rows(rows)


# An instant as ``iso_utc`` writes it, in SQL: RFC 3339 in UTC with a ``Z``, the
# microseconds only when there are any (Python's ``isoformat``).
ISO_UTC_SQL = (
    "(to_char(({0}) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS')"
    " || CASE WHEN date_part('microseconds', ({0}) AT TIME ZONE 'UTC')::bigint %% 1000000 = 0 THEN ''"
    " ELSE to_char(({0}) AT TIME ZONE 'UTC', '.US') END || 'Z')"
)


def iso_utc_sql(expression: str) -> str:
    """SQL for ``iso_utc(expression)`` (NULL stays NULL); ``%`` is doubled for a parametrised query."""
    return ISO_UTC_SQL.format(expression)


def outbox_insert_sql(source: str) -> str:
    """CTEs that record the rows of the CTE ``source`` as events, in one statement.

    ``source`` has the columns ``event_id`` (uuid), ``user_id`` (bigint),
    ``ord`` (the order of a user's events), ``subject`` and ``data`` (jsonb).
    Append the result after ``WITH <source> AS (…),``, and pass
    ``outbox_params(type)`` with the statement's own parameters (pyformat).
    It does what ``record_events`` does for a batch of one type, without a
    Python object per event: it takes the users' counters in user-id order,
    numbers each user's events in ``ord`` order after their last number, and
    inserts them. The caller then hands the ids to ``events_recorded``.
    """
    return f"""
    _event_amounts AS (SELECT user_id, count(*) AS amount FROM {source} GROUP BY user_id),
    _event_seqs AS (
        INSERT INTO events_usereventcounter (user_id, last_seq)
        SELECT user_id, amount FROM _event_amounts ORDER BY user_id
        ON CONFLICT (user_id) DO UPDATE SET last_seq = events_usereventcounter.last_seq + EXCLUDED.last_seq
        RETURNING user_id, last_seq
    ),
    _event_rows AS (
        INSERT INTO events_outboxevent (
            id, user_id, seq, type, source, subject, time, data, context,
            dispatch_attempts, dispatch_error, publish_attempts, publish_error
        )
        SELECT s.event_id, s.user_id,
               c.last_seq - a.amount + row_number() OVER (PARTITION BY s.user_id ORDER BY s.ord),
               %(event_type)s::text, %(event_source)s::text, s.subject, %(event_time)s::timestamptz, s.data,
               %(event_context)s::jsonb, 0, '', 0, ''
        FROM {source} s JOIN _event_amounts a USING (user_id) JOIN _event_seqs c USING (user_id)
    )"""  # noqa: S608 - constant SQL fragments, no input


def outbox_params(event_type: str) -> dict[str, Any]:
    """The parameters of ``outbox_insert_sql`` for events of ``event_type``."""
    return {
        "event_type": event_type,
        "event_source": event_source(event_type),
        "event_time": timezone.now(),
        "event_context": json.dumps(current_context()),
    }


@dataclass(frozen=True)
class RecordedEvent:
    """What the metrics need of an event written by ``outbox_insert_sql``."""

    type: str
    data: Mapping[str, Any]


def events_recorded(event_ids: Sequence[uuid.UUID], recorded: Sequence[RecordedEvent]) -> None:
    """Dispatch after commit what ``outbox_insert_sql`` wrote, as ``record_events`` does.

    ``recorded`` feeds the business counters: one entry per event, with the
    data fields they read (``lag_seconds`` of reminder.triggered).
    """
    if not connection.in_atomic_block:
        raise RuntimeError("events_recorded must be called inside transaction.atomic()")
    if not event_ids:
        return
    fault_point("events.before_commit")
    # The first joins (or starts) the transaction's batch; the rest go with it.
    _dispatch_on_commit(event_ids[0])
    pending: _DispatchBatch = connection._taskbeat_dispatch_batch  # type: ignore[attr-defined]  # set just above
    pending.event_ids.extend(str(event_id) for event_id in event_ids[1:])
    pending.events.extend(recorded)


def _dispatch_on_commit(event_id: uuid.UUID, event: OutboxEvent | RecordedEvent | None = None) -> None:
    """Collect the transaction's events and enqueue ONE dispatch task on commit.

    One broker round trip per transaction instead of one per event (the
    reminder scan records thousands of events in one transaction). The batch
    lives as long as its on-commit callback is pending: a rolled-back
    transaction discards the callback, and the next transaction starts a new
    batch. An id whose savepoint rolled back is dispatched as a no-op.
    """
    pending: _DispatchBatch | None = getattr(connection, "_taskbeat_dispatch_batch", None)
    savepoints = tuple(connection.savepoint_ids)
    if (
        pending is None
        or pending.flushed
        # The batch's callback is gone when a savepoint it was registered in
        # rolled back.
        # (Entries are (savepoint ids, callback, robust); the stubs know two fields.)
        or not any(entry[1] == pending.flush for entry in connection.run_on_commit)
        # Join only along one line of nesting: deeper inside the savepoint
        # that started the batch, or back out of savepoints since released
        # (their callbacks moved to the parent). A sibling savepoint starts a
        # batch of its own, which keeps test capture blocks (one per
        # savepoint inside the test's transaction) dispatching what they see.
        or not _on_one_line(savepoints, pending.savepoints)
    ):
        pending = _DispatchBatch(savepoints)
        connection._taskbeat_dispatch_batch = pending  # type: ignore[attr-defined]  # one batch per connection
        transaction.on_commit(pending.flush)
    elif len(savepoints) < len(pending.savepoints):
        pending.savepoints = savepoints
    pending.event_ids.append(str(event_id))
    if event is not None:
        pending.events.append(event)


def _on_one_line(current: tuple[str, ...], batch: tuple[str, ...]) -> bool:
    shorter = min(len(current), len(batch))
    return current[:shorter] == batch[:shorter]


class _DispatchBatch:
    def __init__(self, savepoints: tuple[str, ...]) -> None:
        self.savepoints = savepoints
        self.event_ids: list[str] = []
        # Newly recorded ones, for the business counters (events by type,
        # reminder lag, deliveries), counted once they committed. (An event
        # of a rolled-back savepoint inside the transaction counts too; rare.)
        self.events: list[OutboxEvent | RecordedEvent] = []
        self.flushed = False

    def flush(self) -> None:
        self.flushed = True
        observe_committed_events(self.events)
        _enqueue_dispatch(self.event_ids)


def _enqueue_dispatch(event_ids: list[str]) -> None:
    # A failing enqueue (Redis down) must never fail the request that already
    # committed: the periodic sweep dispatches events that were never enqueued.
    from todo_project.events.tasks import dispatch_events_task

    try:
        dispatch_events_task.delay(event_ids)
    except Exception as exc:  # noqa: BLE001
        # Logged at most every few seconds with a count (an outage fails every write's enqueue).
        note_degraded("dispatch_enqueue", exc)


def events_redispatch(*, event_ids: Iterable[uuid.UUID | str]) -> int:
    """Give events that failed dispatch a fresh set of attempts (the admin action).

    Only rows currently marked failed are reset; the dispatch is enqueued on
    commit and the sweep picks up any whose enqueue is lost. Returns how many.
    """
    with transaction.atomic():
        ids = list(
            OutboxEvent.objects.select_for_update()
            .filter(id__in=list(event_ids), dispatch_failed_at__isnull=False)
            .order_by("id")
            .values_list("id", flat=True)
        )
        OutboxEvent.objects.filter(id__in=ids).update(
            dispatch_failed_at=None, dispatch_attempts=0, dispatch_error="", next_dispatch_at=None
        )
        for event_id in ids:
            _dispatch_on_commit(event_id)
    return len(ids)


def outbox_purge(*, batch_size: int = 5000) -> int:
    """Delete outbox rows older than OUTBOX_RETENTION_HOURS that have done their job.

    A row is done when dispatched and, if Kafka is configured, published (or
    dead-lettered). Unpublished rows stay however old they are (Kafka outage),
    and so do rows that failed dispatch, for the operator. The retention is
    also the horizon of ``selectors.events_since`` (WebSocket resync).
    Deletes in batches so one run never holds a long lock. Returns how many.
    """
    cutoff = timezone.now() - timedelta(hours=settings.OUTBOX_RETENTION_HOURS)
    done = OutboxEvent.objects.filter(time__lt=cutoff, dispatched_at__isnull=False)
    if settings.KAFKA_BOOTSTRAP_SERVERS:
        done = done.filter(published_at__isnull=False)
    deleted = 0
    while True:
        ids = list(done.values_list("id", flat=True)[:batch_size])
        if not ids:
            return deleted
        with transaction.atomic():
            HandlerRun.objects.filter(event_id__in=ids).delete()
            count, _ = OutboxEvent.objects.filter(id__in=ids).delete()
        deleted += count
