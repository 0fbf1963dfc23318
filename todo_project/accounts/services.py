"""Accounts: registration, profile changes, passwords and the JWT session lifecycle.

Each function is one transaction. Auth events (``user.registered``,
``user.login``, ``user.logout``, ``user.login_failed``, ``user.password_changed``,
…) are recorded in the transaction that makes the change, so the audit log
never shows a login that did not happen or misses one that did.

This is the platform layer: it sends no mail itself. Mail is asked for with an
event (``user.password_reset_requested``, ``user.email_verification_requested``)
whose handler lives in notifications_app, which owns the SendGrid path; the
dependency then points the allowed way (notifications_app → platform), the
request is durable in the outbox (a SendGrid or broker outage delays the mail,
never fails the request), and the mail is retried like any other delivery.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from typing import TYPE_CHECKING, Any, NotRequired, TypedDict, cast

from django.conf import settings
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

from todo_project.accounts import lockout, tokens
from todo_project.accounts.models import (
    DATE_ORDER_CHOICES,
    EmailVerification,
    Profile,
    RefreshTokenFamily,
    validate_timezone,
)
from todo_project.errors import DomainError
from todo_project.events.services import record_event
from todo_project.throttling import bucket_take

DATE_ORDERS = tuple(code for code, _ in DATE_ORDER_CHOICES)

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

UNSET: object = object()
# Claims every refresh token (and its access token) carries: the family of
# rotations it belongs to, and a fingerprint of the password it was issued under.
FAMILY_CLAIM = "fam"
PASSWORD_CLAIM = "pwd"  # noqa: S105 - a claim name, not a password


class TokenPair(TypedDict):
    access: str
    refresh: str
    device_token: NotRequired[str]


class AuthenticationError(DomainError):
    """Credentials or a token were refused: a 401 in the one error shape."""

    status_code = status.HTTP_401_UNAUTHORIZED
    code = "authentication_failed"


class LoginThrottled(DomainError):
    """Too many failed logins for the target account (see lockout.py): a 429 with Retry-After."""

    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    code = "throttled"

    def __init__(self, wait: float) -> None:
        seconds = max(1, math.ceil(wait))
        super().__init__(f"Too many failed logins for this account. Expected available in {seconds} seconds.")
        self.wait = seconds
        self.headers = {"Retry-After": str(seconds)}


class _PresentedRefreshToken(RefreshToken):
    """Every check of a refresh token but the blacklist, which ``_revoke`` makes
    itself under a row lock (and which tells a replay apart: reuse detection)."""

    def check_blacklist(self) -> None:
        return None


class _TokenReused(Exception):
    def __init__(self, user_id: int, family_id: str) -> None:
        self.user_id = user_id
        self.family_id = family_id


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


def _check_date_order(value: str) -> None:
    if value not in DATE_ORDERS:
        raise DomainError(
            f'"{value}" is not a date order; use MDY, DMY or YMD.', field="date_order", code="invalid"
        )


def user_register(
    *, username: str, email: str, password: str, timezone: str = "UTC", date_order: str = "MDY"
) -> User:
    """Create a user with a profile and record ``user.registered``.

    Usernames are unique case-insensitively (``Alice`` and ``alice`` would be
    indistinguishable to a person), e-mail addresses too.
    """
    User = get_user_model()
    username = username.strip()
    email = User.objects.normalize_email(email.strip())
    check_username(username)
    _check_timezone(timezone)
    _check_date_order(date_order)
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
        Profile.objects.create(user=user, timezone=timezone, date_order=date_order)
        record_event(
            type="user.registered",
            user_id=user.pk,
            subject=_subject(user.pk),
            data={"user_id": user.pk, "username": user.username, "email": user.email},
        )
        _request_verification(user_id=user.pk, email=email, purpose="account")
    return user


def check_username(username: str) -> None:
    """The one rule that keeps usernames and e-mail addresses apart: no ``@`` in a username.

    An identifier with ``@`` is therefore always an e-mail address at login
    (see ``_resolve_user``). Accounts named with an ``@`` before this rule keep
    working (docs/auth.md, "Usernames and e-mail addresses").
    """
    if "@" in username:
        raise DomainError(
            "Usernames cannot contain @ (log in with your e-mail address instead).",
            field="username",
            code="invalid",
        )


def profile_update(
    *,
    user: User,
    email: str | object = UNSET,
    first_name: str | object = UNSET,
    last_name: str | object = UNSET,
    timezone: str | object = UNSET,
    date_order: str | object = UNSET,
) -> Profile:
    """Change the given fields only (``UNSET`` leaves a field alone)."""
    from todo_project.accounts.selectors import profile_get

    if timezone is not UNSET:
        assert isinstance(timezone, str)
        _check_timezone(timezone)
    if date_order is not UNSET:
        assert isinstance(date_order, str)
        _check_date_order(date_order)
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
                old_email = user.email
                user.email = email
                user_fields.append("email")
                if email.lower() != old_email.lower():
                    # The new address is unverified (it has no row); the old one is given up.
                    EmailVerification.objects.filter(user_id=user.pk, email__iexact=old_email).delete()
                    _request_verification(user_id=user.pk, email=email, purpose="account")
        for name, value in (("first_name", first_name), ("last_name", last_name)):
            if value is not UNSET and value != getattr(user, name):
                setattr(user, name, value)
                user_fields.append(name)
        if user_fields:
            user.save(update_fields=user_fields)
        profile = profile_get(user=user)
        profile_fields: list[str] = []
        if timezone is not UNSET and timezone != profile.timezone:
            profile.timezone = cast(str, timezone)  # validated above; UNSET is ruled out
            profile_fields.append("timezone")
        if date_order is not UNSET and date_order != profile.date_order:
            profile.date_order = cast(str, date_order)
            profile_fields.append("date_order")
        if profile_fields:
            profile.save(update_fields=[*profile_fields, "updated_at"])
    return profile


def _resolve_user(identifier: str) -> User | None:
    """The account an identifier names, unambiguously.

    - No ``@``: the account with exactly that username.
    - With ``@``: an e-mail address. It names the one account whose e-mail it
      is *and* which verified it; if two accounts did (only possible for rows
      from before verification existed) it names none, and their holders log in
      by username. Failing that, an account created before the no-``@`` rule
      whose username is exactly the identifier.
    """
    User = get_user_model()
    if "@" not in identifier:
        return User.objects.filter(username=identifier).first()
    owners = list(
        EmailVerification.objects.filter(email__iexact=identifier, user__email__iexact=identifier)
        .values_list("user_id", flat=True)
        .distinct()[:2]
    )
    if len(owners) == 1:
        return User.objects.filter(pk=owners[0]).first()
    if owners:
        return None
    return User.objects.filter(username=identifier).first()


def _password_fingerprint(user: User) -> str:
    return tokens.password_fingerprint(user.password)


def _issue(user: User, *, family_id: str | None = None) -> TokenPair:
    """A new pair; a new token family unless rotating within one."""
    if family_id is None:
        family_id = str(RefreshTokenFamily.objects.create(user_id=user.pk).id)
    # for_user also writes the OutstandingToken row that logout/rotation revoke.
    refresh = RefreshToken.for_user(user)
    refresh[FAMILY_CLAIM] = family_id
    refresh[PASSWORD_CLAIM] = _password_fingerprint(user)
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


def _record_login_failed(known: User | None, identifier: str, reason: str, via: str) -> None:
    with transaction.atomic():
        record_event(
            type="user.login_failed",
            user_id=known.pk if known else None,
            subject=_subject(known.pk) if known else "",
            data={
                "username": known.username if known else identifier[:150],
                "reason": reason,
                "via": via,
            },
        )


def user_authenticate(
    *, identifier: str, password: str, device_token: str | None = None, via: str = "api"
) -> User:
    """Check credentials against the account's login delay; record a failure.

    The one credential check of the API login and the admin login (``via``
    says which, for the audit log). A failure records ``user.login_failed``
    in its own transaction and raises ``AuthenticationError``; an attempt
    made while the target's delay runs raises ``LoginThrottled`` without
    checking the password (lockout.py). The client is never told which part
    was wrong.
    """
    identifier = identifier.strip()
    known = _resolve_user(identifier)
    bucket = lockout.bucket_key(
        user_id=known.pk if known else None, identifier=identifier, device_token=device_token
    )
    wait = lockout.attempt_admit(bucket, now_ms=time.time() * 1000)
    if wait:
        _record_login_failed(known, identifier, "throttled", via)
        raise LoginThrottled(wait)
    # authenticate() runs the password hasher even for unknown users, so the
    # response time does not reveal which usernames exist.
    user = authenticate(username=known.get_username() if known else identifier, password=password)
    if user is None:
        if known is None:
            reason = "unknown_user"
        elif not known.is_active:
            reason = "inactive_user"
        else:
            reason = "invalid_password"
        _record_login_failed(known, identifier, reason, via)
        raise AuthenticationError("Invalid username or password.", code="invalid_credentials")
    lockout.attempt_succeeded(bucket)
    return user  # type: ignore[return-value]


def user_login(*, identifier: str, password: str, device_token: str | None = None) -> TokenPair:
    """Check credentials and issue a token pair; record the outcome either way.

    The answer carries a ``device_token`` (the one presented, when it is
    valid for this account, else a new one): presenting it on later logins
    keeps this device out of the account's shared login delay.
    """
    user = user_authenticate(identifier=identifier, password=password, device_token=device_token)
    with transaction.atomic():
        pair = _issue(user)
        update_last_login(None, user)  # type: ignore[arg-type]  # a signal receiver; the sender is unused
        record_event(
            type="user.login",
            user_id=user.pk,
            subject=_subject(user.pk),
            data={"user_id": user.pk, "username": user.get_username()},
        )
    if device_token and lockout.device_from_token(device_token, user_id=user.pk) is not None:
        pair["device_token"] = device_token
    else:
        pair["device_token"] = lockout.device_token_make(user_id=user.pk)
    return pair


def _revoke(raw: str) -> tuple[_PresentedRefreshToken, User]:
    """Validate a refresh token and blacklist it; the caller's transaction holds the lock.

    The outstanding-token row is locked first, so two concurrent uses of the
    same refresh token (a replayed rotation) cannot both succeed. A token
    already blacklisted by a *rotation* raises ``_TokenReused`` (the caller
    revokes its family outside this transaction, which is rolled back).
    """
    try:
        token = _PresentedRefreshToken(raw)  # type: ignore[arg-type]  # simplejwt takes the encoded text; signature, exp, iss, aud, token type
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
    if PASSWORD_CLAIM in token and token[PASSWORD_CLAIM] != _password_fingerprint(user):
        raise AuthenticationError(
            "The password changed since this token was issued.", field="refresh", code="token_not_valid"
        )
    family_id = token.get(FAMILY_CLAIM)
    if family_id is not None:
        family = RefreshTokenFamily.objects.filter(pk=family_id, user_id=user.pk).first()
        if family is None or family.revoked_at is not None:
            raise AuthenticationError("Token is blacklisted", field="refresh", code="token_not_valid")
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
        if family_id is not None:
            raise _TokenReused(user.pk, str(family_id))
        raise AuthenticationError("Token is blacklisted", field="refresh", code="token_not_valid")
    BlacklistedToken.objects.create(token=outstanding)
    return token, user


def _family_revoke_on_reuse(exc: _TokenReused) -> AuthenticationError:
    """An already-rotated token came back: end its whole family, record it, refuse."""
    with transaction.atomic():
        revoked = RefreshTokenFamily.objects.filter(pk=exc.family_id, revoked_at=None).update(
            revoked_at=django_timezone.now(), revoked_reason="reuse"
        )
        if revoked:
            record_event(
                type="user.refresh_token_reused",
                user_id=exc.user_id,
                subject=_subject(exc.user_id),
                data={"user_id": exc.user_id, "family_id": exc.family_id},
            )
    # The same answer as any revoked token: the replayer learns nothing new.
    return AuthenticationError("Token is blacklisted", field="refresh", code="token_not_valid")


def token_refresh(*, refresh: str) -> TokenPair:
    """Rotate: revoke the presented refresh token and issue a new pair of the same family."""
    try:
        with transaction.atomic():
            token, user = _revoke(refresh)
            family_id = token.get(FAMILY_CLAIM)
            return _issue(user, family_id=str(family_id) if family_id else None)
    except _TokenReused as exc:
        raise _family_revoke_on_reuse(exc) from None


def user_logout(*, refresh: str) -> None:
    """Revoke the refresh token and its family, and record ``user.logout``.

    Access tokens are stateless and stay valid until they expire
    (``JWT_ACCESS_TTL_SECONDS``); revoking the refresh token ends the session.
    """
    try:
        with transaction.atomic():
            token, user = _revoke(refresh)
            if token.get(FAMILY_CLAIM):
                RefreshTokenFamily.objects.filter(pk=token[FAMILY_CLAIM], revoked_at=None).update(
                    revoked_at=django_timezone.now(), revoked_reason="logout"
                )
            record_event(
                type="user.logout", user_id=user.pk, subject=_subject(user.pk), data={"user_id": user.pk}
            )
    except _TokenReused as exc:
        raise _family_revoke_on_reuse(exc) from None


def _sessions_revoke(*, user_id: int, reason: str) -> int:
    """Revoke every live refresh token and token family of the user (caller's transaction).

    Returns how many refresh tokens were revoked. The user's sockets are
    closed by the handler of the event the caller records (todo_project/sync).
    """
    now = django_timezone.now()
    live = list(
        OutstandingToken.objects.filter(
            user_id=user_id, expires_at__gt=now, blacklistedtoken__isnull=True
        ).values_list("id", flat=True)
    )
    BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token_id=token_id) for token_id in live], ignore_conflicts=True
    )
    RefreshTokenFamily.objects.filter(user_id=user_id, revoked_at=None).update(
        revoked_at=now, revoked_reason=reason
    )
    return len(live)


def _password_changed(*, user: User, method: str) -> None:
    """The password was just stored: end every session, record ``user.password_changed``.

    Runs in the caller's transaction.
    """
    revoked = _sessions_revoke(user_id=user.pk, reason=f"password_{method}")
    record_event(
        type="user.password_changed",
        user_id=user.pk,
        subject=_subject(user.pk),
        data={"user_id": user.pk, "method": method, "refresh_tokens_revoked": revoked},
    )


def _set_password(*, user: User, password: str, method: str) -> None:
    user.set_password(password)
    user.save(update_fields=["password"])
    _password_changed(user=user, method=method)


def _validate_new_password(password: str, user: User, field: str) -> None:
    try:
        password_validation.validate_password(password, user=user)
    except ValidationError as exc:
        raise DomainError(" ".join(exc.messages), field=field, code="invalid_password") from None


def _current_password_check(user: User, password: str, *, field: str) -> None:
    """The caller proves it knows the password; wrong ones count against the login delay."""
    bucket = lockout.bucket_key(user_id=user.pk, identifier="")
    wait = lockout.attempt_admit(bucket, now_ms=time.time() * 1000)
    if wait:
        raise LoginThrottled(wait)
    if not user.check_password(password):
        raise DomainError("The current password is wrong.", field=field, code="invalid_password")
    lockout.attempt_succeeded(bucket)


def password_change(*, user: User, old_password: str, new_password: str) -> TokenPair:
    """Change the caller's password (the current one must be given); answer a fresh pair.

    Every refresh token of the user is revoked and their sockets are closed,
    so a session that knew only a stolen token ends here. Wrong old passwords
    count against the account's login delay, like failed logins.
    """
    _current_password_check(user, old_password, field="old_password")
    _validate_new_password(new_password, user, "new_password")
    with transaction.atomic():
        _set_password(user=user, password=new_password, method="change")
        return _issue(user)


def password_set_by_admin(*, user: User) -> None:
    """A staff member just set (or removed) the password in the admin: same revocation and event."""
    with transaction.atomic():
        _password_changed(user=user, method="admin")


def _mail_allowed(*, user_id: int, kind: str) -> bool:
    # Bounds the mail one account can be sent by strangers asking for it.
    return bucket_take(key=f"throttle_mail_{kind}_{user_id}", rate=settings.ACCOUNT_EMAIL_RATE) == 0


def password_reset_request(*, email: str) -> None:
    """Ask for a reset link to be mailed; says nothing about whether the account exists.

    The link goes to the account's own e-mail address, and only when exactly
    one active account has that address (or, among several old rows that
    share it, exactly one verified it). Mails per account are limited by
    ``ACCOUNT_EMAIL_RATE``; beyond it the request is silently dropped.
    """
    User = get_user_model()
    email = User.objects.normalize_email(email.strip())
    users = list(User.objects.filter(email__iexact=email, is_active=True).order_by("pk")[:10])
    if len(users) > 1:
        verified = set(
            EmailVerification.objects.filter(
                user_id__in=[u.pk for u in users], email__iexact=email
            ).values_list("user_id", flat=True)
        )
        users = [u for u in users if u.pk in verified]
    if len(users) != 1:
        return
    user = users[0]
    if not _mail_allowed(user_id=user.pk, kind="password_reset"):
        logger.info("password reset mail for user %s dropped: ACCOUNT_EMAIL_RATE", user.pk)
        return
    with transaction.atomic():
        record_event(
            type="user.password_reset_requested",
            user_id=user.pk,
            subject=_subject(user.pk),
            data={"user_id": user.pk, "email": user.email},
        )


def password_reset_confirm(*, token: str, new_password: str) -> None:
    """Set a new password with a mailed reset token (single-use, expiring; see tokens.py).

    The account e-mail counts as verified afterwards (the link reached it),
    and the account's login delay is cleared.
    """
    invalid = DomainError("This reset link is invalid or has expired.", field="token", code="invalid_token")
    user = tokens.password_reset_token_user(token)
    if user is None:
        raise invalid
    _validate_new_password(new_password, user, "new_password")
    with transaction.atomic():
        # Two confirms racing with one token: the second re-checks it against
        # the row the first changed, and fails.
        user = get_user_model().objects.select_for_update().get(pk=user.pk)
        if tokens.password_reset_token_user(token) is None:
            raise invalid
        _set_password(user=user, password=new_password, method="reset")
        _mark_verified(user_id=user.pk, email=user.email)
    lockout.attempt_succeeded(lockout.bucket_key(user_id=user.pk, identifier=""))


def user_deactivated(*, user_id: int) -> None:
    """The account was just deactivated (caller's transaction): end its sessions and sockets.

    Called by the admin after saving ``is_active = False`` and by
    ``user_deactivate``. Its access tokens are refused by every write at once
    and by reads within ``JWT_USER_CHECK_SECONDS`` (authentication.py).
    """
    revoked = _sessions_revoke(user_id=user_id, reason="deactivated")
    record_event(
        type="user.deactivated",
        user_id=user_id,
        subject=_subject(user_id),
        data={"user_id": user_id, "refresh_tokens_revoked": revoked},
    )


def user_deactivate(*, user_id: int) -> None:
    """Deactivate an account (scripts, management commands)."""
    with transaction.atomic():
        updated = get_user_model().objects.filter(pk=user_id, is_active=True).update(is_active=False)
        if updated:
            user_deactivated(user_id=user_id)
    from todo_project.accounts.authentication import forget_user_state

    forget_user_state(user_id)


def account_delete(*, user: User, password: str) -> dict[str, int]:
    """Delete the caller's account and everything it owns, in one transaction.

    The password must be given (wrong ones count against the login delay,
    like a password change). Every refresh token is revoked first (they
    outlive the user row in the blacklist tables); the rows that hang off
    the user by foreign key go with it (tasks, projects, sections, series,
    reminders, notifications, push subscriptions, saved filters, the
    calendar feed, chat history, personal access tokens, idempotency keys);
    the registered erasers take what is keyed by a plain id (the audit
    trail); the outbox keeps only what Kafka has not seen yet
    (``todo_project.events.erasure``). Records ``user.deleted`` — the last
    event of the user, whose handlers close their sockets and which tells
    Kafka consumers to erase them too. Returns the counts of that event.
    """
    from todo_project.accounts import erasure
    from todo_project.accounts.authentication import forget_user_state
    from todo_project.events.erasure import outbox_forget_user
    from todo_project.events.services import users_events_lock

    _current_password_check(user, password, field="password")
    user_id = user.pk
    with transaction.atomic():
        # Two deletions of one account at once: the second finds nothing.
        if not get_user_model().objects.select_for_update().filter(pk=user_id).exists():
            raise DomainError("The account is gone.", field="password", code="invalid_password")
        users_events_lock(user_ids=[user_id])
        revoked = _sessions_revoke(user_id=user_id, reason="account_deleted")
        counts = {name: erase(user_id) for name, erase in sorted(erasure.erasers().items())}
        counts["outbox_events"] = outbox_forget_user(user_id=user_id)
        _, per_model = get_user_model().objects.filter(pk=user_id).delete()
        # Erasers may delete rows others still point at until the cascade above
        # (tasks before their reminders): check the deferred foreign keys now,
        # so a dangling reference fails here, tests included, not at commit.
        # Then back to Django's INITIALLY DEFERRED, for the rest of an outer transaction.
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        counts.update({label.lower(): n for label, n in sorted(per_model.items()) if n})
        record_event(
            type="user.deleted",
            user_id=user_id,
            subject=_subject(user_id),
            data={
                "user_id": user_id,
                "refresh_tokens_revoked": revoked,
                "deleted": counts,
                "deleted_at": django_timezone.now(),
            },
        )
        transaction.on_commit(lambda: forget_user_state(user_id))
    return counts


def session_fingerprint(session_key: str) -> str:
    """A stand-in for a session key in events and socket scopes (the key itself is a credential)."""
    return hashlib.sha256(f"taskbeat.session:{session_key}".encode()).hexdigest()[:32]


def session_ended(*, user_id: int, session_key: str | None) -> None:
    """A cookie session logged out (admin, browsable API): record ``user.logout`` naming it.

    Its handler closes the sockets that authenticated with that session.
    """
    data: dict[str, Any] = {"user_id": user_id, "via": "session"}
    if session_key:
        data["session"] = session_fingerprint(session_key)
    with transaction.atomic():
        record_event(type="user.logout", user_id=user_id, subject=_subject(user_id), data=data)


# --- e-mail verification ------------------------------------------------------


def _request_verification(*, user_id: int, email: str, purpose: str) -> None:
    """Record ``user.email_verification_requested`` (caller's transaction); the handler mails the link."""
    record_event(
        type="user.email_verification_requested",
        user_id=user_id,
        subject=_subject(user_id),
        data={"user_id": user_id, "email": email, "purpose": purpose},
    )


def email_verification_request(*, user_id: int, email: str, purpose: str) -> bool:
    """Mail a (new) verification link for an address of the user; False when rate-limited.

    ``purpose`` is ``account`` (the account e-mail) or ``reminders`` (the
    reminder address of the notification preferences); it only changes the
    wording of the mail.
    """
    if not _mail_allowed(user_id=user_id, kind="email_verification"):
        return False
    with transaction.atomic():
        _request_verification(user_id=user_id, email=email, purpose=purpose)
    return True


def email_verification_request_unverified(*, batch_size: int = 500) -> int:
    """Ask every active account whose e-mail is unverified for a verification mail, once.

    For accounts from before verification existed (``manage.py
    accounts_request_verification``). Users who have a pending request are
    skipped, so running it twice sends nothing new. Returns how many were asked.
    """
    User = get_user_model()
    from todo_project.events.models import OutboxEvent

    asked = 0
    last_pk = 0
    while True:
        users = list(
            User.objects.filter(is_active=True, pk__gt=last_pk).exclude(email="").order_by("pk")[:batch_size]
        )
        if not users:
            return asked
        last_pk = users[-1].pk
        verified = {
            (user_id, email.lower())
            for user_id, email in EmailVerification.objects.filter(
                user_id__in=[u.pk for u in users]
            ).values_list("user_id", "email")
        }
        pending = set(
            OutboxEvent.objects.filter(
                type="user.email_verification_requested", user_id__in=[u.pk for u in users]
            ).values_list("user_id", flat=True)
        )
        with transaction.atomic():
            for user in users:
                if (user.pk, user.email.lower()) in verified or user.pk in pending:
                    continue
                _request_verification(user_id=user.pk, email=user.email, purpose="account")
                asked += 1


def email_verification_resend(*, user: User) -> None:
    """Mail the account e-mail's verification link again (400 when it is verified already)."""
    if EmailVerification.objects.filter(user_id=user.pk, email__iexact=user.email).exists():
        raise DomainError("Your e-mail address is verified already.", field="email", code="already_verified")
    if not user.email:
        raise DomainError("Your account has no e-mail address.", field="email")
    email_verification_request(user_id=user.pk, email=user.email, purpose="account")


def _mark_verified(*, user_id: int, email: str) -> bool:
    """Record that the user controls ``email`` (caller's transaction); False if it already was."""
    if EmailVerification.objects.filter(user_id=user_id, email__iexact=email).exists():
        return False
    _, created = EmailVerification.objects.get_or_create(
        user_id=user_id, email=email.lower(), defaults={"verified_at": django_timezone.now()}
    )
    if created:
        record_event(
            type="user.email_verified",
            user_id=user_id,
            subject=_subject(user_id),
            data={"user_id": user_id, "email": email.lower()},
        )
    return created


def email_verify(*, token: str) -> tuple[int, str]:
    """Confirm an address with a mailed token; returns (user id, address). Idempotent."""
    found = tokens.email_verification_token_read(token)
    if found is None:
        raise DomainError(
            "This verification link is invalid or has expired.", field="token", code="invalid_token"
        )
    user_id, email = found
    if not get_user_model().objects.filter(pk=user_id, is_active=True).exists():
        raise DomainError(
            "This verification link is invalid or has expired.", field="token", code="invalid_token"
        )
    with transaction.atomic():
        _lock_names(f"verify:{user_id}:{email}")
        _mark_verified(user_id=user_id, email=email)
    return user_id, email


def email_verification_forget(*, user_id: int, email: str) -> None:
    """The user gave up an address: it is no longer verified (caller's transaction)."""
    EmailVerification.objects.filter(user_id=user_id, email__iexact=email).delete()


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
