"""Input parsing and output shapes of the notification API."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from notifications_app.models import Notification, NotificationPreference
from todo_project.accounts.selectors import email_is_verified


class NotificationOutput(serializers.ModelSerializer):
    reminder_id = serializers.UUIDField(allow_null=True)
    task_id = serializers.UUIDField(source="task_ref", allow_null=True)
    is_read = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = [
            "id",
            "kind",
            "channel",
            "title",
            "body",
            "reminder_id",
            "task_id",
            "occurrence_at",
            "status",
            "is_read",
            "read_at",
            "created_at",
        ]

    def get_is_read(self, obj: Notification) -> bool:
        return obj.read_at is not None


class ChannelStateOutput(serializers.Serializer):
    enabled = serializers.BooleanField(help_text="The user's switch.")
    available = serializers.BooleanField(help_text="Whether this server can deliver on the channel at all.")
    delivering = serializers.BooleanField(help_text="enabled and available: reminders go out here.")
    unavailable_reason = serializers.CharField(allow_null=True)


class PreferencesOutput(serializers.ModelSerializer):
    email_address = serializers.SerializerMethodField()
    email_address_verified = serializers.SerializerMethodField()
    webhook_secret_set = serializers.SerializerMethodField()
    channels = serializers.SerializerMethodField(
        help_text="Per channel (in_app, email, webhook, push): enabled, available, delivering, "
        "unavailable_reason. A switch that is on for a channel the server cannot deliver on (email without a "
        "SendGrid key, a webhook without an active endpoint, push without a VAPID key or a subscribed "
        "browser) is not delivering."
    )

    class Meta:
        model = NotificationPreference
        fields = [
            "in_app_enabled",
            "email_enabled",
            "email_address",
            "email_address_verified",
            "webhook_enabled",
            "webhook_url",
            "webhook_secret_set",
            "webhook_disabled_at",
            "webhook_disabled_reason",
            "push_enabled",
            "quiet_hours_start",
            "quiet_hours_end",
            "default_reminder_minutes",
            "priority_boost_enabled",
            "channels",
        ]

    @extend_schema_field(serializers.DictField(child=ChannelStateOutput()))
    def get_channels(self, obj: NotificationPreference) -> dict[str, dict[str, Any]]:
        from notifications_app.selectors import channel_states

        return channel_states(obj)

    def get_email_address(self, obj: NotificationPreference) -> str:
        if obj.email_address:
            return obj.email_address
        return get_user_model().objects.filter(id=obj.user_id).values_list("email", flat=True).first() or ""

    def get_email_address_verified(self, obj: NotificationPreference) -> bool:
        # Reminder mail goes only to a verified address (docs/notifications.md).
        return email_is_verified(user_id=obj.user_id, email=self.get_email_address(obj))

    def get_webhook_secret_set(self, obj: NotificationPreference) -> bool:
        return bool(obj.webhook_secret)


class PreferencesInput(serializers.Serializer):
    in_app_enabled = serializers.BooleanField(required=False)
    email_enabled = serializers.BooleanField(required=False)
    email_address = serializers.EmailField(required=False, allow_blank=True)
    webhook_enabled = serializers.BooleanField(required=False)
    webhook_url = serializers.URLField(required=False, allow_blank=True, max_length=2000)
    push_enabled = serializers.BooleanField(required=False)
    quiet_hours_start = serializers.TimeField(required=False, allow_null=True)
    quiet_hours_end = serializers.TimeField(required=False, allow_null=True)
    default_reminder_minutes = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=7 * 24 * 60
    )
    priority_boost_enabled = serializers.BooleanField(required=False)
