"""Input validation for the task API, and output shapes for the OpenAPI schema.

Serializers here only check and convert input (types, lengths, formats);
responses are rendered by ``selectors.task_to_dict`` — a DRF serializer per
row was the list endpoint's measured bottleneck. The ``*OutputSerializer``
classes exist to describe responses in the OpenAPI schema only.
"""

from __future__ import annotations

import zoneinfo
from datetime import datetime
from typing import Any

from django.utils import timezone
from rest_framework import serializers

from tasks_app.models import MAX_DESCRIPTION_LENGTH, MAX_TAG_LENGTH, MAX_TITLE_LENGTH, Priority
from tasks_app.validation import PLACEMENT_FIELDS, WRITABLE_FIELDS, validate_recurrence_rule
from todo_project import fields as safe
from todo_project.errors import DomainError
from todo_project.errors import ErrorSerializer as ErrorSerializer  # for the task area's views

# Fields of the task representation a client may send back but that the
# server maintains: accepted and ignored, so a client can PUT what it GOT.
READ_ONLY_FIELDS = frozenset(
    {
        "id",
        "completed_at",
        "position",
        "created_at",
        "updated_at",
        "series_id",
        "occurrence_at",
        "is_skipped",
        "series",
    }
)
# Optimistic-concurrency controls, not task fields.
CONTROL_FIELDS = frozenset({"version", "client_updated_at"})


class StrictCharField(serializers.CharField):
    """A JSON string only: DRF's CharField would turn 42 or true into "42"/"True"."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """JSON true/false only, not "yes", 1 or "on"."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class StrictDateField(safe.DateField):
    """A calendar date (YYYY-MM-DD); a datetime is refused rather than truncated."""

    default_error_messages = {
        "invalid": "Date has wrong format. Use YYYY-MM-DD (a date without a time; use due_at for a time).",
        "out_of_range": f"Date {safe.OUT_OF_RANGE}",
    }

    def to_internal_value(self, value: Any) -> Any:
        if not isinstance(value, str):
            self.fail("invalid", format="YYYY-MM-DD")
        return super().to_internal_value(value)


class LocalDateTimeField(safe.DateTimeField):
    """An ISO 8601 datetime; without an offset it is read in the user's time zone.

    A bare date is refused: turning it into midnight would silently invent a
    time (use ``due_date`` for date-only due dates).
    """

    default_error_messages = {
        "invalid": "Datetime has wrong format. Use ISO 8601 with a time, e.g. 2026-02-15T17:00:00Z.",
        "out_of_range": f"Datetime {safe.OUT_OF_RANGE}",
    }

    def to_internal_value(self, value: Any) -> datetime:
        if not isinstance(value, str) or ("T" not in value and " " not in value.strip()):
            self.fail("invalid", format="ISO 8601")
        return super().to_internal_value(value)

    def enforce_timezone(self, value: datetime) -> datetime:
        if not safe.in_range(value):
            self.fail("out_of_range")
        if timezone.is_naive(value):
            tz = self.context.get("tz") or zoneinfo.ZoneInfo("UTC")
            value = value.replace(tzinfo=tz)
        return value.astimezone(zoneinfo.ZoneInfo("UTC"))


class TaskWriteSerializer(serializers.Serializer):
    """Create (POST), replace (PUT) or patch (PATCH with ``partial=True``) a task.

    Unknown keys are refused with 400 naming them, so a typo ("priorty") never
    silently does nothing.
    """

    title = StrictCharField(max_length=MAX_TITLE_LENGTH, trim_whitespace=True)
    description = StrictCharField(
        max_length=MAX_DESCRIPTION_LENGTH,
        allow_blank=True,
        allow_null=True,
        trim_whitespace=False,
        required=False,
    )
    is_completed = StrictBooleanField(required=False)
    due_date = StrictDateField(allow_null=True, required=False)
    due_at = LocalDateTimeField(allow_null=True, required=False)
    remind_at = LocalDateTimeField(allow_null=True, required=False)
    remind_offset_minutes = serializers.IntegerField(
        min_value=0,
        max_value=40320,
        allow_null=True,
        required=False,
        help_text="A relative reminder: remind_at follows due_at, this many minutes before it.",
    )
    is_recurring = StrictBooleanField(required=False)
    recurrence_rule = StrictCharField(
        max_length=1000, allow_blank=True, allow_null=True, required=False, help_text="RFC 5545 RRULE"
    )
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    tags = serializers.ListField(
        child=StrictCharField(max_length=MAX_TAG_LENGTH, trim_whitespace=True),
        allow_null=True,
        required=False,
        max_length=200,
    )
    project_id = serializers.UUIDField(
        allow_null=True, required=False, help_text="The project (null or omitted on create: the Inbox)."
    )
    section_id = serializers.UUIDField(allow_null=True, required=False, help_text="A section of the project.")
    parent_id = serializers.UUIDField(
        allow_null=True, required=False, help_text="The parent task: this one is its subtask."
    )
    version = serializers.IntegerField(min_value=1, required=False, write_only=True)
    client_updated_at = LocalDateTimeField(required=False, write_only=True)

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields) - READ_ONLY_FIELDS)
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)

    def validate_recurrence_rule(self, value: str | None) -> str:
        try:
            return validate_recurrence_rule(value or "")
        except DomainError as exc:
            raise serializers.ValidationError(exc.message) from None

    def task_values(self) -> dict[str, Any]:
        """The validated task fields (nulls normalised), without the control fields."""
        values = {
            name: value
            for name, value in self.validated_data.items()
            if name in WRITABLE_FIELDS or name in PLACEMENT_FIELDS
        }
        for name in ("description", "recurrence_rule"):
            if name in values and values[name] is None:
                values[name] = ""
        if "tags" in values and values["tags"] is None:
            values["tags"] = []
        return values


