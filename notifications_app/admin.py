from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from notifications_app.models import (
    Notification,
    NotificationPreference,
    NotificationStatus,
    PushSubscription,
)
from notifications_app.transports import push_origin


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "user",
        "channel",
        "kind",
        "status",
        "attempts",
        "created_at",
        "sent_at",
        "failed_at",
    ]
    list_filter = ["status", "channel", "kind"]
    search_fields = ["id", "user__username", "recipient", "last_error"]
    raw_id_fields = ["user", "reminder"]
    readonly_fields = ["created_at", "updated_at", "sent_at", "failed_at", "attempts", "last_error"]
    actions = ["retry_failed"]

    @admin.action(description="Retry selected failed deliveries")
    def retry_failed(self, request: HttpRequest, queryset: QuerySet[Notification]) -> None:
        # Back to pending with a fresh attempt budget; the delivery sweep picks them up.
        count = (
            queryset.filter(status=NotificationStatus.FAILED)
            .exclude(channel="in_app")
            .update(
                status=NotificationStatus.PENDING, attempts=0, failed_at=None, next_attempt_at=timezone.now()
            )
        )
        self.message_user(request, f"{count} notification(s) queued for retry.")


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    list_display = [
        "user",
        "email_enabled",
        "webhook_enabled",
        "push_enabled",
        "webhook_disabled_at",
        "quiet_hours_start",
    ]
    raw_id_fields = ["user"]
    # The signing secret is the user's; operators need not see it.
    exclude = ["webhook_secret", "webhook_previous_secret"]


@admin.register(PushSubscription)
class PushSubscriptionAdmin(admin.ModelAdmin):
    """Read-only: browsers subscribe themselves; an operator may only remove one."""

    list_display = ["id", "user", "push_service", "user_agent", "created_at", "updated_at"]
    search_fields = ["id", "user__username", "user_agent"]
    raw_id_fields = ["user"]
    # The endpoint is a capability URL and auth the browser's secret: the
    # list shows the push service only, the form neither key.
    exclude = ["p256dh", "auth"]
    readonly_fields = ["user", "endpoint", "user_agent", "created_at", "updated_at"]

    @admin.display(description="push service")
    def push_service(self, obj: PushSubscription) -> str:
        return push_origin(obj.endpoint)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: PushSubscription | None = None) -> bool:
        return False
