from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from audit_app.models import AuditLog
from todo_project.admin_site import ReadOnlyModelAdmin


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyModelAdmin):
    """Read-only: the trail is written by the event handler and purged by retention only."""

    list_display = (
        "timestamp",
        "action",
        "actor_type",
        "actor_id",
        "actor_email",
        "resource_type",
        "resource_id",
    )
    list_filter = ("action", "actor_type", "resource_type", "timestamp")
    search_fields = ("=event_id", "actor_email", "=resource_id", "action")
    date_hierarchy = "timestamp"
    ordering = ("-timestamp", "-id")
    show_full_result_count = False  # COUNT(*) over the whole trail on every page is slow

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in AuditLog._meta.fields]
