from __future__ import annotations

from django.contrib import admin

from reminders_app.models import Reminder


@admin.register(Reminder)
class ReminderAdmin(admin.ModelAdmin):
    list_display = ["id", "owner", "task_ref", "kind", "status", "fire_at", "triggered_at", "lag"]
    list_filter = ["status", "kind", "cancel_reason"]
    search_fields = ["id", "task_ref", "owner__username"]
    raw_id_fields = ["owner", "task"]
    date_hierarchy = "fire_at"
    readonly_fields = ["created_at", "updated_at", "triggered_at", "lag", "attempts"]
