"""OpenAPI postprocessing: the answers every operation can give, and parameter constraints.

Some answers come from layers drf-spectacular cannot see — the error handler
(400 for any bad input, 500/503), authentication and throttling (401, 403,
429), the Idempotency-Key middleware (409 while the first request with a key
is still running, 422 when a key is reused for a different request) — so
this hook documents them on every ``/api/`` operation, all in the one error
shape (``ErrorResponse``). It also states the constraints the pagination
helpers enforce on ``page`` and ``limit`` wherever a view declares them.
"""

from __future__ import annotations

from typing import Any

from todo_project.pagination import MAX_LIMIT, MAX_PAGE

# tasks_app.recurrence.rules.MAX_PREVIEW (the platform may not import an app).
MAX_PREVIEW = 50

ERROR_COMPONENT = "ErrorResponse"
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "The API's one error shape (docs/security.md).",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "example": "validation_error"},
                "message": {"type": "string"},
                "fields": {
                    "type": "object",
                    "description": "Per-field problems (field-level errors only).",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                },
                "details": {
                    "type": "object",
                    "description": "Extra context, e.g. the current row of a conflict.",
                },
                "request_id": {
                    "type": "string",
                    "description": "On a 500: quote it when reporting the error.",
                },
            },
        }
    },
}

_EVERY_OPERATION = {
    "400": "Bad input: the fields or parameters named in error.fields.",
    "401": "Not authenticated, or the token expired.",
    "403": "Not allowed (e.g. a CSRF failure on a cookie session).",
    "404": "Not found, or not yours.",
    "429": "Throttled; Retry-After says when to try again.",
    "500": "An unexpected error; error.request_id identifies it in the logs.",
    "503": "A dependency (PostgreSQL, Redis) is unavailable; retry after Retry-After seconds.",
}
_MUTATING = {
    "409": "A conflict: a stale version, a duplicate, or a request with this Idempotency-Key still running.",
    "422": "This Idempotency-Key was already used for a different request.",
}
_MUTATING_METHODS = {"post", "put", "patch", "delete"}


def add_error_responses(result: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components.setdefault(ERROR_COMPONENT, ERROR_SCHEMA)
    ref = {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}
    for path, operations in result.get("paths", {}).items():
        if not path.startswith("/api/"):
            continue
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            answers = dict(_EVERY_OPERATION)
            if method in _MUTATING_METHODS:
                answers.update(_MUTATING)
            responses = operation["responses"]
            for code, description in answers.items():
                responses.setdefault(
                    code, {"description": description, "content": {"application/json": {"schema": ref}}}
                )
            for parameter in operation.get("parameters", []):
                _constrain(parameter)
    _times_as_written(result)
    return result


# DRF writes a time as "22:00:00"; JSON Schema's "time" format is RFC 3339's
# full-time, which needs an offset ("22:00:00Z"), so the format is replaced
# by what the API really reads and writes.
_TIME = {
    "type": "string",
    "pattern": r"^\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?$",
    "example": "22:00:00",
}


def _times_as_written(node: Any) -> None:
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if item.get("format") == "time" and item.get("type") == "string":
                del item["format"]
                item.update(_TIME)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _constrain(parameter: dict[str, Any]) -> None:
    """``page``, ``limit`` and ``count`` are bounded positive integers wherever they appear
    (todo_project/pagination.py); a view that allows other bounds declares them itself."""
    if parameter.get("in") != "query":
        return
    schema = parameter.setdefault("schema", {})
    if parameter.get("name") == "page":
        schema.update({"type": "integer", "minimum": 1, "maximum": MAX_PAGE})
    elif parameter.get("name") in ("limit", "count") and schema.get("type") == "integer":
        schema.setdefault("minimum", 1)
        schema.setdefault("maximum", MAX_PREVIEW if parameter["name"] == "count" else MAX_LIMIT)
