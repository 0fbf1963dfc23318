"""Reads for accounts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from todo_project.accounts.models import Profile

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def profile_get(*, user: User) -> Profile:
    """The user's profile; users made outside ``user_register`` get a UTC one.

    ``createsuperuser`` and the admin create users without a profile. Creating
    it here (get_or_create retries the read after a unique-violation race)
    keeps every reader from handling a missing profile.
    """
    try:
        return user.profile
    except Profile.DoesNotExist:
        profile, _ = Profile.objects.get_or_create(user=user, defaults={"timezone": "UTC"})
        return profile


def user_timezone(*, user: User) -> str:
    """The user's IANA time zone name (``UTC`` until they choose one)."""
    return profile_get(user=user).timezone
