"""JWT authentication without a user-row query on every request.

simplejwt's ``JWTAuthentication`` loads the user row for every API call (one
query, ~0.4 ms idle, a good share of a 20-task list request). Here the access
token, whose signature, expiry, issuer and audience are checked as before,
is enough to know *who* calls:

- ``request.user`` is a :class:`JWTUser`: ``pk``/``id``, ``is_authenticated``
  and ``bool()`` come from the token; the real ``User`` row (with its profile)
  is loaded the first time anything else is used — a service writing an owner
  foreign key, ``/api/me``, the user's time zone. It then behaves as the
  model instance (``isinstance`` included).
- Whether the account still exists and is active is read from the database
  on every *write* (any method but GET/HEAD/OPTIONS), so a deactivated or
  deleted account cannot change anything once it is gone (``401``). Reads
  check it at most once per ``JWT_USER_CHECK_SECONDS`` (default 30) per user
  and process, and at once in the process where the user row is saved or
  deleted (signals): a deactivated or deleted user's *reads* are refused
  within that many seconds at the latest (and their token expires anyway
  within ``JWT_ACCESS_TTL_SECONDS``); they can no longer refresh. A write
  also refuses an access token issued before the password last changed
  (its ``pwd`` claim no longer matches), so a stolen token stops writing the
  moment the holder changes or resets the password.
  ``JWT_USER_CHECK_SECONDS=0`` reads the row on every request.

See docs/auth.md.
"""

from __future__ import annotations

import copy
import functools
import threading
import time
from typing import TYPE_CHECKING, Any, cast

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models.signals import post_delete, post_save
from django.utils.functional import SimpleLazyObject, empty
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework.permissions import SAFE_METHODS
from rest_framework_simplejwt import authentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import Token

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.http import HttpRequest
    from rest_framework.request import Request

from todo_project.accounts.tokens import password_fingerprint

# The claim with the password fingerprint (accounts.services.PASSWORD_CLAIM).
PASSWORD_CLAIM = "pwd"  # noqa: S105 - a claim name, not a password

# Per process: user id -> (is_active, or None when the row is gone; time.time() of the check).
_checked: dict[Any, tuple[bool | None, float]] = {}
_MAX_CHECKED = 50_000
_prune_lock = threading.Lock()


def _check_seconds() -> float:
    return float(getattr(settings, "JWT_USER_CHECK_SECONDS", 30))


def _write_check(user_id: Any, validated_token: Token) -> Any:
    """A write: the account as it is now, and the token issued under its current password.

    Returns the user row (with its profile): a write nearly always needs it
    (an owner foreign key, the time zone), and reading it here whole is the
    same one query as reading ``is_active`` and ``password`` alone.
    """
    user = (
        get_user_model()
        ._default_manager.select_related("profile")
        .filter(**{api_settings.USER_ID_FIELD: user_id})
        .first()
    )
    state = None if user is None else bool(user.is_active)
    if _check_seconds() > 0:
        _checked[user_id] = (state, time.time())
    _refuse(state)
    assert user is not None
    # Issued before the password last changed: it may still read until it
    # expires, but not change anything (docs/auth.md "What ends a session").
    fingerprint = validated_token.get(PASSWORD_CLAIM)
    if fingerprint is not None and fingerprint != password_fingerprint(user.password):
        raise AuthenticationFailed(
            "The password changed since this token was issued.", code="token_not_valid"
        )
    return user


def user_state(user_id: Any, *, fresh: bool = False) -> bool | None:
    """The account's ``is_active`` (None when it no longer exists), cached per process.

    ``fresh``: read the row whatever the cache says (and refresh the cache).
    """
    ttl = _check_seconds()
    now = time.time()
    if ttl > 0 and not fresh:
        hit = _checked.get(user_id)
        if hit is not None and 0 <= now - hit[1] < ttl:
            return hit[0]
    state = (
        get_user_model()
        ._default_manager.filter(**{api_settings.USER_ID_FIELD: user_id})
        .values_list("is_active", flat=True)
        .first()
    )
    if ttl > 0:
        if len(_checked) >= _MAX_CHECKED:
            with _prune_lock:
                for key, (_, checked_at) in list(_checked.items()):
                    if not 0 <= now - checked_at < ttl:
                        _checked.pop(key, None)
                if len(_checked) >= _MAX_CHECKED:
                    _checked.clear()
        _checked[user_id] = (state, now)
    return state


def forget_user_state(user_id: Any = None) -> None:
    """Drop the cached check of one user (all users without an argument)."""
    if user_id is None:
        _checked.clear()
    else:
        _checked.pop(user_id, None)