class ToggleSerializer(serializers.Serializer):
    version = serializers.IntegerField(min_value=1, required=False)
    client_updated_at = LocalDateTimeField(required=False)

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


class ReorderSerializer(serializers.Serializer):
    task_ids = serializers.ListField(child=serializers.UUIDField(), allow_empty=False, max_length=1000)

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


class SavedFilterWriteSerializer(serializers.Serializer):
    name = StrictCharField(max_length=100, trim_whitespace=True)
    params = serializers.DictField(
        required=False,
        help_text="List parameters as for GET /api/tasks (without page/limit), e.g. "
        '{"status": "active", "tags": "work", "sort_by": "due_at"}.',
    )

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields) - {"id", "created_at", "updated_at"})
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


# --- output shapes, for the OpenAPI schema only ---------------------------------------


class TaskOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    title = serializers.CharField()
    description = serializers.CharField()
    is_completed = serializers.BooleanField()
    completed_at = serializers.DateTimeField(allow_null=True)
    due_date = serializers.DateField(allow_null=True)
    due_at = serializers.DateTimeField(allow_null=True)
    remind_at = serializers.DateTimeField(allow_null=True)
    remind_offset_minutes = serializers.IntegerField(
        allow_null=True, help_text="Set: remind_at is due_at minus this many minutes and follows it."
    )
    is_recurring = serializers.BooleanField()
    recurrence_rule = serializers.CharField(allow_null=True)
    priority = serializers.ChoiceField(choices=Priority.choices)
    tags = serializers.ListField(child=serializers.CharField())
    position = serializers.IntegerField()
    version = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    series_id = serializers.UUIDField(allow_null=True, help_text="The recurring series this task occurs in.")
    occurrence_at = serializers.DateTimeField(allow_null=True, help_text="Its scheduled time in the series.")
    is_skipped = serializers.BooleanField(help_text="A skipped occurrence of its series.")
    project_id = serializers.UUIDField(allow_null=True, help_text="Its project (docs/projects.md).")
    section_id = serializers.UUIDField(allow_null=True, help_text="Its section within the project.")
    parent_id = serializers.UUIDField(allow_null=True, help_text="Its parent task, for a subtask.")
    series = serializers.JSONField(
        allow_null=True,
        required=False,
        help_text="Single-task responses only: the series (rule, summary, next_occurrence, status); "
        "see GET /api/series/{id}.",
    )


class TagOutputSerializer(serializers.Serializer):
    name = serializers.CharField()
    count = serializers.IntegerField()


class TagListOutputSerializer(serializers.Serializer):
    results = TagOutputSerializer(many=True)


class ReorderOutputSerializer(serializers.Serializer):
    task_ids = serializers.ListField(child=serializers.UUIDField())


class SavedFilterOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    params = serializers.DictField(child=serializers.CharField())
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


# --- projects and sections ---------------------------------------------------------


def _refuse_unknown(
    serializer: serializers.Serializer, data: Any, ignored: frozenset[str] = frozenset()
) -> None:
    if isinstance(data, dict):
        unknown = sorted(set(data) - set(serializer.fields) - ignored)
        if unknown:
            raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})


PROJECT_READ_ONLY = frozenset(
    {"id", "position", "is_inbox", "is_archived", "archived_at", "version", "created_at", "updated_at"}
)


class ProjectWriteSerializer(serializers.Serializer):
    name = StrictCharField(max_length=120, trim_whitespace=True)
    color = StrictCharField(max_length=7, required=False, help_text="Hex colour, e.g. #db4035.")
    parent_id = serializers.UUIDField(allow_null=True, required=False, help_text="Nest under this project.")

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        _refuse_unknown(self, data, PROJECT_READ_ONLY)
        return super().to_internal_value(data)


class IdListSerializer(serializers.Serializer):
    def __init__(self, *args: Any, field: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields[field] = serializers.ListField(
            child=serializers.UUIDField(), allow_empty=False, max_length=1000
        )

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        _refuse_unknown(self, data)
        return super().to_internal_value(data)


class SectionWriteSerializer(serializers.Serializer):
    name = StrictCharField(max_length=120, trim_whitespace=True)

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        _refuse_unknown(
            self, data, frozenset({"id", "project_id", "position", "version", "created_at", "updated_at"})
        )
        return super().to_internal_value(data)


class TaskMoveSerializer(serializers.Serializer):
    project_id = serializers.UUIDField(allow_null=True, required=False)
    section_id = serializers.UUIDField(allow_null=True, required=False)
    parent_id = serializers.UUIDField(allow_null=True, required=False)
    version = serializers.IntegerField(min_value=1, required=False)

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        _refuse_unknown(self, data)
        return super().to_internal_value(data)


class ProjectOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    color = serializers.CharField()
    position = serializers.IntegerField()
    parent_id = serializers.UUIDField(allow_null=True)
    is_inbox = serializers.BooleanField()
    is_archived = serializers.BooleanField()
    archived_at = serializers.DateTimeField(allow_null=True)
    version = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    open_tasks = serializers.IntegerField(required=False, help_text="In lists: open tasks in the project.")


class SectionOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    project_id = serializers.UUIDField()
    name = serializers.CharField()
    position = serializers.IntegerField()
    version = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
