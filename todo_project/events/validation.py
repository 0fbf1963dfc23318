"""JSON Schema validation of event data: one versioned schema file per type.

The schema files live in ``schemas/<type>.json`` (draft 2020-12, the version
in ``$id``). Tests validate every event the suite emits against them (see the
root ``conftest.py``); producers may call ``validate_event`` too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from todo_project.events.models import OutboxEvent

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"

# RFC 3339 date-time with a mandatory offset; jsonschema only checks
# "date-time" when the optional rfc3339-validator package is installed, so we
# register our own checker instead of adding a dependency.
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
_format_checker = FormatChecker()


@_format_checker.checks("date-time", raises=ValueError)
def _is_datetime(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not _RFC3339.match(value):
        return False
    datetime.fromisoformat(value.replace("z", "Z"))
    return True


class UnknownEventType(Exception):
    """An event type without a schema file."""


def schema_types() -> list[str]:
    return sorted(path.name.removesuffix(".json") for path in SCHEMA_DIR.glob("*.json"))


@cache
def _validator(event_type: str) -> Draft202012Validator:
    path = SCHEMA_DIR / f"{event_type}.json"
    if not path.is_file():
        raise UnknownEventType(f"no schema for event type {event_type!r} (expected {path})")
    schema = json.loads(path.read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=_format_checker)


def schema_for(event_type: str) -> dict[str, Any]:
    schema = _validator(event_type).schema
    assert isinstance(schema, Mapping)  # a boolean schema is never stored as a file
    return dict(schema)


def event_errors(event_type: str, data: Any) -> list[str]:
    """Every schema violation of ``data`` as ``path: message`` strings."""
    validator = _validator(event_type)
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or '(root)'}: {error.message}"
        for error in sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    ]


def validate_event(event: OutboxEvent | Mapping[str, Any]) -> None:
    """Raise ``ValueError`` naming every problem when the event's data breaks its schema.

    Accepts an ``OutboxEvent`` or a CloudEvents envelope dict (``type`` and
    ``data``). Raises ``UnknownEventType`` for a type without a schema.
    """
    if isinstance(event, OutboxEvent):
        event_type, data, label = event.type, event.data, f"{event.type} {event.id}"
    else:
        event_type, data = str(event["type"]), event.get("data")
        label = f"{event_type} {event.get('id', '')}".strip()
    errors = event_errors(event_type, data)
    if errors:
        raise ValueError(f"event {label} does not match its schema: " + "; ".join(errors))
