"""Recording domain events. The only way anything in Taskbeat emits an event."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from todo_project.events.context import current_context
from todo_project.events.models import OutboxEvent

logger = logging.getLogger(__name__)

# Which component produced an event type, as the CloudEvents ``source``.
_SOURCES = {
    "task": "/tasks",
    "reminder": "/reminders",
    "notification": "/notifications",
    "user": "/auth",
}

_ALLOCATE_SEQ_SQL = """
    INSERT INTO events_usereventcounter (user_id, last_seq) VALUES (%s, 1)
    ON CONFLICT (user_id) DO UPDATE SET last_seq = events_usereventcounter.last_seq + 1
    RETURNING last_seq
"""


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    """Round-trip through JSON so datetimes/UUIDs are stored exactly as sent."""
    import json

    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def event_source(event_type: str) -> str:
    family = event_type.split(".", 1)[0]
    return settings.EVENT_SOURCE_PREFIX + _SOURCES.get(family, "/" + family)


def record_event(
    *,
    type: str,  # noqa: A002 - the CloudEvents attribute name
    user_id: int | None,
    data: dict[str, Any],
    subject: str = "",
) -> OutboxEvent:
    """Write one event to the outbox in the caller's transaction.

    Must be called inside ``transaction.atomic()``: the event commits or rolls
    back with the change it describes. The per-user sequence number is taken
    from the user's counter row, which stays locked until commit, so concurrent
    writers for one user serialise here and numbers follow commit order.
    After commit the event is handed to the dispatcher (see ``tasks.py``).
    """
    if not connection.in_atomic_block:
        raise RuntimeError("record_event must be called inside transaction.atomic()")
    key = user_id or 0
    with connection.cursor() as cursor:
        cursor.execute(_ALLOCATE_SEQ_SQL, [key])
        (seq,) = cursor.fetchone()
    context = current_context()
    event = OutboxEvent.objects.create(
        id=uuid.uuid4(),
        user_id=key,
        seq=seq,
        type=type,
        source=event_source(type),
        subject=subject,
        time=timezone.now(),
        data=_jsonable(data),
        context=context,
    )
    transaction.on_commit(lambda: _enqueue_dispatch(event.id))
    return event


def _enqueue_dispatch(event_id: uuid.UUID) -> None:
    # A failing enqueue (Redis down) must never fail the request that already
    # committed: the periodic sweep dispatches events that were never enqueued.
    from todo_project.events.tasks import dispatch_event_task

    try:
        dispatch_event_task.delay(str(event_id))
    except Exception:  # noqa: BLE001
        logger.warning("could not enqueue dispatch of event %s; the sweep will", event_id, exc_info=True)
