"""Reads of the audit log. Callers only ever see their own entries."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

from django.db.models import QuerySet

from audit_app.models import AuditLog

EXPORT_CHUNK_SIZE = 2000


def audit_entries_for_user(
    *,
    user_id: int,
    actions: Sequence[str] = (),
    resource_type: str | None = None,
    resource_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    oldest_first: bool = False,
) -> QuerySet[AuditLog]:
    """The user's entries, newest first; ``since`` inclusive, ``until`` exclusive."""
    entries = AuditLog.objects.filter(actor_id=user_id)
    if actions:
        entries = entries.filter(action__in=list(actions))
    if resource_type:
        entries = entries.filter(resource_type=resource_type)
    if resource_id:
        entries = entries.filter(resource_id=resource_id)
    if since is not None:
        entries = entries.filter(timestamp__gte=since)
    if until is not None:
        entries = entries.filter(timestamp__lt=until)
    return entries.order_by("timestamp", "id") if oldest_first else entries.order_by("-timestamp", "-id")


def audit_entries_stream(entries: QuerySet[AuditLog]) -> Iterator[AuditLog]:
    """Iterate over a server-side cursor so an export never loads the range into memory."""
    return entries.iterator(chunk_size=EXPORT_CHUNK_SIZE)
