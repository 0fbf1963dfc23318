"""The admin's branding, times shown in the staff user's own zone, and the read-only base."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

admin.site.site_header = "Taskbeat administration"
admin.site.site_title = "Taskbeat admin"
admin.site.index_title = "Tasks, reminders and their delivery"


class ReadOnlyModelAdmin(admin.ModelAdmin):  # type: ignore[type-arg]  # generic only in the stubs
    """Viewable here, never added, edited or deleted: those changes go through
    the services, which record their events (or, for facts such as the outbox
    and the audit trail, never happen at all). Actions declared with
    ``permissions=["view"]`` still run."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class AdminTimezoneMiddleware:
    """Admin pages render datetimes in the viewer's profile time zone (UTC without one).

    Only under /admin/: the API always answers in UTC.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith("/admin/"):
            return self.get_response(request)
        user = getattr(request, "user", None)
        name = "UTC"
        if user is not None and user.is_authenticated:
            try:
                name = user.profile.timezone
            except Exception:  # noqa: BLE001 - no profile: stay in UTC
                name = "UTC"
        try:
            timezone.activate(zoneinfo.ZoneInfo(name))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            timezone.activate(zoneinfo.ZoneInfo("UTC"))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
