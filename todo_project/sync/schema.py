"""OpenAPI: document the ``Idempotency-Key`` header on every mutating operation.

The header is handled by a middleware (todo_project/sync/middleware.py), which
drf-spectacular cannot see, so a postprocessing hook adds it to the schema.
"""

from __future__ import annotations

from typing import Any

from todo_project.sync.middleware import HEADER

_MUTATING = {"post", "put", "patch", "delete"}

IDEMPOTENCY_PARAMETER = {
    "name": HEADER,
    "in": "header",
    "required": False,
    "schema": {"type": "string", "format": "uuid"},
    "description": (
        "A client-generated UUID. A retry with the same key is applied once and answers the "
        "first response (header Idempotent-Replayed: true); the same key with a different "
        "request is a 422. Keys are kept at least 24 hours. See docs/realtime.md."
    ),
}


def add_idempotency_key_header(result: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
    for path, operations in result.get("paths", {}).items():
        if not path.startswith("/api/"):
            continue
        for method, operation in operations.items():
            if method in _MUTATING:
                parameters = operation.setdefault("parameters", [])
                if not any(p.get("name") == HEADER and p.get("in") == "header" for p in parameters):
                    parameters.append(dict(IDEMPOTENCY_PARAMETER))
    return result
