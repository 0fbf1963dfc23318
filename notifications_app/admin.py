from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from notifications_app.models import Notification, NotificationPreference, NotificationStatus


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
    list_display = ["user", "email_enabled", "webhook_enabled", "webhook_disabled_at", "quiet_hours_start"]
    raw_id_fields = ["user"]
    # The signing secret is the user's; operators need not see it.
    exclude = ["webhook_secret"]
