"""Input parsing and output shapes of the reminder API."""

from __future__ import annotations

from rest_framework import serializers

from reminders_app.models import ALL_CHANNELS, Reminder
from todo_project import fields as safe


class ReminderOutput(serializers.ModelSerializer):
    task_id = serializers.UUIDField(source="task_ref")
    scheduled_for = serializers.DateTimeField(source="base_at")
    lag_seconds = serializers.SerializerMethodField()

    class Meta:
        model = Reminder
        fields = [
            "id",
            "task_id",
            "kind",
            "offset_minutes",
            "scheduled_for",
            "fire_at",
            "status",
            "cancel_reason",
            "channels",
            "snoozed_until",
            "triggered_at",
            "lag_seconds",
            "attempts",
            "created_at",
            "updated_at",
        ]

    def get_lag_seconds(self, obj: Reminder) -> float | None:
        return round(obj.lag.total_seconds(), 3) if obj.lag is not None else None


class ReminderCreateInput(serializers.Serializer):
    remind_at = safe.DateTimeField(required=False, allow_null=True)
    offset_minutes = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=525600)
    channels = serializers.ListField(
        child=serializers.ChoiceField(choices=ALL_CHANNELS), allow_null=True, required=False
    )


class ReminderUpdateInput(ReminderCreateInput):
    pass


class SnoozeInput(serializers.Serializer):
    minutes = serializers.IntegerField(required=False, min_value=1, max_value=525600)
    until = safe.DateTimeField(required=False)


class SuggestionsInput(serializers.Serializer):
    due_at = safe.DateTimeField(required=False)
    due_date = safe.DateField(required=False)


class SuggestionOutput(serializers.Serializer):
    label = serializers.CharField()  # type: ignore[assignment]  # the API's key shadows Field.label
    remind_at = serializers.DateTimeField()
    local_time = serializers.CharField(help_text="The same time in the user's zone, ISO 8601 with offset.")
    offset_minutes = serializers.IntegerField(allow_null=True)
