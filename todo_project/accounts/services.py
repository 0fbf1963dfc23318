"""Accounts: registration, profile changes and the JWT session lifecycle.

Each function is one transaction. Auth events (``user.registered``,
``user.login``, ``user.logout``, ``user.login_failed``) are recorded in the
transaction that makes the change, so the audit log never shows a login that
did not happen or misses one that did.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict, cast

from django.contrib.auth import authenticate, get_user_model, password_validation
from django.contrib.auth.models import update_last_login
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone as django_timezone
from rest_framework import status
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.utils import datetime_from_epoch

from todo_project.accounts.models import Profile, validate_timezone
from todo_project.errors import DomainError
from todo_project.events.services import record_event

if TYPE_CHECKING:
    from django.contrib.auth.models import User

UNSET: object = object()


class TokenPair(TypedDict):
    access: str
    refresh: str


class AuthenticationError(DomainError):
    """Credentials or a token were refused: a 401 in the one error shape."""

    status_code = status.HTTP_401_UNAUTHORIZED
    code = "authentication_failed"


def _subject(user_id: int) -> str:
    return f"users/{user_id}"


def _lock_names(*names: str) -> None:
    """Serialise concurrent claims of the same username/email until commit.

    ``auth_user.email`` has no unique constraint (and adding one would break
    users created elsewhere), so two registrations racing for one address are
    kept apart with transaction-level advisory locks, taken in sorted order so
    two requests never wait on each other in a cycle.
    """
    with connection.cursor() as cursor:
        for name in sorted(set(names)):
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [name])


def _check_timezone(value: str) -> None:
    try:
        validate_timezone(value)
    except ValidationError as exc:
        raise DomainError(exc.messages[0], field="timezone", code="invalid_timezone") from None


def _email_taken(email: str, *, exclude_user_id: int | None = None) -> bool:
    users = get_user_model().objects.filter(email__iexact=email)
    if exclude_user_id is not None:
        users = users.exclude(pk=exclude_user_id)
    return users.exists()


def user_register(*, username: str, email: str, password: str, timezone: str = "UTC") -> User:
    """Create a user with a profile and record ``user.registered``.

    Usernames are unique case-insensitively (``Alice`` and ``alice`` would be
    indistinguishable to a person), e-mail addresses too.
    """
    User = get_user_model()
    username = username.strip()
    email = User.objects.normalize_email(email.strip())
    _check_timezone(timezone)
    candidate = User(username=username, email=email)
    try:
        password_validation.validate_password(password, user=candidate)
    except ValidationError as exc:
        raise DomainError(" ".join(exc.messages), field="password", code="invalid_password") from None

    with transaction.atomic():
        _lock_names(f"username:{username.lower()}", f"email:{email.lower()}")
        if User.objects.filter(username__iexact=username).exists():
            raise DomainError("A user with that username already exists.", field="username", code="taken")
        if _email_taken(email):
            raise DomainError("A user with that email already exists.", field="email", code="taken")
        try:
            user = User.objects.create_user(username=username, email=email, password=password)
        except IntegrityError:  # pragma: no cover - the advisory lock makes this a belt and braces
            raise DomainError(
                "A user with that username already exists.", field="username", code="taken"
            ) from None
        Profile.objects.create(user=user, timezone=timezone)
        record_event(
            type="user.registered",
            user_id=user.pk,
            subject=_subject(user.pk),
            data={"user_id": user.pk, "username": user.username, "email": user.email},
        )
    return user


def profile_update(
    *,
    user: User,
    email: str | object = UNSET,
    first_name: str | object = UNSET,
    last_name: str | object = UNSET,
    timezone: str | object = UNSET,
) -> Profile:
    """Change the given fields only (``UNSET`` leaves a field alone)."""
    from todo_project.accounts.selectors import profile_get

    if timezone is not UNSET:
        assert isinstance(timezone, str)
        _check_timezone(timezone)
    with transaction.atomic():
        user_fields: list[str] = []
        if email is not UNSET:
            assert isinstance(email, str)
            email = get_user_model().objects.normalize_email(email.strip())
            if email.lower() != user.email.lower():
                _lock_names(f"email:{email.lower()}")
                if _email_taken(email, exclude_user_id=user.pk):
                    raise DomainError("A user with that email already exists.", field="email", code="taken")
            if email != user.email:
                user.email = email
                user_fields.append("email")
        for name, value in (("first_name", first_name), ("last_name", last_name)):
            if value is not UNSET and value != getattr(user, name):
                setattr(user, name, value)
                user_fields.append(name)
        if user_fields:
            user.save(update_fields=user_fields)
        profile = profile_get(user=user)
        if timezone is not UNSET and timezone != profile.timezone:
            profile.timezone = cast(str, timezone)  # validated above; UNSET is ruled out
            profile.save(update_fields=["timezone", "updated_at"])
    return profile


def _resolve_username(identifier: str) -> str:
    """Username, or the username of the one account with that e-mail address."""
    User = get_user_model()
    if "@" in identifier and not User.objects.filter(username=identifier).exists():
        matches = list(User.objects.filter(email__iexact=identifier).values_list("username", flat=True)[:2])
        if len(matches) == 1:
            return matches[0]
    return identifier


def _issue(user: User) -> TokenPair:
    # for_user also writes the OutstandingToken row that logout/rotation revoke.
    refresh = RefreshToken.for_user(user)
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


def user_login(*, identifier: str, password: str) -> TokenPair:
    """Check credentials and issue a token pair; record the outcome either way.

    A failure records ``user.login_failed`` in its own transaction and then
    raises, so the attempt is audited even though nothing else changed. The
    client is never told which part was wrong.
    """
    User = get_user_model()
    username = _resolve_username(identifier.strip())
    # authenticate() runs the password hasher even for unknown users, so the
    # response time does not reveal which usernames exist.
    user = authenticate(username=username, password=password)
    if user is None:
        known = User.objects.filter(username=username).only("pk", "username", "is_active").first()
        if known is None:
            reason = "unknown_user"
        elif not known.is_active:
            reason = "inactive_user"
        else:
            reason = "invalid_password"
        with transaction.atomic():
            record_event(
                type="user.login_failed",
                user_id=known.pk if known else None,
                subject=_subject(known.pk) if known else "",
                data={"username": known.username if known else username[:150], "reason": reason},
            )
        raise AuthenticationError("Invalid username or password.", code="invalid_credentials")

    with transaction.atomic():
        tokens = _issue(user)
        update_last_login(None, user)  # type: ignore[arg-type]  # a signal receiver; the sender is unused
        record_event(
            type="user.login",
            user_id=user.pk,
            subject=_subject(user.pk),
            data={"user_id": user.pk, "username": user.get_username()},
        )
    return tokens


def _revoke(raw: str) -> tuple[RefreshToken, User]:
    """Validate a refresh token and blacklist it; the caller's transaction holds the lock.

    The outstanding-token row is locked first, so two concurrent uses of the
    same refresh token (a replayed rotation) cannot both succeed.
    """
    try:
        # simplejwt takes the encoded token as text; its stubs name only Token.
        token = RefreshToken(raw)  # type: ignore[arg-type]  # signature, exp, iss, aud, token type, blacklist
    except TokenError as exc:
        raise AuthenticationError(str(exc), field="refresh", code="token_not_valid") from None
    jti = token[jwt_settings.JTI_CLAIM]
    user = (
        get_user_model()
        .objects.filter(**{jwt_settings.USER_ID_FIELD: token.get(jwt_settings.USER_ID_CLAIM)})
        .first()
    )
    if user is None or not user.is_active:
        raise AuthenticationError("No active account found for the given token.", field="refresh")
    outstanding, _ = OutstandingToken.objects.get_or_create(
        jti=jti,
        defaults={
            "user": user,
            "token": raw,
            "created_at": token.current_time,
            "expires_at": datetime_from_epoch(token["exp"]),
        },
    )
    outstanding = OutstandingToken.objects.select_for_update().get(pk=outstanding.pk)
    if BlacklistedToken.objects.filter(token=outstanding).exists():
        raise AuthenticationError("Token is blacklisted", field="refresh", code="token_not_valid")
    BlacklistedToken.objects.create(token=outstanding)
    return token, user


def token_refresh(*, refresh: str) -> TokenPair:
    """Rotate: revoke the presented refresh token and issue a new pair."""
    with transaction.atomic():
        _, user = _revoke(refresh)
        return _issue(user)


def user_logout(*, refresh: str) -> None:
    """Revoke the refresh token and record ``user.logout``.

    Access tokens are stateless and stay valid until they expire
    (``JWT_ACCESS_TTL_SECONDS``); revoking the refresh token ends the session.
    """
    with transaction.atomic():
        _, user = _revoke(refresh)
        record_event(
            type="user.logout", user_id=user.pk, subject=_subject(user.pk), data={"user_id": user.pk}
        )


def tokens_purge_expired(*, batch_size: int = 5000) -> int:
    """Delete outstanding (and so blacklisted) refresh tokens past their expiry.

    Every login and refresh adds a row; an expired token is refused on its
    ``exp`` claim alone, so its row only takes space. Batched, one short
    transaction per batch; harmless to run twice. Returns how many.
    """
    deleted = 0
    while True:
        with transaction.atomic():
            expired = OutstandingToken.objects.filter(expires_at__lt=django_timezone.now())
            ids = list(expired.values_list("id", flat=True)[:batch_size])
            if not ids:
                return deleted
            BlacklistedToken.objects.filter(token_id__in=ids).delete()
            count, _ = OutstandingToken.objects.filter(id__in=ids).delete()
        deleted += count
