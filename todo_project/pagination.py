"""``page``/``limit`` pagination answering ``count``/``next``/``previous``/``results``."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from todo_project.errors import DomainError

MAX_LIMIT = 100
# Past any real list, and small enough that (page - 1) * limit stays far
# inside PostgreSQL's bigint OFFSET (a 30-digit page was a 500).
MAX_PAGE = 1_000_000
_DIGITS = re.compile(r"[0-9]{1,18}")


def positive_int_param(request: Request, name: str, default: int, maximum: int | None = None) -> int:
    """A positive integer query parameter, plain ASCII digits (``page=``, ``limit=²``,
    ``limit=1_0`` are 400s; Python's int() would take the last two)."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not _DIGITS.fullmatch(raw):
        raise DomainError(f"{name} must be a whole number written in digits, got {raw!r}.", field=name)
    value = int(raw)
    if value < 1:
        raise DomainError(f"{name} must be at least 1.", field=name)
    if maximum is not None and value > maximum:
        raise DomainError(f"{name} must be at most {maximum}.", field=name)
    return value


class PagePagination(BasePagination):
    """Two queries per page whatever its size: one COUNT, one slice.

    A page past the end answers an empty ``results`` list rather than 404, so a
    client deleting the last items of the last page does not see an error.
    """

    default_limit = 20

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> list:
        self.request = request
        self.page = positive_int_param(request, "page", 1, MAX_PAGE)
        self.limit = positive_int_param(request, "limit", self.default_limit, MAX_LIMIT)
        self.count = queryset.count()
        start = (self.page - 1) * self.limit
        return list(queryset[start : start + self.limit])

    def _link(self, page: int) -> str | None:
        url = self.request.build_absolute_uri()
        if page < 1 or (page - 1) * self.limit >= self.count:
            return None
        if page == 1:
            return remove_query_param(url, "page")
        return replace_query_param(url, "page", page)

    def get_paginated_response(self, data: Any) -> Response:
        return Response(
            {
                "count": self.count,
                "next": self._link(self.page + 1),
                "previous": self._link(self.page - 1) if self.page > 1 else None,
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema: dict) -> dict:
        return {
            "type": "object",
            "required": ["count", "results"],
            "properties": {
                "count": {"type": "integer", "example": 123},
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict]:
        return [
            {"name": "page", "required": False, "in": "query", "schema": {"type": "integer", "minimum": 1}},
            {
                "name": "limit",
                "required": False,
                "in": "query",
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 20},
            },
        ]


def paginated_response(
    request: Request, view: Any, rows: Any, render: Callable[[list[Any]], Any]
) -> Response:
    """One page of ``rows`` (a queryset) as ``count``/``next``/``previous``/``results``,
    each row of the page shaped by ``render`` (a serializer's ``many=True`` data, a to_dict)."""
    paginator = PagePagination()
    page = paginator.paginate_queryset(rows, request, view)
    return paginator.get_paginated_response(render(page))
