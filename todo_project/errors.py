"""The one error path: services raise ``DomainError``; one handler renders it.

Every error response has the same JSON shape::

    {"error": {"code": "validation_error",
               "message": "Invalid input.",
               "fields": {"priority": ["\\"urgent\\" is not a valid choice."]}}}

``fields`` is present only for field-level problems. Views never build error
JSON themselves.

Anything unhandled answers the same shape with a 500 and the request's id
(``{"error": {"code": "server_error", "message": …, "request_id": …}}``),
never Django's HTML page: ``unhandled_error_response`` is the one place that
turns an unexpected exception into a response, reached from a view through
``UnhandledErrorMiddleware.process_exception`` and from anywhere else
through ``server_error`` (the project's ``handler500``).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

import redis
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError as DjangoInterfaceError
from django.db import OperationalError as DjangoOperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)


class DomainError(Exception):
    """A business rule refused the request. Rendered as a 4xx."""

    status_code: int = status.HTTP_400_BAD_REQUEST
    code = "invalid"
    # Extra machine-readable context rendered as ``error.details`` (e.g. the
    # current task of a version conflict); absent when ``None``.
    details: dict[str, Any] | None = None
    # Response headers (e.g. Retry-After of a 429); none when ``None``.
    headers: dict[str, str] | None = None

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


def error_response(
    status_code: int, code: str, message: str, fields: dict[str, list[str]] | None = None
) -> JsonResponse:
    """The error shape outside DRF (middleware, ``handler500``)."""
    return JsonResponse(error_body(code, message, fields), status=status_code)


def unhandled_error_response(request: HttpRequest, exc: BaseException | None) -> JsonResponse:
    """The answer to an exception nothing else handled: 500, the JSON shape, the request id
    (or the 503 when a dependency is away: ``unavailable_response``).

    The exception is logged here with its traceback and the request id, so a
    client quoting the id leads to the log line.
    """
    from todo_project.events.context import current_context

    if exc is not None and (unavailable := unavailable_response(exc)) is not None:
        logger.warning("request failed: the %s is unavailable: %s", unavailable_dependency(exc), exc)
        return unavailable
    request_id = current_context().get("request_id", "")
    if exc is not None:
        logger.error(
            "unhandled %s on %s %s (request id %s)",
            type(exc).__name__,
            request.method,
            request.path,
            request_id,
            exc_info=exc,
        )
    body = error_body("server_error", "Internal server error.")
    body["error"]["request_id"] = request_id
    return JsonResponse(body, status=500)


def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``: failures outside a view (Django logged the exception already).

    Django calls it while handling the exception, so a dependency that is away
    (PostgreSQL down under a middleware's query) still answers the 503.
    """
    exc = sys.exc_info()[1]
    if exc is not None and (unavailable := unavailable_response(exc)) is not None:
        return unavailable
    return unhandled_error_response(request, None)


class UnhandledErrorMiddleware:
    """Turns an exception a view (DRF's included) raised and nothing handled into the JSON 500.

    Runs inside RequestContextMiddleware, so the request id is known and the
    response still gets its X-Request-ID header. Works with DEBUG on too.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, Http404 | DjangoPermissionDenied):
            return None  # Django's own 404/403 handling
        return unhandled_error_response(request, exception)


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
        return Response(body, status=exc.status_code, headers=exc.headers)
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
        message: object = exc.detail
        # simplejwt's InvalidToken carries {"detail", "code", "messages"}; its
        # str() would be a Python repr, so take the human sentence.
        if isinstance(message, dict):
            message = message.get("detail", exc.default_detail)
        response.data = error_body(str(code), str(message))
    return response


# --- the error shape in the OpenAPI schema -------------------------------------


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    # The shape's key is ``fields``, which shadows Serializer.fields for the type checker only.
    fields = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()), required=False
    )
    details = serializers.DictField(
        required=False,
        help_text="For version_conflict: winner, current_version and the current task.",
    )


class ErrorSerializer(serializers.Serializer):
    """The API's one error shape, for the OpenAPI schema (rendered by ``exception_handler``)."""

    error = ErrorDetailSerializer()
