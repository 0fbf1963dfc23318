"""Domain events → WebSocket pushes (run by the dispatcher after commit)."""

from __future__ import annotations

from todo_project.events.models import OutboxEvent
from todo_project.events.registry import handles
from todo_project.sync.messages import PUSH_EVENT_TYPES
from todo_project.sync.push import close_user_sockets, present_users, push_to_users
from todo_project.sync.selectors import previous_push_seqs, sync_message


@handles(*PUSH_EVENT_TYPES, batch=True, name="todo_project.sync.handlers.push_event_to_sockets")
def push_event_to_sockets(events: list[OutboxEvent]) -> None:
    """Push each event to its user's connections, in recorded order (a failed
    send is logged, not raised: see ``push_to_users``). Idempotent enough by
    ``seq``: a re-dispatched event reaches clients twice and they drop the
    second copy."""
    # Users with no open socket cost neither the prev_seq query nor a Redis trip.
    present = present_users({event.user_id for event in events if event.user_id})
    events = [event for event in events if event.user_id in present]
    if not events:
        return
    previous = previous_push_seqs(events)
    push_to_users(
        [
            (event.user_id, sync_message(event, prev_seq=previous[(event.user_id, event.seq)]))
            for event in events
        ]
    )


# Why a connection is closed, as the error code of its last frame.
_CLOSE_REASONS = {
    "user.password_changed": "password_changed",
    "user.deactivated": "account_deactivated",
    "user.deleted": "account_deleted",
    "user.logout": "session_ended",
}


def _ends_sockets(event: OutboxEvent) -> bool:
    # A refresh-token logout leaves sockets alone (their access token still
    # holds); a cookie-session logout names its session.
    return event.type != "user.logout" or bool(event.data.get("session"))


@handles(*_CLOSE_REASONS, name="todo_project.sync.handlers.close_sockets_on_revocation", when=_ends_sockets)
def close_sockets_on_revocation(event: OutboxEvent) -> None:
    """Password changed, account deactivated, cookie session ended: close the sockets (4401)."""
    if event.user_id:
        close_user_sockets(
            user_id=event.user_id, reason=_CLOSE_REASONS[event.type], session=event.data.get("session")
        )
