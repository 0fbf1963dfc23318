"""``Idempotency-Key`` on mutating API calls: apply once, replay the first answer.

Why a Django middleware and not a DRF hook: it has to wrap the whole view
(the service's transaction and the rendered response) for every mutating
endpoint of every app, without each view opting in. Django middleware runs
before DRF authenticates, so the user is taken from the request's
credentials with the API's own header authenticators (``REST_FRAMEWORK``'s
``DEFAULT_AUTHENTICATION_CLASSES``: personal access tokens, JWTs), or from the
session. When DRF authenticates the request again in the view, the JWT class
answers the result it stored on the request (no second signature check or
user-row read; see todo_project/accounts/authentication.py); a personal
access token is looked up again. The classes are taken from the settings, not
imported, so this module names no app above it.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import cast

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import Resolver404, resolve
from rest_framework.authentication import BaseAuthentication, SessionAuthentication
from rest_framework.exceptions import APIException
from rest_framework.settings import api_settings

from todo_project.errors import error_body, unavailable_response
from todo_project.sync import services
from todo_project.sync.models import IdempotencyKey

logger = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
MUTATING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Response headers worth replaying; the rest (Date, X-Request-ID) belong to the retry.
REPLAYED_HEADERS = ("Content-Type", "Location", "ETag")


def _user_id(request: HttpRequest) -> int | None:
    # The stubs type the setting as the dotted paths it is written as; DRF imports them.
    classes = cast("list[type[BaseAuthentication]]", api_settings.DEFAULT_AUTHENTICATION_CLASSES)
    for authentication_class in classes:
        if issubclass(authentication_class, SessionAuthentication):
            continue  # needs DRF's request (CSRF); Django's request.user below covers it
        try:
            # They read only the Authorization header and the method, which a
            # plain HttpRequest has.
            result = authentication_class().authenticate(request)  # type: ignore[arg-type]
        except APIException:
            # A bad or revoked token, or a read-only token on a write: the view
            # answers 401/403 itself; nothing is claimed.
            return None
        if result is not None:
            return int(result[0].pk)
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return int(user.pk)
    return None


def _view_allows(request: HttpRequest) -> bool:
    """Whether the URL resolves to a view that implements the request's method."""
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return False
    view_class = getattr(match.func, "view_class", None) or getattr(match.func, "cls", None)
    if view_class is None:
        return True  # a function view: it decides
    return hasattr(view_class, (request.method or "").lower())


def _error(status: int, code: str, message: str, fields: dict[str, list[str]] | None = None) -> JsonResponse:
    return JsonResponse(error_body(code, message, fields), status=status)


_NOT_APPLIED = frozenset({401, 403, 429})


class IdempotencyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            return self._handle(request)
        except Exception as exc:
            # PostgreSQL away while claiming or releasing the key: answer the
            # API's 503 (nothing was applied) instead of Django's HTML 500.
            response = unavailable_response(exc)
            if response is None:
                raise
            logger.warning("idempotent request failed: %s", exc)
            return response

    def _handle(self, request: HttpRequest) -> HttpResponse:
        raw_key = request.headers.get(HEADER)
        if raw_key is None or request.method not in MUTATING_METHODS or not request.path.startswith("/api/"):
            return self.get_response(request)
        if not _view_allows(request):
            # The view answers 405 (or the URL 404): nothing to deduplicate,
            # and the key stays free for the request it is meant for.
            return self.get_response(request)
        try:
            key = uuid.UUID(raw_key.strip())
        except ValueError:
            return _error(
                400,
                "validation_error",
                "Invalid input.",
                {HEADER: [f"must be a UUID, got {raw_key[:100]!r}."]},
            )
        user_id = _user_id(request)
        if user_id is None:
            # Anonymous calls (register, login) are not deduplicated: replaying a
            # stored answer to whoever presents a key could hand out tokens.
            return self.get_response(request)

        fingerprint = services.request_fingerprint(
            method=request.method or "", path=request.get_full_path(), body=request.body
        )
        claim = services.idempotency_key_claim(user_id=user_id, key=key, fingerprint=fingerprint)
        if not claim.claimed:
            return self._answer_existing(claim.existing, fingerprint)

        try:
            response = self.get_response(request)
        except Exception:
            services.idempotency_key_release(user_id=user_id, key=key)
            raise
        if response.status_code >= 500 or response.status_code in _NOT_APPLIED or response.streaming:
            # Nothing was applied (one transaction per service call), so a
            # retry should run again rather than replay a server error, a
            # throttled request (429) or one refused before the view ran
            # (401/403: expired token, CSRF): an offline client's queue that
            # hits the rate limit must not turn into 24 h of replayed 429s.
            services.idempotency_key_release(user_id=user_id, key=key)
            return response
        headers = {name: response[name] for name in REPLAYED_HEADERS if response.has_header(name)}
        try:
            services.idempotency_key_complete(
                user_id=user_id,
                key=key,
                status=response.status_code,
                body=response.content.decode("utf-8", errors="replace"),
                headers=headers,
            )
        except Exception:  # noqa: BLE001 - the write succeeded; never fail it here
            logger.warning("could not store the response of idempotency key %s", key, exc_info=True)
        return response

    def _answer_existing(self, row: IdempotencyKey | None, fingerprint: str) -> HttpResponse:
        if row is None or row.fingerprint != fingerprint:
            return _error(
                422,
                "idempotency_key_reused",
                "This Idempotency-Key was used for a different request.",
                {HEADER: ["was already used with another method, path or body."]},
            )
        if row.status != IdempotencyKey.Status.COMPLETED or row.response_status is None:
            response: HttpResponse = _error(
                409,
                "idempotency_key_in_progress",
                "A request with this Idempotency-Key is still being processed; retry shortly.",
            )
            response["Retry-After"] = "1"
            return response
        response = HttpResponse(row.response_body, status=row.response_status)
        for name, value in row.response_headers.items():
            response[name] = value
        response["Idempotent-Replayed"] = "true"
        return response
