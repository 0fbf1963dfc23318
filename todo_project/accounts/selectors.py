"""Reads for accounts."""

from __future__ import annotations

import zoneinfo
from typing import TYPE_CHECKING

from django.core.exceptions import ObjectDoesNotExist

from todo_project.accounts.models import EmailVerification, Profile
from todo_project.timefmt import zone_or_utc

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


def user_zone(user: User) -> zoneinfo.ZoneInfo:
    """The user's profile time zone (UTC when they have no profile yet)."""
    # Only "no profile" (RelatedObjectDoesNotExist is an ObjectDoesNotExist; an
    # AnonymousUser has no attribute) means UTC. A database error propagates:
    # swallowing it made a write wait out the pool timeout here, then again in
    # the service, before failing anyway.
    try:
        name = user.profile.timezone
    except (ObjectDoesNotExist, AttributeError):
        name = "UTC"
    return zone_or_utc(name)


def user_date_order(user: User) -> str:
    """How the user reads numeric dates (``MDY``, ``DMY``, ``YMD``); ``MDY`` without a profile."""
    try:
        return str(user.profile.date_order)
    except (ObjectDoesNotExist, AttributeError):
        return "MDY"


# Languages and regions that write the month first or the year first; the
# rest of the world writes the day first. Only the first Accept-Language
# entry counts: it is the user's own choice.
_MONTH_FIRST_REGIONS = frozenset({"US", "PH", "FM", "MH", "PW", "AS", "GU", "MP", "PR", "UM", "VI"})
_YEAR_FIRST_LANGUAGES = frozenset({"zh", "ja", "ko", "hu", "lt", "mn"})
_YEAR_FIRST_REGIONS = frozenset({"CN", "TW", "JP", "KR", "KP", "HU", "LT", "MN", "IR"})


def date_order_for_locale(accept_language: str | None) -> str:
    """The date order a new account starts with, from its browser's language.

    ``en-US`` (or no header at all) is ``MDY``; ``ja``, ``zh-CN``, ``hu``,
    ``ko`` … are ``YMD``; ``en-GB``, ``de``, ``fr`` … are ``DMY``. A bare
    ``en`` is US English's ``MDY``.
    """
    first = (accept_language or "").split(",")[0].split(";")[0].strip()
    if not first or first == "*":
        return "MDY"
    language, _, region = first.replace("_", "-").partition("-")
    language, region = language.lower(), region.split("-")[-1].upper() if region else ""
    if region in _YEAR_FIRST_REGIONS or (not region and language in _YEAR_FIRST_LANGUAGES):
        return "YMD"
    if region in _MONTH_FIRST_REGIONS or (language == "en" and not region):
        return "MDY"
    return "DMY"


def user_zone_for_id(*, user_id: int) -> zoneinfo.ZoneInfo:
    """``user_zone`` by id, with one query (no user row)."""
    name = Profile.objects.filter(user_id=user_id).values_list("timezone", flat=True).first()
    return zone_or_utc(name)


def user_timezone(*, user: User) -> str:
    """The user's IANA time zone name (``UTC`` until they choose one)."""
    return profile_get(user=user).timezone


def email_is_verified(*, user_id: int, email: str) -> bool:
    """Whether the user proved they control ``email`` (case-insensitive)."""
    return bool(email) and EmailVerification.objects.filter(user_id=user_id, email__iexact=email).exists()
