"""The audit log's only write path: every event becomes one entry."""

from __future__ import annotations

from typing import TYPE_CHECKING

from audit_app.services import audit_entries_erase, audit_entries_record
from todo_project.events import types
from todo_project.events.registry import ANY, handles

if TYPE_CHECKING:
    from todo_project.events.models import OutboxEvent


# Names keep the import paths they had before names were explicit, so handler
# runs recorded then still count.
@handles(ANY, batch=True, name="audit_app.handlers.write_audit_entry")
def write_audit_entry(events: list[OutboxEvent]) -> None:
    audit_entries_record(events=events)


@handles(types.USER_DELETED, name="audit_app.handlers.erase_deleted_user")
def erase_deleted_user(event: OutboxEvent) -> None:
    """A dispatch in flight while the account was deleted may have written entries after the
    deletion erased them; erase them again (the deletion's own entry stays)."""
    audit_entries_erase(user_id=event.user_id)
