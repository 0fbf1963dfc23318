"""Domain events → WebSocket pushes (run by the dispatcher after commit)."""

from __future__ import annotations

from todo_project.events.models import OutboxEvent
from todo_project.events.registry import handles
from todo_project.sync.messages import PUSH_EVENT_TYPES
from todo_project.sync.push import push_to_user
from todo_project.sync.selectors import previous_push_seq, sync_message


@handles(*PUSH_EVENT_TYPES)
def push_event_to_sockets(event: OutboxEvent) -> None:
    """Push one event to its user's connections (a failed send is logged, not raised:
    see ``push_to_user``). Idempotent enough by ``seq``: a re-dispatched event
    reaches clients twice and they drop the second copy."""
    if not event.user_id:
        return
    message = sync_message(
        event, prev_seq=previous_push_seq(user_id=event.user_id, seq=event.seq, event_type=event.type)
    )
    push_to_user(user_id=event.user_id, message=message)
