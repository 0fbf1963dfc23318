"""Assistant writes: chat turns, tool calls, proactive messages, personal access tokens.

Each function that changes rows does so in one transaction with its outbox
event(s). A chat turn is three steps, each its own transaction, so a tool's
service call (which has its own transaction and events) never runs inside a
chat transaction and a slow model never holds a lock:

1. the user's message is stored and ``chat.message.received`` recorded;
2. the engine runs; each tool call goes through ``tool_call`` (the service
   writes, then ``chat.tool.executed`` is recorded, success or refusal);
3. the reply is stored with the conversation's new context / pending question
   and ``chat.message.created`` recorded — pushed to the user's sockets.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from psycopg.types.json import Jsonb

from assistant_app.authentication import TOKEN_PREFIX
from assistant_app.models import ChatMessage, Conversation, MessageRole, PersonalAccessToken, TokenScope
from assistant_app.tools import AmbiguousTask, ToolContext, run_tool
from tasks_app.selectors import user_timezone
from todo_project.bulk import fetch_bound
from todo_project.errors import DomainError, NotFoundError
from todo_project.events.services import NewEvent, batched_recording, record_event, record_events

if TYPE_CHECKING:
    from assistant_app.engine import EngineReply

logger = logging.getLogger(__name__)

MAX_MESSAGE_LENGTH = 2000
# Event payloads carry at most this much of a message; the stored message is whole.
EVENT_TEXT_LIMIT = 2000


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


# --- conversations and messages ----------------------------------------------------


# The turn's lock read, with its latest message's time (for _next_time): one
# round trip, and raw SQL because compiling the ORM's version (a subquery
# annotation under FOR UPDATE) cost about 1.5 ms of CPU in every local turn.
_LOCKED_CONVERSATION_SQL = """
    SELECT c.id, c.owner_id, c.context, c.pending, c.created_at, c.updated_at,
           (SELECT m.created_at FROM assistant_app_chatmessage m WHERE m.conversation_id = c.id
            ORDER BY m.created_at DESC LIMIT 1) AS latest_message_at
    FROM assistant_app_conversation c
    WHERE c.owner_id = %s {and_id}
    ORDER BY c.updated_at DESC
    LIMIT 1
    FOR UPDATE OF c
