"""Every event type has a versioned JSON Schema; events are validated against it."""

from __future__ import annotations

import json
import re
import uuid

import pytest
from jsonschema import Draft202012Validator

from todo_project.events.validation import SCHEMA_DIR, UnknownEventType, schema_types, validate_event

CONTRACT_TYPES = {
    "task.created",
    "task.updated",
    "task.completed",
    "task.deleted",
    "task.reordered",
    "user.registered",
    "user.login",
    "user.logout",
    "user.login_failed",
}


def _snapshot(task_id: str) -> dict:
    return {
        "id": task_id,
        "title": "Review report",
        "description": "",
        "is_completed": True,
        "completed_at": "2026-02-15T16:45:00Z",
        "due_date": "2026-02-15",
        "due_at": None,
        "remind_at": None,
        "is_recurring": False,
        "recurrence_rule": None,
        "priority": "high",
        "tags": ["work"],
        "position": 0,
        "version": 3,
        "created_at": "2026-02-03T10:30:00Z",
        "updated_at": "2026-02-15T16:45:00.123456+00:00",
        "added_later_by_the_api": {"ok": True},
    }


def test_every_contract_type_has_a_valid_versioned_schema():
    assert CONTRACT_TYPES <= set(schema_types())
    for path in SCHEMA_DIR.glob("*.json"):
        schema = json.loads(path.read_text())
        Draft202012Validator.check_schema(schema)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert re.fullmatch(
            rf"https://taskbeat\.dev/schemas/{re.escape(path.stem)}/[1-9][0-9]*", schema["$id"]
        )


def _completed(completed_at: str) -> dict:
    """The data of a task.completed event."""
    task_id = str(uuid.uuid4())
    return {
        "task_id": task_id,
        "user_id": 7,
        "completed_at": completed_at,
        "is_recurring": False,
        "recurrence_rule": None,
        "version": 3,
        "task": _snapshot(task_id),
    }


def test_it_accepts_a_task_completed_event_shaped_as_the_contract():
    validate_event({"type": "task.completed", "data": _completed("2026-02-15T16:45:00Z")})


def test_it_names_every_field_that_breaks_the_schema():
    task_id = str(uuid.uuid4())
    data = {
        "task_id": "not-a-uuid",
        "user_id": "7",
        "changes": {"priority": {"old": "low"}},
        "updated_at": "yesterday",
        "version": 2,
        "task": _snapshot(task_id),
    }
    with pytest.raises(ValueError, match="does not match its schema") as raised:
        validate_event({"type": "task.updated", "id": "e1", "data": data})
    message = str(raised.value)
    for fragment in ("task_id", "user_id", "changes/priority: 'new' is a required property", "updated_at"):
        assert fragment in message


def test_it_rejects_a_datetime_without_an_offset():
    with pytest.raises(ValueError, match="completed_at: '2026-02-15T16:45:00' is not a 'date-time'"):
        validate_event({"type": "task.completed", "data": _completed("2026-02-15T16:45:00")})


def test_it_refuses_a_type_without_a_schema():
    with pytest.raises(UnknownEventType, match="task.exploded"):
        validate_event({"type": "task.exploded", "data": {}})
