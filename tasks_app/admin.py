"""Admin for tasks and saved filters.

Edits made here go through ``Model.save`` directly and record no events, so
the task form is read-mostly: operators look things up and fix data, the API
is how users change tasks.
"""

from __future__ import annotations

from django.contrib import admin

from tasks_app.models import SavedFilter, Task


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = (
        "title",
        "owner",
        "priority",
        "is_completed",
        "due_at",
        "due_date",
        "is_recurring",
        "version",
        "updated_at",
    )
    list_filter = ("is_completed", "priority", "is_recurring", ("due_at", admin.DateFieldListFilter))
    search_fields = ("title", "description", "owner__username", "owner__email", "=id")
    list_select_related = ("owner",)
    raw_id_fields = ("owner",)
    date_hierarchy = "created_at"
    ordering = ("-updated_at",)
    readonly_fields = ("id", "tag_keys", "version", "completed_at", "created_at", "updated_at")
    show_full_result_count = False  # COUNT(*) over a million rows on every page view is not free


@admin.register(SavedFilter)
class SavedFilterAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "params", "updated_at")
    search_fields = ("name", "owner__username")
    list_select_related = ("owner",)
    raw_id_fields = ("owner",)
    readonly_fields = ("created_at", "updated_at")
