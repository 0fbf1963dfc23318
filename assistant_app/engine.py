"""The local engine: deterministic intent recognition, no model, no network.

A message is matched against a short, ordered table of intents (regular
expressions over the lower-cased text); the first that matches turns it into
one registry tool call. New tasks go through quick add's own parser, so the
chat understands exactly what quick add does ("every Monday", "on the 1st of
every month", "tomorrow at 9am #work !high", "remind me 15 minutes before").

Short-term context lives on the conversation: the tasks the last reply was
about (``task_ids``, for "it" / "that one") and the last reminder that fired
(``reminder_id``, for "snooze that 10 minutes"). A destructive action or an
ambiguous task name is not executed: the reply asks, and the question is kept
as the conversation's ``pending`` until the next message answers it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User

from assistant_app.models import Conversation
from tasks_app.quickadd.parser import parse_quick_add
from tasks_app.selectors import user_timezone
from todo_project.accounts.selectors import user_date_order
from todo_project.errors import DomainError


@dataclass
class EngineReply:
    text: str
    engine: str = "local"
    actions: list[dict[str, Any]] = field(default_factory=list)
    question: dict[str, Any] | None = None
    pending: dict[str, Any] | None = None
    context: dict[str, Any] = field(default_factory=dict)


Call = Callable[[str, dict[str, Any]], dict[str, Any]]

# --- wording -------------------------------------------------------------------------


def _as_datetime(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _as_date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _day_words(day: date, today: date) -> str:
    if day == today:
        return "today"
    if day == today + timedelta(days=1):
        return "tomorrow"
    if day == today - timedelta(days=1):
        return "yesterday"
    text = f"{day:%a} {day.day} {day:%b}"
    return text if day.year == today.year else f"{text} {day.year}"


def describe_due(*, due_at: Any, due_date: Any, zone: ZoneInfo, now: datetime) -> str:
    """ "today at 09:00", "tomorrow", "Mon 7 Dec at 18:30" — in the user's zone; "" for none."""
    today = now.astimezone(zone).date()
    moment = _as_datetime(due_at)
    if moment is not None:
        local = moment.astimezone(zone)
        return f"{_day_words(local.date(), today)} at {local:%H:%M}"
    day = _as_date(due_date)
    return _day_words(day, today) if day else ""


def describe_task(task: dict[str, Any], *, zone: ZoneInfo, now: datetime) -> str:
    text = f"“{task['title']}”"
    series = task.get("series") or {}
    if series.get("summary"):
        text += f" — {series['summary']}"
        due = describe_due(due_at=task.get("due_at"), due_date=task.get("due_date"), zone=zone, now=now)
        if due:
            text += f", next {due}"
        return text
    due = describe_due(due_at=task.get("due_at"), due_date=task.get("due_date"), zone=zone, now=now)
    if due:
        text += f", due {due}"
    if task.get("priority") == "high":
        text += " (high priority)"
    return text


def _error_text(action: dict[str, Any]) -> str:
    return str(action["error"]["message"])


# --- recognising references -------------------------------------------------------

_PRONOUN = re.compile(r"^(?:it|that|this|that one|this one|them|the task|that task|this task)$")
_ORDINALS = {
    "first": 1,
    "1st": 1,
    "second": 2,
    "2nd": 2,
    "third": 3,
    "3rd": 3,
    "fourth": 4,
    "4th": 4,
    "fifth": 5,
}
_YES = re.compile(r"^(?:y|yes|yep|yeah|sure|ok|okay|confirm|do it|go ahead|please do|delete it|yes please)\b")
_NO = re.compile(r"^(?:n|no|nope|cancel|never ?mind|stop|don't|do not|keep it)\b")
_NUMBER_WORDS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "ten": 10,
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
    "half an": 30,
}

# "I paid the rent" → "pay rent": past tenses that do not end in -ed.
_IRREGULAR = {
    "paid": "pay",
    "did": "do",
    "sent": "send",
    "bought": "buy",
    "wrote": "write",
    "took": "take",
    "made": "make",
    "went": "go",
    "read": "read",
    "ran": "run",
    "got": "get",
    "gave": "give",
    "met": "meet",
    "fed": "feed",
    "put": "put",
    "rang": "ring",
    "paid off": "pay off",
}


