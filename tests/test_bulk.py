"""copy_insert writes what bulk_create would, on real PostgreSQL."""

from __future__ import annotations

import uuid

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit_app.models import AuditLog
from todo_project.bulk import copy_insert
from todo_project.events.models import OutboxEvent

pytestmark = pytest.mark.django_db


def _event(**fields) -> OutboxEvent:
    values = {
        "id": uuid.uuid4(),
        "user_id": 7,
        "seq": 1,
        "type": "user.logout",
        "source": "/auth",
        "time": timezone.now(),
        "data": {"user_id": 7},
    }
    values.update(fields)
    return OutboxEvent(**values)


def test_it_writes_every_field_and_marks_the_objects_saved():
    # given an entry with an auto pk, auto_now_add and JSON with quotes and backslashes
    entry = AuditLog(
        event_id=uuid.uuid4(),
        action="task.created",
        actor_type="user",
        actor_id=3,
        timestamp=timezone.now(),
        metadata={"title": 'say "hi" \\o/'},
    )

    copy_insert(AuditLog, [entry])

    stored = AuditLog.objects.get(event_id=entry.event_id)
    assert stored.metadata == {"title": 'say "hi" \\o/'}
    assert stored.created_at is not None
    assert stored.resource_type == ""  # the field's default
    assert entry._state.adding is False


def test_a_saved_object_can_be_updated_afterwards():
    event = _event()
    copy_insert(OutboxEvent, [event])

    event.dispatch_error = "later"
    event.save(update_fields=["dispatch_error"])

    assert OutboxEvent.objects.get(id=event.id).dispatch_error == "later"
    assert OutboxEvent.objects.get(id=event.id).data == event.data


def test_a_conflict_is_djangos_integrity_error_and_shows_as_a_query():
    copy_insert(OutboxEvent, [_event(seq=1)])

    with CaptureQueriesContext(connection) as queries, pytest.raises(IntegrityError):
        with transaction.atomic():
            copy_insert(OutboxEvent, [_event(seq=1)])  # (user_id, seq) is unique

    assert any(query["sql"].startswith("COPY ") for query in queries.captured_queries)


def test_fetch_bound_sends_arrays_as_parameters_in_the_callers_transaction():
    # given ids, times and texts with quotes and commas (what client-side quoting escapes)
    from datetime import UTC, datetime

    from todo_project.bulk import fetch_bound

    ids = [uuid.uuid4(), uuid.uuid4()]
    times = [datetime(2026, 3, 1, 9, 0, tzinfo=UTC), datetime(2026, 3, 1, 9, 0, 0, 250, tzinfo=UTC)]
    texts = ['say "hi", then {leave}', "it's \\ fine"]
    with transaction.atomic():
        # when they round-trip through one statement, and a failing one follows
        rows = fetch_bound(
            "SELECT * FROM unnest(%(ids)s::uuid[], %(times)s::timestamptz[], %(texts)s::text[])"
            " WITH ORDINALITY AS x(id, at, text, ord) ORDER BY ord",
            {"ids": ids, "times": times, "texts": texts},
        )
        # then they come back as they went, and errors arrive as Django's
        assert [(row[0], row[1], row[2]) for row in rows] == list(zip(ids, times, texts, strict=True))
        assert fetch_bound("SELECT 1 WHERE false", {}) == []
        with pytest.raises(IntegrityError), transaction.atomic():
            fetch_bound(
                "INSERT INTO events_outboxevent (id) VALUES (%(id)s::uuid)",
                {"id": ids[0]},
            )
