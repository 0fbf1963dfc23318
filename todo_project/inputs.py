"""Input that PostgreSQL or Python cannot take, refused at the door with a 400.

* A NUL character: PostgreSQL text (and jsonb) cannot store one, and psycopg
  raises on a query parameter holding one, so ``?q=a%00b`` used to be a 500.
  Refused in any query parameter (name or value) and anywhere in a JSON body.
* JSON nested deeper than ``MAX_JSON_DEPTH``: 100,000 ``[`` made Python's
  parser hit its recursion limit (a RecursionError, so a 500).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.parsers import JSONParser as DRFJSONParser

NUL = "\x00"
# Deeper than any request body of this API (a saved filter is two levels).
MAX_JSON_DEPTH = 32


class RejectNulQueryMiddleware:
    """A NUL byte in a query parameter is a 400 naming the parameter."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "%00" in request.META.get("QUERY_STRING", ""):
            # Imported here: todo_project.errors imports DRF's views, which
            # load this module as the default parser.
            from todo_project.errors import error_response

            for name, values in request.GET.lists():
                if NUL in name or any(NUL in value for value in values):
                    field = name.replace(NUL, "") or "query"
                    return error_response(
                        400,
                        "validation_error",
                        "Invalid input.",
                        {field: ["A NUL character (%00) is not allowed."]},
                    )
        return self.get_response(request)


def _check(data: Any) -> None:
    """Refuse NUL characters in keys or strings and nesting beyond MAX_JSON_DEPTH (iteratively)."""
    stack: list[tuple[Any, int, str]] = [(data, 1, "")]
    while stack:
        value, depth, where = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise ParseError(f"JSON is nested deeper than {MAX_JSON_DEPTH} levels.")
        if isinstance(value, str):
            if NUL in value:
                raise ValidationError(
                    {where or "non_field_errors": ["A NUL character (\\u0000) is not allowed."]}
                )
        elif isinstance(value, dict):
            for key, item in value.items():
                path = f"{where}.{key}" if where else str(key)
                if NUL in key:
                    raise ValidationError(
                        {"non_field_errors": ["A NUL character (\\u0000) is not allowed in a key."]}
                    )
                stack.append((item, depth + 1, path))
        elif isinstance(value, list):
            stack.extend(
                (item, depth + 1, f"{where}.{index}" if where else str(index))
                for index, item in enumerate(value)
            )


class JSONParser(DRFJSONParser):
    """DRF's JSON parser, plus: too deep is a 400, and so is a NUL character."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = stream.read().decode(encoding) if stream is not None else ""
        except UnicodeDecodeError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        try:
            data = json.loads(text, parse_constant=self._refuse_constant) if text else None
        except RecursionError:
            # Python's parser recurses once per [ or {; past its limit it
            # gives up (cheaply). Shallower bodies are measured in _check.
            raise ParseError(f"JSON is nested deeper than {MAX_JSON_DEPTH} levels.") from None
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        _check(data)
        return data

    @staticmethod
    def _refuse_constant(name: str) -> Any:
        # NaN and Infinity are not JSON (DRF refuses them the same way).
        raise ValueError(f"{name} is not valid JSON")
