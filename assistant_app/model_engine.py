"""The optional model engine: any OpenAI-compatible chat-completions API with tool calling.

Off unless ``ASSISTANT_MODEL`` and ``OPENAI_BASE_URL`` are set. The model gets
the registry's tools as ``tools`` (function name, description, JSON Schema),
the recent conversation and a system prompt with the user's local time; each
``tool_calls`` entry is run through the same ``services.tool_call`` as the
local engine (so the same events, audit and pushes), and its result — or its
refusal, in the API's error shape — goes back to the model as a ``tool``
message. A model that names an unknown tool or sends arguments that are not
JSON or do not match the schema gets that error back, not the user.

``ModelUnavailable`` (connection refused, timeout, 5xx after retries, a reply
that is not chat-completions JSON) makes the caller answer with the local
engine instead — unless a tool already ran in this turn, in which case the
reply says what was done rather than running the message a second time.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User

from assistant_app.engine import EngineReply, describe_task
from assistant_app.models import ChatMessage, Conversation
from assistant_app.tools import tool_list
from tasks_app.selectors import user_timezone
from todo_project.accounts.selectors import user_date_order

logger = logging.getLogger(__name__)


class ModelUnavailable(Exception):
    """The model could not give an answer; answer locally."""


def enabled() -> bool:
    return bool(settings.ASSISTANT_MODEL and settings.OPENAI_BASE_URL)


def openai_tools() -> list[dict[str, Any]]:
    return [
        {
            "type": "function",
            "function": {"name": t.name, "description": t.description, "parameters": t.input_schema},
        }
        for t in tool_list()
    ]


_ORDER_WORDS = {"MDY": "month/day (4/15)", "DMY": "day/month (15/4)", "YMD": "year/month/day (2027/4/15)"}


def _system_prompt(user: User, now: datetime) -> str:
    zone = user_timezone(user)
    local = now.astimezone(zone)
    return (
        "You are Taskbeat's assistant. You manage the user's tasks and reminders only through the tools. "
        f"The user's time zone is {zone.key}; it is now {local:%A %Y-%m-%d %H:%M} there. "
        f"The user writes numeric dates as {_ORDER_WORDS[user_date_order(user)]}, and so does "
        "create_task's text; ISO 2027-04-15 always works. "
        "To create a task, pass the user's words to create_task as quick-add text (it understands dates, "
        "times, recurrences, #tags, priorities and 'remind me N minutes before'). To act on an existing "
        "task, name it with task_id from an earlier result, or with words of its title in 'task'. "
        "If a tool answers needs_confirmation, ask the user and only call it again with confirm=true "
        "after they agree. If a tool answers error code 'ambiguous', ask which of the options they mean. "
        "Answer briefly and say what you did."
    )


def _history(conversation: Conversation, limit: int) -> list[dict[str, Any]]:
    recent = list(
        ChatMessage.objects.filter(conversation=conversation).order_by("-created_at", "-id")[: limit + 1]
    )
    recent.reverse()
    # The newest row is the message being answered; it is sent separately.
    return [{"role": m.role, "content": m.text} for m in recent[:-1]]


def _post(body: dict[str, Any]) -> dict[str, Any]:
    """One chat-completions call with retries on connection errors, 429 and 5xx."""
    url = settings.OPENAI_BASE_URL.rstrip("/") + "/chat/completions"
    if not url.startswith(("http://", "https://")):
        raise ModelUnavailable("OPENAI_BASE_URL must be an http(s) URL")
    headers = {"Content-Type": "application/json"}
    if settings.OPENAI_API_KEY:
        headers["Authorization"] = f"Bearer {settings.OPENAI_API_KEY}"
    data = json.dumps(body).encode()
    attempts = settings.ASSISTANT_MODEL_RETRIES + 1
    last: Exception | None = None
    for attempt in range(attempts):
        if attempt:
            time.sleep(min(2.0, 0.25 * 2**attempt))
        request = urllib.request.Request(url, data=data, headers=headers, method="POST")  # noqa: S310 - scheme checked
        timeout = settings.ASSISTANT_MODEL_TIMEOUT_SECONDS
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - http(s) only, checked above
                payload = json.loads(response.read().decode())
        except urllib.error.HTTPError as exc:
            last = exc
            if exc.code == 429 or exc.code >= 500:
                continue
            # Any other 4xx (bad key, unknown model) will not get better by retrying.
            raise ModelUnavailable(f"model API answered {exc.code}") from exc
        except (OSError, ValueError) as exc:  # URLError, timeouts, resets, bad JSON
            last = exc
            continue
        if not isinstance(payload, dict) or not payload.get("choices"):
            raise ModelUnavailable("model API answer has no choices")
        return payload
    raise ModelUnavailable(f"model API unreachable after {attempts} attempts: {last}")


def _tool_message(call_id: str, content: dict[str, Any]) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": call_id, "content": json.dumps(content, default=str)}


def _user_confirmed(conversation: Conversation, name: str, arguments: dict[str, Any], text: str) -> bool:
    """A destructive call runs only after the user said yes to that very action."""
    from assistant_app.engine import _YES

    pending = conversation.pending or {}
    asked = pending.get("kind") == "confirm" and pending.get("tool") == name
    same_task = (pending.get("arguments") or {}).get("task_id") == arguments.get("task_id")
    return bool(asked and same_task and _YES.match(text.strip().lower()))


def reply(*, user: User, conversation: Conversation, text: str, now: datetime) -> EngineReply:
    """Answer one message with the configured model; raises ``ModelUnavailable``."""
    from assistant_app.services import tool_call

    messages: list[dict[str, Any]] = [
        {"role": "system", "content": _system_prompt(user, now)},
        *_history(conversation, settings.ASSISTANT_MODEL_HISTORY),
        {"role": "user", "content": text},
    ]
    tools = openai_tools()
    known = {t["function"]["name"] for t in tools}
    actions: list[dict[str, Any]] = []
    pending: dict[str, Any] | None = None
    task_ids: list[str] = []
    try:
        for _round in range(settings.ASSISTANT_MODEL_MAX_TOOL_ROUNDS):
            payload = _post(
                {
                    "model": settings.ASSISTANT_MODEL,
                    "messages": messages,
                    "tools": tools,
                    "tool_choice": "auto",
                }
            )
            message = payload["choices"][0].get("message") or {}
            calls = message.get("tool_calls") or []
            if not calls:
                content = message.get("content")
                if not isinstance(content, str) or not content.strip():
                    raise ModelUnavailable("model answered with neither text nor tool calls")
                return EngineReply(
                    text=content.strip(),
                    engine="model",
                    actions=actions,
                    pending=pending,
                    context={
                        **(conversation.context or {}),
                        **({"task_ids": task_ids[:5]} if task_ids else {}),
                    },
                )
            messages.append({"role": "assistant", "content": message.get("content"), "tool_calls": calls})
            for call in calls:
                call_id = str(call.get("id") or "")
                function = call.get("function") or {}
                name = function.get("name")
                if name not in known:
                    messages.append(
                        _tool_message(
                            call_id, {"error": {"code": "unknown_tool", "message": f"No tool {name!r}."}}
                        )
                    )
                    continue
                try:
                    arguments = json.loads(function.get("arguments") or "{}")
                except ValueError:
                    messages.append(
                        _tool_message(
                            call_id,
                            {
                                "error": {
                                    "code": "validation_error",
                                    "message": "arguments is not valid JSON.",
                                }
                            },
                        )
                    )
                    continue
                if (
                    isinstance(arguments, dict)
                    and arguments.get("confirm")
                    and not _user_confirmed(conversation, str(name), arguments, text)
                ):
                    # The user has not said yes to this: the tool answers
                    # needs_confirmation instead, and the model has to ask.
                    arguments = {**arguments, "confirm": False}
                action = tool_call(
                    user=user,
                    name=name,  # type: ignore[arg-type]  # tool_call refuses a missing or unknown name
                    arguments=arguments,
                    via="model",
                    conversation_id=conversation.pk,
                    now=now,
                )
                actions.append(action)
                if action["ok"]:
                    result = action["result"]
                    task = result.get("task") if isinstance(result, dict) else None
                    if isinstance(task, dict) and task.get("id"):
                        task_ids.insert(0, task["id"])
                    if isinstance(result, dict) and result.get("needs_confirmation") and task:
                        # Kept so a "yes" still works if the model is down next turn.
                        pending = {
                            "kind": "confirm",
                            "tool": name,
                            "arguments": {"task_id": task["id"]},
                            "asked_at": now.isoformat(),
                        }
                    messages.append(_tool_message(call_id, result))
                else:
                    messages.append(_tool_message(call_id, {"error": action["error"]}))
        raise ModelUnavailable("model kept calling tools without answering")
    except ModelUnavailable:
        if not actions:
            raise
        logger.warning("assistant model failed after %d tool call(s); summarising them", len(actions))
        zone = user_timezone(user)
        done = [
            describe_task(a["result"]["task"], zone=zone, now=now)
            for a in actions
            if a["ok"] and isinstance(a.get("result"), dict) and isinstance(a["result"].get("task"), dict)
        ]
        summary = "; ".join(
            f"{a['tool']}: {d}" for a, d in zip([a for a in actions if a["ok"]], done, strict=False)
        )
        return EngineReply(
            text=f"Done — {summary}." if summary else "I couldn't finish that; nothing was changed.",
            engine="model",
            actions=actions,
            pending=pending,
            context=dict(conversation.context or {}),
        )
