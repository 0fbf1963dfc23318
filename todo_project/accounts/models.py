"""User profiles: the per-user settings the domain needs (time zone first)."""

from __future__ import annotations

import functools
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models


@functools.cache
def _known_zones() -> frozenset[str]:
    # available_timezones() walks the tzdata tree on every call; the set only
    # changes with a tzdata upgrade, which means a restart anyway.
    return frozenset(zoneinfo.available_timezones())


def validate_timezone(value: str) -> None:
    if value not in _known_zones():
        raise ValidationError(f'"{value}" is not a known IANA time zone.', code="invalid_timezone")


class Profile(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.user} ({self.timezone})"
