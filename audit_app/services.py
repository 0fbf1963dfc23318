"""Writing and purging audit entries. Entries are made only from events."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.db import transaction

from audit_app.models import ActorType, AuditLog
from todo_project.bulk import copy_insert

if TYPE_CHECKING:
    from todo_project.events.models import OutboxEvent

logger = logging.getLogger(__name__)

# Request context captured by RequestContextMiddleware and stored on the event.
_CONTEXT_KEYS = ("client_ip", "user_agent", "request_id")
# Keys left out of ``metadata.details``: the full task snapshot duplicates the
# task row and would bloat every entry; changes are split into previous/new.
_DETAIL_SKIP = frozenset({"task", "changes", "user_id"})


def _actor_type(event: OutboxEvent) -> str:
    if event.type == "user.login_failed":
        return ActorType.ANONYMOUS
    if event.user_id and (event.type.startswith("user.") or event.context.get("request_id")):
        return ActorType.USER
    return ActorType.SYSTEM


def _actor_email(event: OutboxEvent, actor_id: int | None, emails: dict[int, str]) -> str:
    if event.type == "user.registered" and isinstance(event.data.get("email"), str):
        return event.data["email"]
    if actor_id is None:
        return ""
    return emails.get(actor_id) or ""


def _resource(event: OutboxEvent) -> tuple[str, str]:
    """``tasks/<uuid>`` → (``task``, ``<uuid>``); the event family when there is no subject."""
    family = event.type.split(".", 1)[0]
    collection, _, ident = event.subject.partition("/")
    if not ident:
        return family, ""
    resource_type = collection[:-1] if collection.endswith("s") else collection
    return resource_type[:50], ident[:100]


def _metadata(event: OutboxEvent) -> dict[str, Any]:
    data = event.data if isinstance(event.data, dict) else {}
    metadata: dict[str, Any] = {}
    changes = data.get("changes")
    if isinstance(changes, dict):
        metadata["previous"] = {k: v.get("old") for k, v in changes.items() if isinstance(v, dict)}
        metadata["new"] = {k: v.get("new") for k, v in changes.items() if isinstance(v, dict)}
    elif event.type == "task.completed":
        metadata["previous"] = {"is_completed": False}
        metadata["new"] = {"is_completed": True, "completed_at": data.get("completed_at")}
    details = {k: v for k, v in data.items() if k not in _DETAIL_SKIP}
    if details:
        metadata["details"] = details
    context = event.context if isinstance(event.context, dict) else {}
    for key in _CONTEXT_KEYS:
        if context.get(key):
            metadata[key] = context[key]
    return metadata


def audit_entry_record(*, event: OutboxEvent) -> bool:
    """Make the audit entry for one event; ``False`` if it already exists."""
    return audit_entries_record(events=[event]) == 1


def audit_entries_record(*, events: list[OutboxEvent]) -> int:
    """Make the audit entries for these events; returns how many were new.

    Idempotent by the unique ``event_id``: an event with an entry is skipped.
    Two dispatches never write one event's entry at once: the dispatcher's
    claim row for (event, handler) serialises them, and this runs inside the
    claiming transaction, so the entries commit with the claim. Three
    statements per batch: existing entries, the actors' e-mail addresses, COPY.
    """
    existing = set(
        AuditLog.objects.filter(event_id__in=[event.id for event in events]).values_list(
            "event_id", flat=True
        )
    )
    events = [event for event in events if event.id not in existing]
    actor_ids = {event.user_id for event in events if event.user_id}
    emails = dict(get_user_model().objects.filter(pk__in=actor_ids).values_list("pk", "email"))
    entries = []
    for event in events:
        actor_id = event.user_id or None
        resource_type, resource_id = _resource(event)
        entries.append(
            AuditLog(
                event_id=event.id,
                action=event.type[:100],
                actor_type=_actor_type(event),
                actor_id=actor_id,
                actor_email=_actor_email(event, actor_id, emails)[:254],
                resource_type=resource_type,
                resource_id=resource_id,
                timestamp=event.time,
                metadata=_metadata(event),
                source=event.source[:200],
            )
        )
    copy_insert(AuditLog, entries)
    return len(entries)


def audit_purge(*, older_than: datetime, batch_size: int = 5000) -> int:
    """Delete entries with ``timestamp < older_than`` in batches; returns how many.

    Each batch is its own short transaction so the purge never holds locks on
    a large range; two purges running at once only split the work.
    """
    total = 0
    while True:
        with transaction.atomic():
            ids = list(
                AuditLog.objects.filter(timestamp__lt=older_than)
                .order_by("timestamp")
                .values_list("id", flat=True)[:batch_size]
            )
            if not ids:
                break
            deleted, _ = AuditLog.objects.filter(id__in=ids).delete()
        total += deleted
        if len(ids) < batch_size:
            break
    if total:
        logger.info("audit retention purged %d entries older than %s", total, older_than.isoformat())
    return total


def audit_entries_erase(*, user_id: int) -> int:
    """Delete the audit entries of a deleted account, but the one that records the deletion.

    The trail is the user's own activity feed (task titles, addresses, IP
    addresses): with the account gone nobody may read it, and keeping it
    would keep their personal data. What remains is the ``user.deleted``
    entry (ids and counts only), so an operator can still tell when an
    account went and how. Called by account deletion in its transaction,
    and again by the ``user.deleted`` handler, for entries an in-flight
    dispatch wrote meanwhile.
    """
    deleted, _ = AuditLog.objects.filter(actor_id=user_id).exclude(action="user.deleted").delete()
    return deleted
