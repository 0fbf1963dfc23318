"""The audit log's only write path: every event becomes one entry."""

from __future__ import annotations

from typing import TYPE_CHECKING

from audit_app.services import audit_entry_record
from todo_project.events.registry import ANY, handles

if TYPE_CHECKING:
    from todo_project.events.models import OutboxEvent


@handles(ANY)
def write_audit_entry(event: OutboxEvent) -> None:
    audit_entry_record(event=event)
