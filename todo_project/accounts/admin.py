from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from todo_project.accounts.models import Profile


class ProfileInline(admin.StackedInline):
    model = Profile
    can_delete = False
    fields = ("timezone", "created_at", "updated_at")
    readonly_fields = ("created_at", "updated_at")


# The stock user admin plus the profile, so staff can fix a user's time zone.
admin.site.unregister(get_user_model())


@admin.register(get_user_model())
class TaskbeatUserAdmin(UserAdmin):
    inlines = [ProfileInline]


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ("user", "timezone", "updated_at")
    list_filter = ("timezone",)
    search_fields = ("user__username", "user__email")
    raw_id_fields = ("user",)
    readonly_fields = ("created_at", "updated_at")