def _refuse(state: bool | None) -> None:
    if state is None:
        raise AuthenticationFailed("User not found", code="user_not_found")
    if api_settings.CHECK_USER_IS_ACTIVE and not state:
        raise AuthenticationFailed("User is inactive", code="user_inactive")


def _load_user(user_id: Any) -> Any:
    user = (
        get_user_model()
        ._default_manager.select_related("profile")
        .filter(**{api_settings.USER_ID_FIELD: user_id})
        .first()
    )
    state = None if user is None else user.is_active
    _refuse(state)
    if _check_seconds() > 0:
        _checked[user_id] = (state, time.time())
    return user


class JWTUser(SimpleLazyObject):
    """``request.user`` of a JWT request: the id from the token, the row on first other use."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, user_id: Any) -> None:
        super().__init__(functools.partial(_load_user, user_id))
        self.__dict__["_user_id"] = user_id

    @classmethod
    def loaded(cls, user_id: Any, user: Any) -> JWTUser:
        """One whose row is already read (a write's check read it)."""
        lazy = cls(user_id)
        lazy._wrapped = user
        return lazy

    @property
    def pk(self) -> Any:
        return self.__dict__["_user_id"]

    @property
    def id(self) -> Any:
        return self.__dict__["_user_id"]

    def __bool__(self) -> bool:
        return True

    def __copy__(self) -> Any:
        if self.__dict__["_wrapped"] is empty:
            return type(self)(self.__dict__["_user_id"])
        return copy.copy(self.__dict__["_wrapped"])

    def __deepcopy__(self, memo: dict) -> Any:
        if self.__dict__["_wrapped"] is empty:
            return type(self)(self.__dict__["_user_id"])
        return copy.deepcopy(self.__dict__["_wrapped"], memo)

    def __repr__(self) -> str:
        return f"<JWTUser {self.__dict__['_user_id']!r}>"


class JWTAuthentication(authentication.JWTAuthentication):
    """simplejwt's token checks; the user as a :class:`JWTUser` (see the module docstring)."""

    _write = True

    def authenticate(self, request: Any) -> Any:
        # Writes always see the account as it is now (module docstring).
        self._write = request.method not in SAFE_METHODS
        # The Idempotency-Key middleware authenticates the same request before
        # DRF does (todo_project/sync/middleware.py): the second time answers
        # the first time's result instead of reading the user row again.
        http_request = getattr(request, "_request", request)
        header = self.get_header(request)
        cached = getattr(http_request, "_taskbeat_jwt", None)
        if cached is not None and cached[0] == header:
            return cached[1]
        result = super().authenticate(request)
        if header is not None:
            http_request._taskbeat_jwt = (header, result)
        return result

    def get_user(self, validated_token: Token) -> Any:
        if api_settings.CHECK_REVOKE_TOKEN:
            # Comparing the token with the password hash needs the row anyway.
            return super().get_user(validated_token)
        try:
            raw_id = validated_token[api_settings.USER_ID_CLAIM]
        except KeyError as exc:
            raise InvalidToken("Token contained no recognizable user identification") from exc
        try:
            field = self.user_model._meta.get_field(api_settings.USER_ID_FIELD)
            user_id = field.to_python(raw_id)  # type: ignore[union-attr]  # a concrete field (the pk)
        except Exception as exc:  # noqa: BLE001 - ValidationError or a type error: a token we did not sign
            raise InvalidToken("Token contained no recognizable user identification") from exc
        if self._write:
            return JWTUser.loaded(user_id, _write_check(user_id, validated_token))
        _refuse(user_state(user_id))
        return JWTUser(user_id)


def _user_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    forget_user_state(instance.pk)


def connect_signals() -> None:
    user_model = get_user_model()
    post_save.connect(_user_changed, sender=user_model, dispatch_uid="jwt-user-state-save")
    post_delete.connect(_user_changed, sender=user_model, dispatch_uid="jwt-user-state-delete")


class JWTScheme(SimpleJWTScheme):
    """OpenAPI: the same bearer scheme (``jwtAuth``) as simplejwt's class."""

    target_class = JWTAuthentication  # type: ignore[assignment]  # a class is accepted as well as its dotted path


def request_user(request: HttpRequest | Request) -> User:
    """The caller of an authenticated API view, typed as the ``User`` it stands for.

    A cast, not an ``isinstance`` check: ``request.user`` is usually a lazy
    :class:`JWTUser`, and asking for its class would load the row. Use it only
    behind the default ``IsAuthenticated`` permission.
    """
    return cast("User", request.user)
