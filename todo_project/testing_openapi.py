"""Check API responses against the served OpenAPI schema (``/api/schema/``).

Used by the root ``conftest.py``: every response a test receives from the test
client is validated against the schema of its path, method and status, the
way every outbox row is validated against its event schema. So the
documented serializers and what the views really return (``task_to_dict`` and
friends) cannot drift apart.

Strict for what the schema documents: a path, method and status it lists must
match it. Paths it does not list (admin, health, metrics) and statuses an
operation does not document are not checked, so a new endpoint is checked as
soon as it is documented.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator


@cache
def _document() -> dict[str, Any]:
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def _jsonable_schema(node: Any) -> Any:
    """OpenAPI 3.0 schema objects → JSON Schema: ``nullable`` becomes a null alternative.

    ``oneOf`` is read as ``anyOf``: drf-spectacular writes a blank-or-URL field
    as ``oneOf`` of a ``uri`` string and an empty string, and without format
    checks ``""`` matches both.
    """
    if isinstance(node, list):
        return [_jsonable_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {
        ("anyOf" if key == "oneOf" else key): _jsonable_schema(value)
        for key, value in node.items()
        if key != "nullable"
    }
    if node.get("nullable"):
        if "enum" in converted:
            converted["enum"] = [*converted["enum"], None]
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


@cache
def _components() -> dict[str, Any]:
    return _jsonable_schema(_document().get("components", {}))


@cache
def _routes() -> list[tuple[re.Pattern[str], dict[str, Any]]]:
    routes = []
    for template, operations in _document()["paths"].items():
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
        routes.append((re.compile(f"^{pattern}$"), operations))
    # Literal segments win over parameters (/api/tasks/parse before /api/tasks/{id}).
    routes.sort(key=lambda route: route[0].pattern.count("[^/]+"))
    return routes


@cache
def _validator(path_pattern: str, method: str, status: str) -> Draft202012Validator | None:
    for pattern, operations in _routes():
        if pattern.pattern != path_pattern:
            continue
        responses = operations.get(method, {}).get("responses", {})
        response = responses.get(status) or responses.get(f"{status[0]}XX")
        if response is None:
            return None
        content = (response.get("content") or {}).get("application/json")
        if content is None or "schema" not in content:
            return None
        schema = {**_jsonable_schema(content["schema"]), "components": _components()}
        return Draft202012Validator(schema)
    return None


def response_errors(*, path: str, method: str, status: int, content_type: str, body: Any) -> list[str] | None:
    """Schema violations of one response (``[]`` = valid); ``None`` when the schema does not document it."""
    if not content_type.startswith("application/json"):
        return None
    for pattern, operations in _routes():
        if pattern.match(path):
            if method not in operations:
                return None
            validator = _validator(pattern.pattern, method, str(status))
            if validator is None:
                return None
            return [
                f"{'/'.join(str(p) for p in error.absolute_path) or '(root)'}: {error.message}"
                for error in validator.iter_errors(body)
            ]
    return None
