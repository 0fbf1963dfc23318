"""Signed, expiring tokens mailed to users: password reset and e-mail verification.

Neither token is stored. Both are made when the e-mail is *sent* (by the
notifications handler, see docs/notifications.md), so no event, audit entry,
Kafka message or notification row ever holds one.

- **Password reset**: Django's ``PasswordResetTokenGenerator`` (HMAC of the
  user's id, password hash, last login, e-mail and a timestamp, keyed by
  ``SECRET_KEY``), valid ``PASSWORD_RESET_TIMEOUT`` seconds. Using it changes
  the password hash, which invalidates it and every other reset token of the
  user: single-use without a table. The token sent is ``<uid>:<token>``.
- **E-mail verification**: ``django.core.signing`` of (user id, address),
  valid ``EMAIL_VERIFICATION_TTL_SECONDS``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.contrib.auth.tokens import default_token_generator
from django.core import signing
from django.utils.crypto import salted_hmac
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode

_VERIFY_SALT = "taskbeat.accounts.email-verification"


def password_fingerprint(password_hash: str) -> str:
    """A short HMAC of a password hash (claim ``pwd`` of refresh and access tokens).

    It changes whenever the password does, by any path (API, admin,
    ``manage.py changepassword``, ``set_password`` in a shell), and reveals
    nothing about the hash.
    """
    return salted_hmac("taskbeat.accounts.refresh-password", password_hash).hexdigest()[:20]


def password_reset_token_make(*, user: User) -> str:
    return f"{urlsafe_base64_encode(force_bytes(user.pk))}:{default_token_generator.make_token(user)}"


def password_reset_token_user(token: str) -> Any | None:
    """The active user a reset token was made for, if it is still valid."""
    uid, _, secret = token.partition(":")
    try:
        user_id = int(force_str(urlsafe_base64_decode(uid)))
    except (ValueError, TypeError, OverflowError):
        return None
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None or not default_token_generator.check_token(user, secret):
        return None
    return user


def email_verification_token_make(*, user_id: int, email: str) -> str:
    return signing.dumps({"u": user_id, "e": email.lower()}, salt=_VERIFY_SALT, compress=True)


def email_verification_token_read(token: str) -> tuple[int, str] | None:
    """(user id, address) of a valid, unexpired verification token."""
    try:
        data = signing.loads(token, salt=_VERIFY_SALT, max_age=settings.EMAIL_VERIFICATION_TTL_SECONDS)
    except signing.BadSignature:  # SignatureExpired is a BadSignature
        return None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int) or not isinstance(data.get("e"), str):
        return None
    return data["u"], data["e"]


def link(path: str, token: str) -> str:
    """The web app's page for a token; the token travels in the fragment (never sent in Referer or logs)."""
    return f"{settings.PUBLIC_BASE_URL}{path}#token={token}"
