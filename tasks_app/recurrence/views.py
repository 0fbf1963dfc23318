"""Recurrence and quick-add endpoints: thin views over the recurrence and quick-add services/selectors.

Routes (mounted under /api/ by tasks_app/urls.py, ahead of ``tasks/<id>``):
see ``urlpatterns`` at the bottom and docs/recurrence.md, docs/quickadd.md.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.urls import path
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tasks_app.models import MAX_LOOKAHEAD_DAYS
from tasks_app.quickadd.serializers import QuickAddInput
from tasks_app.quickadd.services import task_create_from_text
from tasks_app.recurrence import selectors, services
from tasks_app.recurrence.rules import MAX_PREVIEW
from tasks_app.selectors import task_get
from tasks_app.serializers import TaskOutputSerializer
from todo_project import fields as safe_fields
from todo_project.accounts.authentication import request_user
from todo_project.errors import DomainError
from todo_project.pagination import paginated_response, positive_int_param

TAGS = ["recurrence"]


class PreviewInput(serializers.Serializer):
    rule = serializers.CharField(max_length=1000)
    # A string, parsed below: a naive value is the user's wall time, which
    # DRF's DateTimeField would read as UTC.
    start = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=40)
    timezone = serializers.CharField(required=False, allow_blank=True, max_length=64)
    count = serializers.IntegerField(required=False, default=5, min_value=1, max_value=MAX_PREVIEW)


class SeriesEditInput(serializers.Serializer):
    scope = serializers.ChoiceField(choices=["this", "future"])
    title = serializers.CharField(required=False, max_length=255)
    description = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    priority = serializers.ChoiceField(required=False, choices=["low", "medium", "high"])
    tags = serializers.ListField(child=serializers.CharField(max_length=50), required=False, max_length=20)
    recurrence_rule = serializers.CharField(required=False, max_length=1000)
    completion_mode = serializers.ChoiceField(required=False, choices=["scheduled", "completion"])
    lookahead_days = serializers.IntegerField(required=False, min_value=0, max_value=MAX_LOOKAHEAD_DAYS)


# --- response shapes, for the OpenAPI schema -----------------------------------


class SeriesOutput(serializers.Serializer):
    id = serializers.UUIDField()
    rule = serializers.CharField(help_text="The RFC 5545 rule set, with DTSTART.")
    summary = serializers.CharField(help_text='Human-readable, e.g. "every weekday at 09:00".')
    dtstart = serializers.DateTimeField()
    timezone = serializers.CharField()
    all_day = serializers.BooleanField()
    completion_mode = serializers.ChoiceField(choices=["scheduled", "completion"])
    lookahead_days = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["active", "stopped", "ended"])
    is_active = serializers.BooleanField()
    ended_at = serializers.DateTimeField(allow_null=True)
    next_occurrence = serializers.DateTimeField(allow_null=True)
    title = serializers.CharField()
    description = serializers.CharField()
    priority = serializers.CharField()
    tags = serializers.ListField(child=serializers.CharField())
    reminder_offsets = serializers.ListField(
        child=serializers.IntegerField(), help_text="Minutes before due."
    )
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class OccurrenceOutput(TaskOutputSerializer):
    occurrence_status = serializers.ChoiceField(choices=["open", "completed", "skipped"])


class OccurrenceWithSeriesOutput(OccurrenceOutput):
    series = SeriesOutput(allow_null=True)  # type: ignore[assignment]  # the series block, typed


class SkipOutput(serializers.Serializer):
    skipped = OccurrenceOutput()
    next = OccurrenceOutput(allow_null=True)


class UpcomingOutput(serializers.Serializer):
    task_id = serializers.UUIDField()
    series_id = serializers.UUIDField(allow_null=True)
    summary = serializers.CharField()
    timezone = serializers.CharField()
    occurrences = serializers.ListField(child=serializers.DateTimeField())


class PreviewOutput(serializers.Serializer):
    rule = serializers.CharField()
    summary = serializers.CharField()
    dtstart = serializers.DateTimeField()
    timezone = serializers.CharField()
    occurrences = serializers.ListField(child=serializers.DateTimeField())


class SpanOutput(serializers.Serializer):
    start = serializers.IntegerField()
    end = serializers.IntegerField()
    kind = serializers.CharField()
    text = serializers.CharField()


class QuickAddPreviewOutput(serializers.Serializer):
    title = serializers.CharField()
    project = serializers.JSONField(
        allow_null=True, help_text="The project `##Name` names: {id, name} (docs/quickadd.md), else null."
    )
    due_date = serializers.DateField(allow_null=True)
    due_at = serializers.DateTimeField(allow_null=True)
    is_recurring = serializers.BooleanField()
    recurrence_rule = serializers.CharField(allow_null=True)
    recurrence_summary = serializers.CharField(allow_null=True)
    completion_mode = serializers.ChoiceField(choices=["scheduled", "completion"])
    priority = serializers.CharField(allow_null=True)
    tags = serializers.ListField(child=serializers.CharField())
    reminder_offsets = serializers.ListField(child=serializers.IntegerField())
    reminder_times = serializers.ListField(child=serializers.DateTimeField())
    spans = SpanOutput(many=True)
    unrecognised = serializers.ListField(child=serializers.CharField())
    timezone = serializers.CharField()


class OccurrencePageOutput(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = OccurrenceOutput(many=True)


class DeletedOutput(serializers.Serializer):
    deleted = serializers.IntegerField(help_text="Task rows deleted.")


_COUNT = OpenApiParameter("count", int, description=f"How many (1–{MAX_PREVIEW}, default 5).")
_SCOPE = OpenApiParameter("scope", str, enum=["this", "future", "all"], required=True)


def _parse_start(raw: str | None) -> datetime | None:
    if not raw:
        return None
    try:
        parsed = parse_datetime(raw)
    except ValueError:
        parsed = None
    if parsed is None:
        raise DomainError("start must be an ISO 8601 date-time, e.g. 2026-01-07T09:00:00.", field="start")
    if not safe_fields.in_range(parsed):
        raise DomainError(f"start {safe_fields.OUT_OF_RANGE}", field="start")
    return parsed


class QuickAddParseView(APIView):
    @extend_schema(
        tags=TAGS,
        summary="Parse quick-add text (preview, nothing saved)",
        request=QuickAddInput,
        responses=QuickAddPreviewOutput,
    )
    def post(self, request: Request) -> Response:
        data = QuickAddInput(data=request.data)
        data.is_valid(raise_exception=True)
        from tasks_app.quickadd.services import quick_add_preview

        return Response(quick_add_preview(user=request_user(request), text=data.validated_data["text"]))


class QuickAddCreateView(APIView):
    @extend_schema(
        tags=TAGS,
        summary="Create a task from quick-add text",
        description="Answers the one task representation, as POST /api/tasks does.",
        request=QuickAddInput,
        responses={201: TaskOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        # Imported here: tasks_app.views imports this module's input serializer.
        from tasks_app.services import TaskWriteResult
        from tasks_app.views import _task_response

        data = QuickAddInput(data=request.data)
        data.is_valid(raise_exception=True)
        task = task_create_from_text(owner=request_user(request), text=data.validated_data["text"])
        return _task_response(TaskWriteResult(task=task), status.HTTP_201_CREATED)


def _task_with_series(task: Any) -> dict[str, Any]:
    out = selectors.occurrence_to_dict(task)
    out["series"] = selectors.task_series_info(task=task)
    return out


class RecurrencePreviewView(APIView):
    @extend_schema(
        tags=TAGS, summary="Preview an unsaved rule", request=PreviewInput, responses=PreviewOutput
    )
    def post(self, request: Request) -> Response:
        data = PreviewInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        return Response(
            selectors.recurrence_preview(
                user=request_user(request),
                rule=values["rule"],
                start=_parse_start(values.get("start")),
                tz=values.get("timezone") or None,
                count=values["count"],
            )
        )


class TaskOccurrencesView(APIView):
    @extend_schema(
        tags=TAGS,
        summary="Upcoming occurrences of a recurring task (no rows created)",
        parameters=[_COUNT],
        responses=UpcomingOutput,
    )
    def get(self, request: Request, task_id: str) -> Response:
        count = positive_int_param(request, "count", 5, MAX_PREVIEW)
        return Response(
            selectors.task_occurrence_preview(user=request_user(request), task_id=task_id, count=count)
        )


class TaskSkipView(APIView):
    @extend_schema(
        tags=TAGS,
        summary="Skip this occurrence and generate the following one",
        request=None,
        responses=SkipOutput,
    )
    def post(self, request: Request, task_id: str) -> Response:
        skipped, following = services.occurrence_skip(user=request_user(request), task_id=task_id)
        return Response(
            {
                "skipped": selectors.occurrence_to_dict(skipped),
                "next": selectors.occurrence_to_dict(following) if following is not None else None,
            }
        )


class TaskSeriesView(APIView):
    @extend_schema(tags=TAGS, summary="The series of a recurring task", responses=SeriesOutput)
    def get(self, request: Request, task_id: str) -> Response:
        task = task_get(user=request_user(request), task_id=task_id)
        info = selectors.task_series_info(task=task)
        if info is None:
            raise DomainError("This task has no series.", field="task_id", code="not_recurring")
        return Response(info)

    @extend_schema(
        tags=TAGS,
        summary="Edit this occurrence or this and future ones",
        request=SeriesEditInput,
        responses=OccurrenceWithSeriesOutput,
    )
    def patch(self, request: Request, task_id: str) -> Response:
        data = SeriesEditInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        scope = values.pop("scope")
        task = services.series_update(user=request_user(request), task_id=task_id, scope=scope, values=values)
        task.refresh_from_db()
        return Response(_task_with_series(task))

    @extend_schema(
        tags=TAGS,
        summary="Delete this occurrence, this and future ones, or the whole series",
        parameters=[_SCOPE],
        responses=DeletedOutput,
    )
    def delete(self, request: Request, task_id: str) -> Response:
        scope = request.query_params.get("scope", "")
        deleted = services.series_delete(user=request_user(request), task_id=task_id, scope=scope)
        return Response({"deleted": deleted})


class SeriesDetailView(APIView):
    @extend_schema(tags=TAGS, summary="A series", responses=SeriesOutput)
    def get(self, request: Request, series_id: str) -> Response:
        return Response(
            selectors.series_to_dict(selectors.series_get(user=request_user(request), series_id=series_id))
        )


class SeriesStopView(APIView):
    @extend_schema(
        tags=TAGS, summary="Stop a series (existing occurrences stay)", request=None, responses=SeriesOutput
    )
    def post(self, request: Request, series_id: str) -> Response:
        series = services.series_stop(user=request_user(request), series_id=series_id)
        return Response(selectors.series_to_dict(series))


class SeriesHistoryView(APIView):
    @extend_schema(
        tags=TAGS,
        summary="Every occurrence of a series, oldest first",
        parameters=[
            OpenApiParameter("page", int),
            OpenApiParameter("limit", int, description="1–100, default 20"),
        ],
        responses=OccurrencePageOutput,
    )
    def get(self, request: Request, series_id: str) -> Response:
        rows = selectors.series_history(user=request_user(request), series_id=series_id)
        return paginated_response(
            request, self, rows, lambda page: [selectors.occurrence_to_dict(t) for t in page]
        )


urlpatterns = [
    path("tasks/parse", QuickAddParseView.as_view(), name="task-parse"),
    path("tasks/quick", QuickAddCreateView.as_view(), name="task-quick-add"),
    path("tasks/<str:task_id>/skip", TaskSkipView.as_view(), name="task-skip"),
    path("tasks/<str:task_id>/occurrences", TaskOccurrencesView.as_view(), name="task-occurrences"),
    path("tasks/<str:task_id>/series", TaskSeriesView.as_view(), name="task-series"),
    path("recurrence/preview", RecurrencePreviewView.as_view(), name="recurrence-preview"),
    path("series/<str:series_id>", SeriesDetailView.as_view(), name="series-detail"),
    path("series/<str:series_id>/stop", SeriesStopView.as_view(), name="series-stop"),
    path("series/<str:series_id>/history", SeriesHistoryView.as_view(), name="series-history"),
]
