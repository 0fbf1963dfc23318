"""Reads for accounts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from todo_project.accounts.models import EmailVerification, Profile

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


def profile_get(*, user: AbstractBaseUser) -> Profile:
    """The user's profile; users made outside ``user_register`` get a UTC one.

    ``createsuperuser`` and the admin create users without a profile. Creating
    it here (get_or_create retries the read after a unique-violation race)
    keeps every reader from handling a missing profile.
    """
    try:
        return user.profile  # type: ignore[attr-defined]
    except Profile.DoesNotExist:
        profile, _ = Profile.objects.get_or_create(user=user, defaults={"timezone": "UTC"})
        return profile


def user_timezone(*, user: AbstractBaseUser) -> str:
    """The user's IANA time zone name (``UTC`` until they choose one)."""
    return profile_get(user=user).timezone


def email_is_verified(*, user_id: int, email: str) -> bool:
    """Whether the user proved they control ``email`` (case-insensitive)."""
    return bool(email) and EmailVerification.objects.filter(user_id=user_id, email__iexact=email).exists()


def verified_emails(*, user_ids: list[int]) -> set[tuple[int, str]]:
    """(user id, lower-cased address) of every verified address of these users."""
    return {
        (user_id, email.lower())
        for user_id, email in EmailVerification.objects.filter(user_id__in=user_ids).values_list(
            "user_id", "email"
        )
    }
