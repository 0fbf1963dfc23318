"""The shapes of what the server sends to sync clients (WebSocket and GET /api/sync)."""

from __future__ import annotations

from typing import Any, TypedDict

from todo_project.events import types

# Event types pushed to clients. task.completed stays its own type (as the
# event backbone names it) rather than folding into task.updated: a client
# applies its ``task`` snapshot exactly like task.updated's.
PUSH_EVENT_TYPES: tuple[str, ...] = (
    types.TASK_CREATED,
    types.TASK_UPDATED,
    types.TASK_COMPLETED,
    types.TASK_DELETED,
    types.TASK_REORDERED,
    types.TASK_MOVED,
    types.PROJECT_CREATED,
    types.PROJECT_UPDATED,
    types.PROJECT_ARCHIVED,
    types.PROJECT_UNARCHIVED,
    types.PROJECT_REORDERED,
    types.PROJECT_DELETED,
    types.SECTION_CREATED,
    types.SECTION_UPDATED,
    types.SECTION_REORDERED,
    types.SECTION_DELETED,
    types.NOTIFICATION_CREATED,
    # A background import's end, so a client waiting on it needs no poll (docs/portability.md).
    types.IMPORT_SUCCEEDED,
    types.IMPORT_FAILED,
    # The assistant's conversation (assistant_app): what the user said and the replies.
    types.CHAT_MESSAGE_RECEIVED,
    types.CHAT_MESSAGE_CREATED,
)

# Which subscription channel an event type belongs to.
CHANNEL_OF_TYPE: dict[str, str] = {
    t: {"notification": "notifications", "chat": "chat"}.get(t.split(".", 1)[0], "tasks")
    for t in PUSH_EVENT_TYPES
}
CHANNELS: tuple[str, ...] = ("tasks", "notifications", "chat")


def types_of_channel(channel: str) -> tuple[str, ...]:
    return tuple(t for t, c in CHANNEL_OF_TYPE.items() if c == channel)


class SyncMessage(TypedDict):
    type: str
    channel: str
    id: str
    seq: int
    # seq of this user's previous event on the same channel (None: none
    # retained). Per channel, so a client subscribed to one channel never
    # mistakes the other's events for a gap: a client whose last applied seq
    # on this channel is below prev_seq has missed a message.
    prev_seq: int | None
    time: str
    version: int | None
    request_id: str | None
    data: dict[str, Any]


def group_name(user_id: int) -> str:
    """The Channels group every connection of one user joins."""
    return f"user.{user_id}"
