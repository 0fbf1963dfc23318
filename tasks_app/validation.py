"""Validation of task and saved-filter input, shared by the services, the
serializers and the admin.

Pure checks: no query and no write here (the placement checks that need the
caller's projects live with the writes in ``services.py``). Every failure is a
``DomainError`` naming the field, so callers that bypass the serializers
(handlers, admin, shell) get the same 400 as the API.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from django.utils import timezone

from tasks_app.models import (
    MAX_DESCRIPTION_LENGTH,
    MAX_TAG_LENGTH,
    MAX_TAGS,
    MAX_TITLE_LENGTH,
    Priority,
)
from tasks_app.recurrence.rules import MAX_RULE_LENGTH
from tasks_app.selectors import LIST_PARAMS, parse_task_list_params
from todo_project.errors import DomainError

# The fields a client may write; everything else in the representation is
# maintained here (id, completed_at, position, version, timestamps).
WRITABLE_FIELDS: tuple[str, ...] = (
    "title",
    "description",
    "is_completed",
    "due_date",
    "due_at",
    "remind_at",
    "remind_offset_minutes",
    "is_recurring",
    "recurrence_rule",
    "priority",
    "tags",
)
# What PUT resets an omitted field to (title has no default: it is required).
FIELD_DEFAULTS: dict[str, Any] = {
    "description": "",
    "is_completed": False,
    "due_date": None,
    "due_at": None,
    "remind_at": None,
    "remind_offset_minutes": None,
    "is_recurring": False,
    "recurrence_rule": "",
    "priority": Priority.MEDIUM.value,
    "tags": [],
}
MAX_REMIND_OFFSET = 60 * 24 * 28  # four weeks before
# A client clock this far ahead of ours is wrong, not "later": it would win
# every last-write-wins comparison for as long as it stays ahead.
CLIENT_CLOCK_TOLERANCE = timedelta(minutes=5)


def normalize_title(value: str) -> str:
    title = (value or "").strip()
    if not title:
        raise DomainError("Title is required.", field="title")
    if len(title) > MAX_TITLE_LENGTH:
        raise DomainError(f"Title must be at most {MAX_TITLE_LENGTH} characters.", field="title")
    return title


def normalize_tags(values: Sequence[Any]) -> tuple[list[str], list[str]]:
    """Trimmed tags, unique case-insensitively (first casing kept), and their keys."""
    tags: list[str] = []
    keys: list[str] = []
    for index, value in enumerate(values):
        if not isinstance(value, str):
            raise DomainError(f"Tag {index + 1} must be a string.", field="tags")
        tag = value.strip()
        if not tag:
            raise DomainError(f"Tag {index + 1} is empty.", field="tags")
        if len(tag) > MAX_TAG_LENGTH:
            raise DomainError(f"Tag {tag[:20]!r}… is longer than {MAX_TAG_LENGTH} characters.", field="tags")
        key = tag.lower()
        if key not in keys:
            tags.append(tag)
            keys.append(key)
    if len(tags) > MAX_TAGS:
        raise DomainError(f"A task can have at most {MAX_TAGS} tags, got {len(tags)}.", field="tags")
    return tags, keys


def validate_recurrence_rule(value: str) -> str:
    """Normalise an RFC 5545 rule text: one RRULE (``FREQ=…``; an ``RRULE:``
    prefix is accepted) or a rule set of RRULE/RDATE/EXDATE lines.

    Only the shape is checked here; what the rule means (too frequent, no
    occurrence, UNTIL before the start, …) is checked by the recurrence engine
    against the task's start and zone when the task is written.
    """
    rule = "\n".join(line.strip() for line in (value or "").strip().splitlines() if line.strip())
    if len(rule) > MAX_RULE_LENGTH:
        raise DomainError(
            f"recurrence_rule must be at most {MAX_RULE_LENGTH} characters.", field="recurrence_rule"
        )
    if rule.upper().startswith("RRULE:") and "\n" not in rule:
        rule = rule[6:].strip()
    return rule


def check_client_time(client_updated_at: datetime | None) -> None:
    if client_updated_at is not None and client_updated_at > timezone.now() + CLIENT_CLOCK_TOLERANCE:
        raise DomainError(
            "client_updated_at is in the future; check the device clock.", field="client_updated_at"
        )


def check_field_types(values: Mapping[str, Any]) -> None:
    """Guards for callers that bypass the serializers (handlers, admin, shell)."""
    if "description" in values and len(values["description"] or "") > MAX_DESCRIPTION_LENGTH:
        raise DomainError(
            f"Description must be at most {MAX_DESCRIPTION_LENGTH} characters.", field="description"
        )
    if "priority" in values and values["priority"] not in Priority.values:
        raise DomainError(
            f"priority must be one of {', '.join(Priority.values)}; got {values['priority']!r}.",
            field="priority",
        )
    if "due_date" in values and isinstance(values["due_date"], datetime):
        raise DomainError("due_date is a date without a time; use due_at for a time.", field="due_date")
    for name in ("due_at", "remind_at"):
        value = values.get(name)
        if value is not None and (not isinstance(value, datetime) or timezone.is_naive(value)):
            raise DomainError(f"{name} must be an aware datetime.", field=name)
    if "due_date" in values and values["due_date"] is not None and not isinstance(values["due_date"], date):
        raise DomainError("due_date must be a date.", field="due_date")


def relative_remind_at(
    due_at: datetime | None, offset: int | None, remind_at: datetime | None
) -> datetime | None:
    """remind_at for a relative reminder (``offset`` minutes before ``due_at``).

    With an offset, remind_at is derived (a remind_at sent alongside is ignored:
    a client PUTting back what it read sends both). No due time → no reminder
    time, the offset waits for one.
    """
    if offset is None:
        return remind_at
    if not isinstance(offset, int) or isinstance(offset, bool) or not 0 <= offset <= MAX_REMIND_OFFSET:
        raise DomainError(
            f"remind_offset_minutes must be an integer from 0 to {MAX_REMIND_OFFSET}.",
            field="remind_offset_minutes",
        )
    return None if due_at is None else due_at - timedelta(minutes=offset)


def resolve_recurrence(
    current_recurring: bool, current_rule: str, values: dict[str, Any]
) -> tuple[bool, str]:
    """``is_recurring`` is true exactly when there is a rule.

    When a request sends only one of the pair the other follows: a rule makes
    the task recurring, ``is_recurring: false`` clears the rule, an empty rule
    ends the recurrence. ``is_recurring: true`` needs a rule (sent or stored).
    """
    sent_flag = "is_recurring" in values
    sent_rule = "recurrence_rule" in values
    rule = validate_recurrence_rule(values["recurrence_rule"] or "") if sent_rule else current_rule
    if sent_flag:
        flag = bool(values["is_recurring"])
        if not flag and not sent_rule:
            rule = ""
    else:
        flag = bool(rule) if sent_rule else current_recurring
    if flag and not rule:
        raise DomainError("A recurring task needs a recurrence_rule.", field="recurrence_rule")
    if rule and not flag:
        raise DomainError("recurrence_rule is set but is_recurring is false.", field="is_recurring")
    return flag, rule


# --- placement: projects, sections, subtasks (docs/projects.md) ----------------------

PLACEMENT_FIELDS: tuple[str, ...] = ("project_id", "section_id", "parent_id")


class Placement(NamedTuple):
    project_id: uuid.UUID | None
    section_id: uuid.UUID | None
    parent_id: uuid.UUID | None


def uuid_or_none(value: Any, field: str) -> uuid.UUID | None:
    if value is None:
        return None
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        raise DomainError(f"{field} must be a UUID or null.", field=field) from None


# --- saved filters -------------------------------------------------------------------

MAX_FILTER_NAME_LENGTH = 100


def normalize_filter_params(params: Any) -> dict[str, str]:
    """Saved-filter parameters as query-string values, validated like the list endpoint.

    Accepts strings, booleans (``is_recurring``) and lists of strings
    (``priority``, ``tags``). Unknown keys, ``page`` and ``limit`` are refused:
    a preset selects and orders tasks, the caller pages.
    """
    if not isinstance(params, Mapping):
        raise DomainError("params must be an object of list parameters.", field="params")
    out: dict[str, str] = {}
    for key, value in params.items():
        if key not in LIST_PARAMS:
            raise DomainError(
                f"Unknown list parameter {key!r}; allowed: {', '.join(LIST_PARAMS)}.", field=f"params.{key}"
            )
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, list) and all(isinstance(item, str) for item in value):
            text = ",".join(item.strip() for item in value)
        elif isinstance(value, str):
            text = value.strip()
        else:
            raise DomainError(f"params.{key} must be a string.", field=f"params.{key}")
        if text:
            out[key] = text
    try:
        parse_task_list_params(out)
    except DomainError as exc:
        raise DomainError(exc.message, field=f"params.{exc.field}") from None
    return out


def normalize_filter_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise DomainError("Name is required.", field="name")
    clean = name.strip()
    if len(clean) > MAX_FILTER_NAME_LENGTH:
        raise DomainError(f"Name must be at most {MAX_FILTER_NAME_LENGTH} characters.", field="name")
    return clean
