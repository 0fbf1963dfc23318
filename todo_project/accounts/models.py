"""User profiles: the per-user settings the domain needs (time zone first)."""

from __future__ import annotations

import functools
import uuid
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower


@functools.cache
def _known_zones() -> frozenset[str]:
    # available_timezones() walks the tzdata tree on every call; the set only
    # changes with a tzdata upgrade, which means a restart anyway.
    return frozenset(zoneinfo.available_timezones())


def validate_timezone(value: str) -> None:
    if value not in _known_zones():
        raise ValidationError(f'"{value}" is not a known IANA time zone.', code="invalid_timezone")


DATE_ORDER_CHOICES = [("MDY", "month/day/year"), ("DMY", "day/month/year"), ("YMD", "year/month/day")]


class Profile(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    # How quick add and the assistant read a numeric date such as 1/2. New
    # accounts get their locale's order (MDY without one); accounts made
    # before the preference existed keep the day-first reading they had.
    date_order = models.CharField(max_length=3, choices=DATE_ORDER_CHOICES, default="MDY", db_default="MDY")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.user} ({self.timezone})"


class EmailVerification(models.Model):
    """An address the user proved to control (they opened the link mailed to it).

    The account e-mail, or the reminder address in the notification
    preferences, counts as verified only while a row for exactly that address
    (case-insensitively) exists; a new address has none, so changing an
    address unverifies it, and the services delete the row of an address that
    is given up.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    email = models.EmailField(max_length=254)
    verified_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint("user", Lower("email"), name="email_verification_once_per_address"),
        ]

    def __str__(self) -> str:
        return f"{self.email} verified {self.verified_at:%Y-%m-%d}"


class RefreshTokenFamily(models.Model):
    """The chain of refresh tokens that one login started (reuse detection).

    Every refresh token carries its family's id (claim ``fam``); rotation
    hands the new token the same family. Presenting a token that was already
    rotated means two parties hold the chain (a stolen token replayed, or the
    holder after the thief), so the whole family is revoked: neither can
    refresh again, and the holder logs in anew.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=40, blank=True, default="")

    class Meta:
        indexes = [
            # Revoking all of a user's live families (password change, deactivation).
            models.Index(fields=["user"], name="token_family_live_idx", condition=models.Q(revoked_at=None)),
        ]

    def __str__(self) -> str:
        return f"token family {self.id} of user {self.user_id}"
