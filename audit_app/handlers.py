"""The audit log's only write path: every event becomes one entry."""

from __future__ import annotations

from typing import TYPE_CHECKING

from audit_app.services import audit_entries_record
from todo_project.events.registry import ANY, handles

if TYPE_CHECKING:
    from todo_project.events.models import OutboxEvent


# Names keep the import paths they had before names were explicit, so handler
# runs recorded then still count.
@handles(ANY, batch=True, name="audit_app.handlers.write_audit_entry")
def write_audit_entry(events: list[OutboxEvent]) -> None:
    audit_entries_record(events=events)
