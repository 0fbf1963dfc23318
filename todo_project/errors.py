"""The one error path: services raise ``DomainError``; one handler renders it.

Every error response has the same JSON shape::

    {"error": {"code": "validation_error",
               "message": "Invalid input.",
               "fields": {"priority": ["\\"urgent\\" is not a valid choice."]}}}

``fields`` is present only for field-level problems. Views never build error
JSON themselves.
"""

from __future__ import annotations

import logging
from typing import Any

import redis
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError as DjangoInterfaceError
from django.db import OperationalError as DjangoOperationalError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)


class DomainError(Exception):
    """A business rule refused the request. Rendered as a 4xx."""

    status_code = status.HTTP_400_BAD_REQUEST
    code = "invalid"
    # Extra machine-readable context rendered as ``error.details`` (e.g. the
    # current task of a version conflict); absent when ``None``.
    details: dict[str, Any] | None = None

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        code: str | None = None,
        status_code: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code
        if status_code:
            self.status_code = status_code

    def fields(self) -> dict[str, list[str]] | None:
        return {self.field: [self.message]} if self.field else None


class NotFoundError(DomainError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "not_found"


class ConflictError(DomainError):
    status_code = status.HTTP_409_CONFLICT
    code = "conflict"


def _flatten(detail: Any) -> dict[str, list[str]]:
    """DRF nests errors for lists and nested serializers; flatten to dotted keys."""
    out: dict[str, list[str]] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, sub in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), sub)
        elif isinstance(value, list) and value and not all(isinstance(v, str) for v in value):
            for index, sub in enumerate(value):
                if sub:
                    walk(f"{prefix}.{index}" if prefix else str(index), sub)
        elif isinstance(value, list):
            out.setdefault(prefix or "non_field_errors", []).extend(str(v) for v in value)
        else:
            out.setdefault(prefix or "non_field_errors", []).append(str(value))

    walk("", detail)
    return out


def error_body(code: str, message: str, fields: dict[str, list[str]] | None = None) -> dict:
    body: dict[str, Any] = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    return {"error": body}


# A dependency that is away (PostgreSQL down or restarting, its pool out of
# connections for DATABASE_POOL_TIMEOUT, Redis unreachable where it is needed):
# the client should retry, so 503 with Retry-After instead of a 500.
RETRY_AFTER_SECONDS = 2
_UNAVAILABLE: tuple[tuple[type[BaseException], str], ...] = (
    (DjangoOperationalError, "database"),
    (DjangoInterfaceError, "database"),
    (redis.ConnectionError, "redis"),
    (redis.TimeoutError, "redis"),
)


def unavailable_dependency(exc: BaseException) -> str | None:
    """``"database"``/``"redis"`` when ``exc`` means that dependency is away, else None."""
    for exc_type, name in _UNAVAILABLE:
        if isinstance(exc, exc_type):
            return name
    return None


def unavailable_body(dependency: str) -> dict:
    return error_body(
        "service_unavailable", f"The {dependency} is unavailable; retry in {RETRY_AFTER_SECONDS} s."
    )


def unavailable_response(exc: BaseException) -> JsonResponse | None:
    """The 503 for a request that failed on an unavailable dependency (outside DRF views)."""
    dependency = unavailable_dependency(exc)
    if dependency is None:
        return None
    response = JsonResponse(unavailable_body(dependency), status=status.HTTP_503_SERVICE_UNAVAILABLE)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def exception_handler(exc: Exception, context: dict) -> Response | None:
    dependency = unavailable_dependency(exc)
    if dependency is not None:
        logger.warning("request failed: the %s is unavailable: %s", dependency, exc)
        return Response(
            unavailable_body(dependency),
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    if isinstance(exc, DomainError):
        body = error_body(exc.code, exc.message, exc.fields())
        if exc.details is not None:
            body["error"]["details"] = exc.details
        return Response(body, status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(detail)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    assert isinstance(exc, exceptions.APIException)
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        response.data = error_body("validation_error", "Invalid input.", fields)
    elif isinstance(exc, exceptions.ParseError):
        response.data = error_body("parse_error", str(exc.detail))
    else:
        code = exc.get_codes() if isinstance(exc.get_codes(), str) else exc.default_code
        detail = exc.detail
        # simplejwt's InvalidToken carries {"detail", "code", "messages"}; its
        # str() would be a Python repr, so take the human sentence.
        if isinstance(detail, dict):
            detail = detail.get("detail", exc.default_detail)
        response.data = error_body(str(code), str(detail))
    return response