"""


def conversation_for(
    *, user: User, conversation_id: uuid.UUID | str | None = None, lock: bool = False
) -> Conversation:
    """The caller's conversation by id (another user's is a 404), else their latest,
    else a new one. ``lock``: row-locked, with ``latest_message_at`` (see
    ``_lock_conversation`` and ``_next_time``)."""
    wanted = None
    if conversation_id:
        try:
            wanted = uuid.UUID(str(conversation_id))
        except ValueError:
            raise NotFoundError("Conversation not found.", field="conversation_id") from None
    conversation: Conversation | None
    if lock:
        sql = _LOCKED_CONVERSATION_SQL.format(and_id="AND c.id = %s" if wanted else "")
        params: list[Any] = [user.pk, wanted] if wanted else [user.pk]
        conversation = next(iter(Conversation.objects.raw(sql, params)), None)
    elif wanted:
        conversation = Conversation.objects.filter(owner_id=user.pk, pk=wanted).first()
    else:
        conversation = Conversation.objects.filter(owner_id=user.pk).order_by("-updated_at").first()
    if conversation is None:
        if wanted:
            raise NotFoundError("Conversation not found.", field="conversation_id")
        conversation = Conversation.objects.create(owner_id=user.pk)
        conversation.latest_message_at = None  # type: ignore[attr-defined]  # see _next_time
    return conversation


def message_to_dict(message: ChatMessage) -> dict[str, Any]:
    return {
        "id": str(message.pk),
        "conversation_id": str(message.conversation_id),
        "role": message.role,
        "text": message.text,
        "actions": message.actions,
        "question": message.question,
        "engine": message.engine,
        "created_at": _iso(message.created_at),
    }


def _message_event_data(message: ChatMessage, **extra: Any) -> dict[str, Any]:
    return {
        "message_id": str(message.pk),
        "conversation_id": str(message.conversation_id),
        "user_id": message.owner_id,
        "role": message.role,
        "text": message.text[:EVENT_TEXT_LIMIT],
        "created_at": _iso(message.created_at),
        **extra,
    }


def _lock_conversation(conversation: Conversation) -> None:
    """Row-lock the conversation before adding to it: turns in one conversation
    go one at a time (its context and pending question stay consistent), and a
    message insert (a key-share lock on the row) never upgrades to the row's
    update lock while another turn does the same (a deadlock).

    Lock order: the conversation, then task rows, then the user's event counter.
    """
    Conversation.objects.select_for_update().filter(pk=conversation.pk).values_list("pk", flat=True).first()


_UNKNOWN = object()


def _next_time(conversation: Conversation) -> datetime:
    """Now, or just after the conversation's latest message if the clock has not moved on.

    The latest message's time comes from ``latest_message_at`` when the
    conversation was read with it (``conversation_for(lock=True)``) and is
    kept up to date by the stores below; otherwise it is queried.
    """
    now = timezone.now()
    latest = getattr(conversation, "latest_message_at", _UNKNOWN)
    if latest is _UNKNOWN:
        latest = (
            ChatMessage.objects.filter(conversation=conversation)
            .order_by("-created_at")
            .values_list("created_at", flat=True)
            .first()
        )
    assert latest is None or isinstance(latest, datetime)
    return max(now, latest + timedelta(microseconds=1)) if latest else now


def _noted(conversation: Conversation, message: ChatMessage) -> ChatMessage:
    if hasattr(conversation, "latest_message_at"):
        conversation.latest_message_at = message.created_at  # type: ignore[attr-defined]  # see _next_time
    return message


def user_message_store(
    *, user: User, conversation: Conversation, text: str, via: str, record: bool = True
) -> ChatMessage:
    """Store what the user said and record ``chat.message.received``.

    ``record=False`` (the local engine's one-transaction turn): the message is
    returned unsaved; the reply's store inserts it together with the reply and
    records the event then (one INSERT, one event batch).
    """
    message = ChatMessage(
        owner_id=user.pk,
        conversation=conversation,
        role=MessageRole.USER,
        text=text,
        created_at=_next_time(conversation),
    )
    if record:
        with transaction.atomic(savepoint=False):
            message.save(force_insert=True)
            record_event(**_received_event(message, via))
    return _noted(conversation, message)


def _received_event(message: ChatMessage, via: str) -> dict[str, Any]:
    return {
        "type": "chat.message.received",
        "user_id": message.owner_id,
        "subject": f"chat/{message.conversation_id}",
        "data": _message_event_data(message, via=via),
    }


def _compact_action(action: dict[str, Any]) -> dict[str, Any]:
    """An action as the event carries it: the tool, whether it worked, the ids it touched."""
    out: dict[str, Any] = {"tool": action["tool"], "ok": bool(action.get("ok"))}
    result = action.get("result") or {}
    task = result.get("task") if isinstance(result, dict) else None
    if isinstance(task, dict) and task.get("id"):
        out["task_id"] = task["id"]
    if not action.get("ok") and action.get("error"):
        out["error_code"] = action["error"].get("code", "")
    return out


def assistant_message_store(
    *,
    user: User,
    conversation: Conversation,
    text: str,
    engine: str,
    actions: list[dict[str, Any]] | None = None,
    question: dict[str, Any] | None = None,
    pending: dict[str, Any] | None = None,
    context: dict[str, Any] | None = None,
    in_reply_to: ChatMessage | None = None,
    source_event_id: uuid.UUID | str | None = None,
    reminder_id: str | None = None,
    record_received_via: str | None = None,
    locked: bool = False,
    earlier_events: list[NewEvent] | None = None,
) -> ChatMessage | None:
    """Store the assistant's message, update the conversation's memory and record
    ``chat.message.created`` (pushed to every socket of the user).

    With ``source_event_id`` the message is made at most once per event: a
    second call for the same event returns None and records nothing.
    """
    actions = actions or []
    try:
        # A savepoint only where the unique source_event_id may refuse the row
        # (it must not break the caller's transaction); a chat turn's reply joins
        # the turn's transaction, so its events go to the dispatcher together.
        with transaction.atomic(savepoint=source_event_id is not None):
            if not locked:
                _lock_conversation(conversation)
            if in_reply_to is not None:
                at = max(timezone.now(), in_reply_to.created_at + timedelta(microseconds=1))
            else:
                at = _next_time(conversation)
            message = ChatMessage(
                owner_id=user.pk,
                conversation=conversation,
                role=MessageRole.ASSISTANT,
                text=text,
                actions=actions,
                question=question,
                engine=engine,
                source_event_id=source_event_id,
                created_at=at,
            )
            # The user's message of a local turn is still unsaved (user_message_store
            # with record=False): both rows go in one INSERT.
            unsaved = [in_reply_to] if in_reply_to is not None and in_reply_to._state.adding else []
            fields = ["updated_at"]
            if context is not None:
                conversation.context = context
                fields.append("context")
            if pending is not None or in_reply_to is not None:
                # A reply always settles the previous question (it may ask a new one).
                conversation.pending = pending
                fields.append("pending")
            if source_event_id is None:
                # No unique key that could refuse the rows: the messages and the
                # conversation's update go in one statement.
                _messages_insert_and_conversation_update([*unsaved, message], conversation, fields)
            else:
                ChatMessage.objects.bulk_create([*unsaved, message])
                conversation.save(update_fields=fields)
            # A local turn's chat.tool.executed events, in the order the tools ran.
            events = list(earlier_events or [])
            if record_received_via is not None and in_reply_to is not None:
                # The local engine's one-transaction turn: the user's message
                # is announced here, after the tool's own events (lock order:
                # task rows before the user's event counter; see docs/events.md).
                events.append(NewEvent(**_received_event(in_reply_to, record_received_via)))
            events.append(
                NewEvent(
                    type="chat.message.created",
                    user_id=message.owner_id,
                    subject=f"chat/{conversation.pk}",
                    data=_message_event_data(
                        message,
                        engine=engine,
                        in_reply_to=str(in_reply_to.pk) if in_reply_to else None,
                        actions=[_compact_action(a) for a in actions],
                        question=question,
                        reminder_id=reminder_id,
                    ),
                )
            )
            record_events(events)
    except IntegrityError:
        if (
            source_event_id is not None
            and ChatMessage.objects.filter(source_event_id=source_event_id).exists()
        ):
            return None
        raise
    return _noted(conversation, message)


_MESSAGE_COLUMNS = (
    "id",
    "owner_id",
    "conversation_id",
    "role",
    "text",
    "actions",
    "question",
    "engine",
    "source_event_id",
    "created_at",
)


def _messages_insert_and_conversation_update(
    messages: list[ChatMessage], conversation: Conversation, fields: list[str]
) -> None:
    """INSERT ``messages`` and UPDATE the conversation's ``fields``, in one statement.

    What ``bulk_create`` and ``save(update_fields=fields)`` write, in one round
    trip with binary parameters (the ORM's UNNEST insert escaped every JSON
    document of the turn in Python; with the update's compile that was about
    a fifth of a local turn's CPU). The caller holds the conversation's lock.
    """
    conversation.updated_at = timezone.now()
    params: dict[str, Any] = {"conversation_id": conversation.pk}
    rows = []
    for i, message in enumerate(messages):
        for column in _MESSAGE_COLUMNS:
            value = getattr(message, column)
            if column in ("actions", "question") and value is not None:
                value = Jsonb(value)
            params[f"m{i}_{column}"] = value
        rows.append("(" + ", ".join(f"%(m{i}_{column})s" for column in _MESSAGE_COLUMNS) + ")")
    assignments = []
    for name in fields:
        value = getattr(conversation, name)
        params[f"c_{name}"] = Jsonb(value) if name in ("context", "pending") and value is not None else value
        assignments.append(f"{name} = %(c_{name})s")
    sql = (
        f"WITH new_messages AS (INSERT INTO assistant_app_chatmessage ({', '.join(_MESSAGE_COLUMNS)}) "  # noqa: S608 - constant names
        f"VALUES {', '.join(rows)}) "
        f"UPDATE assistant_app_conversation SET {', '.join(assignments)} WHERE id = %(conversation_id)s"
    )
    fetch_bound(sql, params)
    for message in messages:
        message._state.adding = False
        message._state.db = connection.alias


def tool_call(
    *,
    user: User,
    name: str,
    arguments: Any,
    via: str,
    conversation_id: uuid.UUID | str | None = None,
    now: datetime | None = None,
    deferred_events: list[NewEvent] | None = None,
) -> dict[str, Any]:
    """Run one registry tool for ``user`` and record ``chat.tool.executed``.

    With ``deferred_events`` (a local turn, one transaction) the event is
    appended there instead, and recorded with the reply's events in one batch.

    Never raises for a refusal: the answer is ``{"tool", "arguments", "ok",
    "result"}`` or ``{…, "ok": False, "error": {"code", "message", "fields"?,
    "status"}}``, which the engines turn into words (or hand back to the model).
    """
    ctx = ToolContext(user=user, now=now or timezone.now())
    action: dict[str, Any] = {"tool": name, "arguments": arguments if isinstance(arguments, dict) else {}}
    # Inside a local turn's transaction no savepoint is needed: refusals are
    # caught below, anything else rolls the whole turn back.
    with transaction.atomic(savepoint=False):
        _run_into(action, name, arguments, ctx)
        event = _tool_event(action, user=user, name=name, via=via, conversation_id=conversation_id)
        if deferred_events is None:
            record_events([event])
        else:
            deferred_events.append(event)
    return action


def local_tool_caller(
    *, user: User, conversation: Conversation, now: datetime, deferred_events: list[NewEvent] | None = None
) -> Callable[[str, dict[str, Any]], dict[str, Any]]:
    """The local engine's tool caller for one turn of ``conversation``."""

    def call(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        return tool_call(
            user=user,
            name=name,
            arguments=arguments,
            via="local",
            conversation_id=conversation.pk,
            now=now,
            deferred_events=deferred_events,
        )

    return call


def _run_into(action: dict[str, Any], name: str, arguments: Any, ctx: ToolContext) -> None:
    try:
        # Each service call inside is atomic on its own (a savepoint here), so a
        # refusal rolls back only what that call began; the event still records it.
        action["result"] = run_tool(name, arguments, ctx=ctx)
        action["ok"] = True
    except DomainError as exc:
        error: dict[str, Any] = {"code": exc.code, "message": exc.message, "status": exc.status_code}
        if exc.fields():
            error["fields"] = exc.fields()
        if isinstance(exc, AmbiguousTask):
            error["options"] = exc.options
        action["ok"] = False
        action["error"] = error


def _tool_event(
    action: dict[str, Any], *, user: User, name: str, via: str, conversation_id: uuid.UUID | str | None
) -> NewEvent:
    result = action.get("result") or {}
    return NewEvent(
        type="chat.tool.executed",
        user_id=user.pk,
        subject=f"chat/{conversation_id}" if conversation_id else "mcp",
        data={
            "user_id": user.pk,
            "conversation_id": str(conversation_id) if conversation_id else None,
            "tool": name,
            "via": via,
            "arguments": action["arguments"],
            "ok": action["ok"],
            "needs_confirmation": bool(result.get("needs_confirmation"))
            if isinstance(result, dict)
            else False,
            "error_code": action["error"]["code"] if not action["ok"] else None,
            "error_message": action["error"]["message"] if not action["ok"] else None,
        },
    )


def chat_send(
    *, user: User, text: object, conversation_id: uuid.UUID | str | None = None, via: str = "api"
) -> dict[str, Any]:
    """One chat turn: store the message, let an engine answer it, store the reply.

    The model engine runs when configured; any failure of it (unreachable,
    timeout, nonsense) falls back to the local engine, so the user always gets
    an answer. Returns the reply message plus its conversation.
    """
    from assistant_app import engine as local_engine
    from assistant_app import model_engine

    if not isinstance(text, str) or not text.strip():
        raise DomainError("The message is empty.", field="message")
    text = text.strip()
    if len(text) > MAX_MESSAGE_LENGTH:
        raise DomainError(f"The message is longer than {MAX_MESSAGE_LENGTH} characters.", field="message")
    now = timezone.now()
    if model_engine.enabled():
        conversation = conversation_for(user=user, conversation_id=conversation_id)
        # The model may take seconds: no transaction (and no lock on the
        # user's event counter) is held across its calls.
        incoming = user_message_store(user=user, conversation=conversation, text=text, via=via)
        reply = None
        try:
            reply = model_engine.reply(user=user, conversation=conversation, text=text, now=now)
        except model_engine.ModelUnavailable as exc:
            logger.warning("assistant model unavailable, answering locally: %s", exc)
        if reply is None:
            with transaction.atomic():
                reply = local_engine.reply(user=user, conversation=conversation, text=text, now=now)
                message = _store_reply(user, conversation, reply, incoming, record_received_via=None)
        else:
            message = _store_reply(user, conversation, reply, incoming, record_received_via=None)
    else:
        # The local engine is instant: the whole turn is one transaction, so it
        # commits (and hands its events to the dispatcher) once.
        # Every event of the turn (the tools' services', then the chat's) is
        # written in one batch at its end: two statements, not two per call.
        with transaction.atomic(), batched_recording():
            # Locked first: turns in one conversation go one at a time, and its
            # context and pending question are read under the lock.
            conversation = conversation_for(user=user, conversation_id=conversation_id, lock=True)
            incoming = user_message_store(
                user=user, conversation=conversation, text=text, via=via, record=False
            )
            tool_events: list[NewEvent] = []

            call = local_tool_caller(
                user=user, conversation=conversation, now=now, deferred_events=tool_events
            )
            reply = local_engine.reply(user=user, conversation=conversation, text=text, now=now, call=call)
            message = _store_reply(
                user,
                conversation,
                reply,
                incoming,
                record_received_via=via,
                locked=True,
                earlier_events=tool_events,
            )
    return {
        "conversation_id": str(conversation.pk),
        "message": message_to_dict(message),
        "user_message_id": str(incoming.pk),
    }


def _store_reply(
    user: User,
    conversation: Conversation,
    reply: EngineReply,
    incoming: ChatMessage,
    *,
    record_received_via: str | None,
    locked: bool = False,
    earlier_events: list[NewEvent] | None = None,
) -> ChatMessage:
    message = assistant_message_store(
        user=user,
        conversation=conversation,
        text=reply.text,
        engine=reply.engine,
        actions=reply.actions,
        question=reply.question,
        pending=reply.pending,
        context=reply.context,
        in_reply_to=incoming,
        record_received_via=record_received_via,
        locked=locked,
        earlier_events=earlier_events,
    )
    assert message is not None
    return message


def chat_history_clear(*, user: User) -> int:
    """Delete every conversation and message of the caller; records ``chat.history.cleared``."""
    with transaction.atomic():
        count = ChatMessage.objects.filter(owner_id=user.pk).count()
        Conversation.objects.filter(owner_id=user.pk).delete()
        record_event(
            type="chat.history.cleared",
            user_id=user.pk,
            subject=f"users/{user.pk}",
            data={"user_id": user.pk, "deleted_messages": count},
        )
    return count


def reminder_message_post(*, event_id: uuid.UUID | str, data: dict[str, Any]) -> ChatMessage | None:
    """The assistant speaks up when a reminder fires (handler of ``reminder.triggered``).

    Adds "Reminder: <title>, due <when>." to the user's latest conversation and
    remembers the reminder, so "snooze that 10 minutes" / "dismiss" answer it.
    At most one message per event.
    """
    from assistant_app.engine import describe_due

    user = get_user_model().objects.filter(pk=data["user_id"]).select_related("profile").first()
    if user is None or ChatMessage.objects.filter(source_event_id=event_id).exists():
        return None
    zone = user_timezone(user)
    due = describe_due(
        due_at=data.get("due_at"), due_date=data.get("due_date"), zone=zone, now=timezone.now()
    )
    text = f"Reminder: {data.get('task_title') or 'a task'}" + (f", due {due}." if due else ".")
    text += " Say “snooze 10 minutes”, “dismiss” or “done”."
    conversation = conversation_for(user=user)
    context = dict(conversation.context or {})
    context["reminder_id"] = data["reminder_id"]
    context["task_ids"] = [data["task_id"]]
    return assistant_message_store(
        user=user,
        conversation=conversation,
        text=text,
        engine="reminder",
        context=context,
        source_event_id=event_id,
        reminder_id=data["reminder_id"],
    )


# --- personal access tokens ----------------------------------------------------------


MAX_TOKENS_PER_USER = 50


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def password_fingerprint(password_hash: str) -> str:
    """A keyed digest of the user's password hash: changes whenever the password does."""
    return hmac.new(settings.SECRET_KEY.encode(), password_hash.encode(), hashlib.sha256).hexdigest()


def _token_event_data(token: PersonalAccessToken) -> dict[str, Any]:
    return {
        "user_id": token.owner_id,
        "token_id": str(token.pk),
        "name": token.name,
        "scope": token.scope,
        "prefix": token.prefix,
    }


def pat_create(
    *, user: User, name: Any, scope: Any = TokenScope.READ, expires_in_days: Any = None
) -> tuple[PersonalAccessToken, str]:
    """Make a token; returns the row and the raw token (shown once, only its hash is kept)."""
    if not isinstance(name, str) or not name.strip():
        raise DomainError("Give the token a name.", field="name")
    if len(name.strip()) > 100:
        raise DomainError("The name is longer than 100 characters.", field="name")
    if scope not in TokenScope.values:
        raise DomainError(f"scope must be one of {', '.join(TokenScope.values)}.", field="scope")
    expires_at = None
    if expires_in_days is not None:
        if (
            isinstance(expires_in_days, bool)
            or not isinstance(expires_in_days, int)
            or not 1 <= expires_in_days <= 3650
        ):
            raise DomainError("expires_in_days must be an integer from 1 to 3650.", field="expires_in_days")
        expires_at = timezone.now() + timedelta(days=expires_in_days)
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        live = PersonalAccessToken.objects.filter(owner_id=user.pk, revoked_at__isnull=True).count()
        if live >= MAX_TOKENS_PER_USER:
            raise DomainError(f"At most {MAX_TOKENS_PER_USER} active tokens per user.", field="name")
        # Read fresh from the row: the token is tied to the password as it is now.
        password = get_user_model().objects.filter(pk=user.pk).values_list("password", flat=True).get()
        token = PersonalAccessToken.objects.create(
            owner_id=user.pk,
            name=name.strip(),
            prefix=raw[:12],
            token_hash=token_hash(raw),
            scope=scope,
            password_fingerprint=password_fingerprint(password),
            expires_at=expires_at,
        )
        record_event(
            type="user.token_created",
            user_id=user.pk,
            subject=f"tokens/{token.pk}",
            data=_token_event_data(token),
        )
    return token, raw


def pat_revoke(*, user: User, token_id: uuid.UUID | str) -> PersonalAccessToken:
    """Revoke one of the caller's tokens (another user's is a 404); twice is harmless."""
    try:
        wanted = uuid.UUID(str(token_id))
    except ValueError:
        raise NotFoundError("Token not found.") from None
    with transaction.atomic():
        token = PersonalAccessToken.objects.select_for_update().filter(owner_id=user.pk, pk=wanted).first()
        if token is None:
            raise NotFoundError("Token not found.")
        if token.revoked_at is None:
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
            record_event(
                type="user.token_revoked",
                user_id=user.pk,
                subject=f"tokens/{token.pk}",
                data=_token_event_data(token),
            )
    return token


def pat_authenticate(raw: str) -> tuple[User, PersonalAccessToken] | None:
    """(user, token) for a valid token; None for an unknown, revoked, expired token, an
    inactive user, or a token made before the user's password last changed."""
    token = (
        PersonalAccessToken.objects.select_related("owner")
        .filter(token_hash=token_hash(raw), revoked_at__isnull=True)
        .first()
    )
    now = timezone.now()
    if token is None or (token.expires_at is not None and token.expires_at <= now):
        return None
    user = token.owner
    if not user.is_active or not hmac.compare_digest(
        token.password_fingerprint, password_fingerprint(user.password)
    ):
        return None
    # At most one write a minute per token, not one per request.
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        PersonalAccessToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return user, token
