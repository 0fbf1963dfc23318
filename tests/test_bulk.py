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