def _present(verb: str) -> str:
    if verb in _IRREGULAR:
        return _IRREGULAR[verb]
    if verb.endswith("ied"):
        return verb[:-3] + "y"
    if verb.endswith("ed"):
        stem = verb[:-2]
        # "called" → "call", "baked" → "bake", "emailed" → "email"
        return (
            stem
            if stem.endswith(("ll", "il", "sh", "ch", "ck", "nt", "rt", "st", "ed", "en", "er"))
            else verb[:-1]
        )
    return verb


def _number(raw: str) -> int:
    raw = raw.strip()
    return int(raw) if raw.isdigit() else _NUMBER_WORDS.get(raw, 1)


def _minutes(amount: str, unit: str) -> int:
    n = _number(amount)
    if unit.startswith("h"):
        return n * 60
    if unit.startswith("d"):
        return n * 1440
    return n


# --- the engine ----------------------------------------------------------------------


class _Turn:
    """One message being answered: the user, the tool caller, the context so far."""

    def __init__(self, *, user: User, conversation: Conversation, call: Call, now: datetime) -> None:
        self.user = user
        self.conversation = conversation
        self.call = call
        self.now = now
        self.zone = user_timezone(user)
        self.date_order = user_date_order(user)
        self.context: dict[str, Any] = dict(conversation.context or {})
        self.actions: list[dict[str, Any]] = []

    def run(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        action = self.call(name, arguments)
        self.actions.append(action)
        return action

    def target(self, words: str) -> dict[str, Any]:
        """Tool arguments naming the task ``words`` refers to ("it" → the last one)."""
        words = words.strip().strip("“”\"'").strip()
        words = re.sub(r"^(?:my|the|a|an)\s+", "", words)
        words = re.sub(r"\s+(?:task|todo|reminder|reminders|series)$", "", words)
        if _PRONOUN.match(words) and self.context.get("task_ids"):
            return {"task_id": self.context["task_ids"][0]}
        return {"task": words or "it"}

    def remember(self, *task_ids: str | None) -> None:
        ids = [t for t in task_ids if t]
        if ids:
            self.context["task_ids"] = ids[:5]

    def done(self, text: str, **kwargs: Any) -> EngineReply:
        if kwargs.get("pending"):
            kwargs["pending"] = {**kwargs["pending"], "asked_at": self.now.isoformat()}
        return EngineReply(text=text, actions=self.actions, context=self.context, **kwargs)

    def describe(self, task: dict[str, Any]) -> str:
        return describe_task(task, zone=self.zone, now=self.now)

    def failed(self, action: dict[str, Any], *, tool: str, arguments: dict[str, Any]) -> EngineReply:
        """Words for a refused tool call; an ambiguous name becomes a question."""
        error = action["error"]
        if error["code"] == "ambiguous" and error.get("options"):
            options = error["options"][:5]
            titles = " or ".join(f"“{o['title']}”" for o in options)
            prompt = f"Which one — {titles}?"
            pending = {"kind": "choose", "tool": tool, "arguments": arguments, "options": options}
            question = {"kind": "choose", "prompt": prompt, "options": options}
            return self.done(prompt, question=question, pending=pending)
        return self.done(f"I couldn't do that: {error['message']}")


# A question left unanswered this long is forgotten: a "yes" an hour later
# must not delete what was asked about before lunch.
PENDING_TTL = timedelta(minutes=15)


def _answer_pending(turn: _Turn, text: str) -> EngineReply | None:
    pending = turn.conversation.pending
    if not pending:
        return None
    asked = _as_datetime(pending.get("asked_at")) if pending.get("asked_at") else None
    if asked is None or turn.now - asked > PENDING_TTL:
        return None
    if pending.get("kind") == "confirm":
        if _YES.match(text):
            return _finish(turn, pending["tool"], {**pending["arguments"], "confirm": True})
        if _NO.match(text):
            return turn.done("OK, I left it as it is.", pending=None)
        return None
    if pending.get("kind") == "choose":
        options = pending.get("options") or []
        if _NO.match(text):
            return turn.done("OK, never mind.")
        choice = None
        number = re.match(r"^(?:the\s+)?(\d|first|second|third|fourth|fifth|1st|2nd|3rd|4th)\b", text)
        if number:
            index = int(number.group(1)) if number.group(1).isdigit() else _ORDINALS[number.group(1)]
            if 1 <= index <= len(options):
                choice = options[index - 1]
        if choice is None:
            from assistant_app.tools import match_score

            scored = sorted(((match_score(text, o["title"]), o) for o in options), key=lambda p: -p[0])
            if scored and scored[0][0] >= 0.5 and (len(scored) == 1 or scored[0][0] > scored[1][0]):
                choice = scored[0][1]
        if choice is None:
            return None
        arguments = {k: v for k, v in pending["arguments"].items() if k not in ("task", "task_id")}
        return _finish(turn, pending["tool"], {**arguments, "task_id": choice["task_id"]})
    return None


def _finish(turn: _Turn, tool: str, arguments: dict[str, Any]) -> EngineReply:
    """Run ``tool`` and put what happened into words."""
    action = turn.run(tool, arguments)
    if not action["ok"]:
        return turn.failed(action, tool=tool, arguments=arguments)
    result = action["result"]
    task = result.get("task") or {}
    turn.remember(task.get("id"))
    if tool == "create_task":
        return turn.done(f"Added {turn.describe(task)}.")
    if tool == "complete_task":
        text = f"Done: “{task['title']}”."
        if task.get("series") and task["series"].get("status") == "active":
            text += " The next one is on its way; the series goes on."
        return turn.done(text)
    if tool == "reopen_task":
        return turn.done(f"Reopened “{task['title']}”.")
    if tool == "reschedule_task":
        return turn.done(f"Moved: {turn.describe(task)}.")
    if tool == "update_task":
        tags = ", ".join(f"#{t}" for t in task.get("tags", [])) or "no tags"
        return turn.done(f"Updated “{task['title']}”: {task['priority']} priority, {tags}.")
    if tool == "add_reminder":
        reminder = result["reminder"]
        when = describe_due(due_at=reminder["fire_at"], due_date=None, zone=turn.zone, now=turn.now)
        return turn.done(f"I'll remind you about “{task['title']}” {when}.")
    if tool in ("snooze_reminder", "dismiss_reminder"):
        reminder = result["reminder"]
        turn.context["reminder_id"] = reminder["id"]
        turn.remember(reminder["task_id"])
        if tool == "dismiss_reminder":
            return turn.done(f"Dismissed the reminder for “{result['task_title']}”.")
        when = describe_due(due_at=reminder["fire_at"], due_date=None, zone=turn.zone, now=turn.now)
        return turn.done(f"Snoozed “{result['task_title']}” until {when}.")
    if tool == "skip_occurrence":
        following = result.get("next")
        turn.remember(following.get("id") if following else result["skipped"]["id"])
        text = f"Skipped “{result['skipped']['title']}”."
        if following:
            due = describe_due(
                due_at=following.get("due_at"),
                due_date=following.get("due_date"),
                zone=turn.zone,
                now=turn.now,
            )
            text += f" Next one: {due}." if due else ""
        return turn.done(text)
    if tool == "stop_series":
        if result.get("series"):
            return turn.done(
                f"Stopped “{task['title']}”: no more occurrences will be made. The ones you have stay."
            )
        count = len(result.get("reminders_dismissed") or [])
        return turn.done(
            f"“{task['title']}” isn't recurring; I turned off its {count} "
            f"reminder{'s' if count != 1 else ''}."
        )
    if tool == "delete_task":
        if result.get("needs_confirmation"):
            question = {"kind": "confirm", "prompt": result["prompt"], "options": []}
            pending = {"kind": "confirm", "tool": tool, "arguments": {"task_id": task["id"]}}
            return turn.done(result["prompt"] + " (yes / no)", question=question, pending=pending)
        turn.context["task_ids"] = []
        return turn.done(f"Deleted “{task['title']}”.")
    return turn.done("Done.")


# --- intents ---------------------------------------------------------------------------

_AMOUNT = r"\d+|an?|one|two|three|four|five|ten|fifteen|twenty|thirty|half an"
_ADD = re.compile(
    r"^(?:(?:please\s+)?(?:add|create|new task:?|todo:?|put|schedule)\s+(?:a\s+task\s+(?:to\s+)?)?"
    r"|i\s+(?:need|have|must|want|should)\s+(?:to\s+)?|don'?t\s+let\s+me\s+forget\s+(?:to\s+)?)(?P<rest>.+)$"
)
_REMIND_TO = re.compile(r"^(?:remind me to|remember to)\s+(?P<rest>.+)$")
_REMIND_ABOUT = re.compile(
    r"^remind me (?:about|of)\s+(?P<task>.+?)\s+(?:(?P<n>" + _AMOUNT + r")\s+"
    r"(?P<unit>minutes?|mins?|hours?|hrs?|days?)\s+before(?:\s+it)?|(?P<at>(?:at|on|tomorrow|today|tonight|in)\b.+))$"
)
_STOP = re.compile(
    r"^(?:stop|cancel|end|turn off|disable|pause)\s+(?:the\s+|my\s+)?(?P<task>.+?)"
    r"(?:\s+(?:reminders?|series|recurring task|recurrence|task))?$"
)
_SKIP = re.compile(r"^skip\s+(?P<task>.+)$")
_SNOOZE = re.compile(
    r"^snooze(?:\s+(?!\d|for\b|by\b)(?P<task>.+?))?(?:\s+(?:for|by))?(?:\s+(?P<n>" + _AMOUNT + r")"
    r"\s*(?P<unit>m|mins?|minutes?|h|hrs?|hours?))?$"
)
_DISMISS = re.compile(
    r"^(?:dismiss|dismiss it|dismiss that|got it|ok got it|thanks,? got it)(?:\s+(?P<task>.+))?$"
)
_COMPLETE = re.compile(
    r"^(?:(?:i'?m\s+)?done with|finished|i finished|i've finished|completed?|mark|check off|tick off|"
    r"cross off)\s+"
    r"(?P<task>.+?)(?:\s+(?:as\s+)?(?:done|complete|completed|finished))?$"
)
_DID = re.compile(
    r"^i(?:'ve| have)?\s+(?:just\s+|already\s+)?(?P<verb>[a-z]+(?:ed)?|paid off)\s+(?P<obj>.+)$"
)
_REOPEN = re.compile(
    r"^(?:reopen|re-open|undo|uncomplete|un-complete|unmark)\s+(?P<task>.+?)(?:\s+(?:as\s+)?done)?$"
)
_DELETE = re.compile(r"^(?:delete|remove|trash|get rid of|drop)\s+(?P<task>.+)$")
_MOVE = re.compile(
    r"^(?:move|reschedule|postpone|push|shift|change|set)\s+(?P<task>.+?)\s+"
    r"(?:to|until|till|for|back to)\s+(?P<when>.+)$"
)
_PRIORITY = re.compile(
    r"^(?:set\s+)?(?:the\s+)?priority\s+(?:of\s+|for\s+)?(?P<task2>.+?)\s+(?:to\s+)?(?P<p2>high|medium|low)$"
    r"|^(?:make|mark|set)\s+(?P<task>.+?)\s+(?:as\s+|to\s+)?(?P<p>high|medium|low|urgent|important|normal)"
    r"(?:[\s-]+priority)?$"
)
_TAG = re.compile(
    r"^(?:tag|label)\s+(?P<task>.+?)\s+(?:with|as)\s+(?P<tags>.+)$|^add\s+(?P<tags2>#\S+(?:\s+#\S+)*)\s+to\s+(?P<task2>.+)$"
)
_QUERY = re.compile(
    r"^(?:what(?:'s|s| is| are)?|show(?: me)?|list|which|any|anything|do i have|what do i have|"
    r"what have i got|tell me|give me|find|search(?: for)?)\b"
)
_HELP = re.compile(r"^(?:hi|hello|hey|help|what can you do|\?|how does this work)\b")


def _query(turn: _Turn, text: str) -> EngineReply:
    arguments: dict[str, Any] = {}
    if re.search(r"\boverdue|late|past due|missed\b", text):
        arguments["when"] = "overdue"
    elif re.search(r"\btomorrow\b", text):
        arguments["when"] = "tomorrow"
    elif re.search(r"\b(?:this|the) week\b|\bweek\b", text):
        arguments["when"] = "this_week"
    elif re.search(r"\btoday|tonight|now\b", text):
        arguments["when"] = "today"
    elif re.search(r"\bupcoming|coming up|next\b", text):
        arguments["when"] = "upcoming"
    if re.search(r"\b(?:high|urgent|important)[\s-]*(?:priority)?\b", text):
        arguments["priority"] = "high"
    elif re.search(r"\blow[\s-]*priority\b", text):
        arguments["priority"] = "low"
    elif re.search(r"\bmedium[\s-]*priority\b", text):
        arguments["priority"] = "medium"
    project = re.search(
        r"\b(?:in|from|of)\s+(?:the\s+|my\s+)?(?P<p>[\w][\w\s-]*?)\s+project\b", text
    ) or re.search(r"\bproject\s+[\"“']?(?P<p>[\w][\w-]*)", text)
    if project:
        arguments["project"] = project.group("p").strip()
        text = text[: project.start()] + text[project.end() :]
    tags = re.findall(r"#([\w-]+)", text)
    if tags:
        arguments["tags"] = tags
    if re.search(r"\b(?:completed|done|finished)\b", text):
        arguments["status"] = "completed"
    about = re.search(r"\b(?:about|called|named|with|for)\s+[\"“']?(?P<q>[\w\s-]+?)[\"”']?$", text)
    if about and not re.fullmatch(r"(?:today|tomorrow|this week|the week|me)", about.group("q").strip()):
        arguments["query"] = about.group("q").strip()
    action = turn.run("list_tasks", arguments)
    if not action["ok"]:
        return turn.done(f"I couldn't look that up: {_error_text(action)}")
    tasks = action["result"]["tasks"]
    label = {
        "today": "due today",
        "tomorrow": "due tomorrow",
        "overdue": "overdue",
        "this_week": "due this week",
        "upcoming": "coming up",
    }.get(arguments.get("when", ""), "open" if arguments.get("status") != "completed" else "completed")
    if arguments.get("priority"):
        label = f"{arguments['priority']}-priority and {label}"
    if arguments.get("project"):
        label += f" in {arguments['project']}"
    if not tasks:
        return turn.done(f"Nothing {label}.")
    turn.remember(*[t["id"] for t in tasks])
    lines = [f"{i}. {turn.describe(t)}" for i, t in enumerate(tasks[:10], start=1)]
    more = f"\n…and {len(tasks) - 10} more." if len(tasks) > 10 else ""
    noun = "task" if len(tasks) == 1 else "tasks"
    return turn.done(f"{len(tasks)} {noun} {label}:\n" + "\n".join(lines) + more)


def _help(turn: _Turn) -> EngineReply:
    return turn.done(
        "I can add tasks (“Remind me to exercise every Monday”, “Pay bills on the 1st of every month”), "
        "answer “what's due today?” or “show overdue high-priority tasks”, complete (“done with the "
        "report”), move (“move standup to Friday”), change (“make it high priority”), snooze or dismiss "
        "reminders, skip an occurrence and stop a series (“stop my exercise reminder”)."
    )


def _looks_like_a_task(turn: _Turn, text: str) -> bool:
    """Anything quick add finds a date, time or recurrence in is a task to add."""
    try:
        parsed = parse_quick_add(text, now=turn.now, tz=turn.zone.key, date_order=turn.date_order)
    except DomainError:
        return False
    return bool(parsed.title) and any(s.kind in ("date", "time", "recurrence") for s in parsed.spans)


def _answer(turn: _Turn, raw: str) -> EngineReply:
    raw = raw.replace("\u2019", "'")
    text = re.sub(r"\s+", " ", raw.strip().lower()).rstrip(".!?")
    # Quick add keeps the user's casing for titles; intents see lower case.
    original = re.sub(r"\s+", " ", raw.strip()).rstrip(".")

    answered = _answer_pending(turn, text)
    if answered is not None:
        answered.pending = answered.pending  # a new question, or None: the old one is settled
        return answered

    if _HELP.match(text):
        return _help(turn)
    if m := _REMIND_ABOUT.match(text):
        arguments = turn.target(m.group("task"))
        if m.group("at"):
            arguments["at"] = m.group("at")
        else:
            arguments["minutes_before"] = _minutes(m.group("n"), m.group("unit"))
        return _finish(turn, "add_reminder", arguments)
    if _REMIND_TO.match(text):
        return _finish(turn, "create_task", {"text": original})
    if m := _SNOOZE.match(text):
        arguments = {}
        if (
            m.group("task")
            and not _PRONOUN.match(m.group("task"))
            and m.group("task") not in ("the reminder", "reminder")
        ):
            arguments = turn.target(m.group("task"))
        elif turn.context.get("reminder_id"):
            arguments = {"reminder_id": turn.context["reminder_id"]}
        arguments["minutes"] = _minutes(m.group("n"), m.group("unit")) if m.group("n") else 10
        return _finish(turn, "snooze_reminder", arguments)
    if m := _DISMISS.match(text):
        arguments = {}
        if (
            m.group("task")
            and not _PRONOUN.match(m.group("task"))
            and m.group("task") not in ("the reminder", "reminder")
        ):
            arguments = turn.target(m.group("task"))
        elif turn.context.get("reminder_id"):
            arguments = {"reminder_id": turn.context["reminder_id"]}
        return _finish(turn, "dismiss_reminder", arguments)
    if m := _STOP.match(text):
        return _finish(turn, "stop_series", turn.target(m.group("task")))
    if m := _SKIP.match(text):
        words = re.sub(
            r"^(?:the\s+)?(?:this week'?s|next week'?s|this month'?s|next month'?s|today'?s|tomorrow'?s|"
            r"next|this)\s+",
            "",
            m.group("task"),
        )
        words = re.sub(r"\s+(?:today|tomorrow|this week|next week|this time|once)$", "", words)
        return _finish(turn, "skip_occurrence", turn.target(words))
    if m := _REOPEN.match(text):
        return _finish(turn, "reopen_task", turn.target(m.group("task")))
    if m := _PRIORITY.match(text):
        task_words = m.group("task") or m.group("task2")
        level = (m.group("p") or m.group("p2")).lower()
        level = {"urgent": "high", "important": "high", "normal": "medium"}.get(level, level)
        return _finish(turn, "update_task", {**turn.target(task_words), "priority": level})
    if m := _MOVE.match(text):
        return _finish(turn, "reschedule_task", {**turn.target(m.group("task")), "when": m.group("when")})
    if m := _TAG.match(text):
        task_words = m.group("task") or m.group("task2")
        tags = re.findall(r"#?([\w-]+)", m.group("tags") or m.group("tags2"))
        tags = [t for t in tags if t not in ("and",)]
        return _finish(turn, "update_task", {**turn.target(task_words), "add_tags": tags})
    if m := _COMPLETE.match(text):
        return _finish(turn, "complete_task", turn.target(m.group("task")))
    if m := _DELETE.match(text):
        return _finish(turn, "delete_task", turn.target(m.group("task")))
    if (
        _QUERY.match(text)
        or re.search(r"\b(?:due|overdue|my tasks|agenda|to-?do list)\b", text)
        and text.endswith(("today", "tomorrow", "week", "overdue", "tasks", "list", "agenda"))
    ):
        return _query(turn, text)
    if m := _DID.match(text):
        verb = m.group("verb")
        if verb not in ("am", "will", "want", "need", "have", "must", "should", "can"):
            words = f"{_present(verb)} {m.group('obj')}"
            arguments = turn.target(words)
            action_reply = _finish(turn, "complete_task", arguments)
            return action_reply
    if m := _ADD.match(text):
        start = len(original) - len(m.group("rest"))
        return _finish(turn, "create_task", {"text": original[start:].strip()})
    if _looks_like_a_task(turn, original):
        return _finish(turn, "create_task", {"text": original})
    return turn.done(
        "I'm not sure what to do with that. Try “add buy milk tomorrow”, “what's due today?”, "
        "“done with the report” or “help”."
    )


def reply(
    *, user: User, conversation: Conversation, text: str, now: datetime, call: Call | None = None
) -> EngineReply:
    """Answer one message with the local engine (no model); tool calls go through ``call``
    (by default ``services.tool_call`` for this conversation)."""
    if call is None:
        from assistant_app.services import local_tool_caller

        call = local_tool_caller(user=user, conversation=conversation, now=now)
    turn = _Turn(user=user, conversation=conversation, call=call, now=now)
    return _answer(turn, text)
