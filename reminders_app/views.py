"""Reminder API: thin views over selectors and services."""

from __future__ import annotations

import uuid
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from reminders_app import selectors, services
from reminders_app.serializers import (
    ReminderCreateInput,
    ReminderOutput,
    ReminderUpdateInput,
    SnoozeInput,
    SuggestionOutput,
    SuggestionsInput,
)
from tasks_app.selectors import user_timezone
from todo_project.accounts.authentication import request_user
from todo_project.errors import ErrorSerializer
from todo_project.ids import uuid_or_404
from todo_project.pagination import paginated_response


def _uuid(value: str, what: str) -> uuid.UUID:
    return uuid_or_404(value, what=what)


TAGS = ["reminders"]
_ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="Invalid input; `error.fields` names each field."),
    401: OpenApiResponse(ErrorSerializer, description="Not authenticated."),
    404: OpenApiResponse(ErrorSerializer, description="No such task or reminder of yours."),
    409: OpenApiResponse(
        ErrorSerializer, description="Not allowed in the reminder's or task's current state."
    ),
}
_PAGE = [
    OpenApiParameter("page", int, description="1-based page number."),
    OpenApiParameter("limit", int, description="Page size, 1–100 (default 20)."),
]
_PAGINATED = inline_serializer(
    "PaginatedReminderList",
    {
        "count": serializers.IntegerField(),
        "next": serializers.URLField(allow_null=True),
        "previous": serializers.URLField(allow_null=True),
        "results": ReminderOutput(many=True),
    },
)
_TASK_ID = OpenApiParameter("task_id", OpenApiTypes.UUID, OpenApiParameter.PATH)
_REMINDER_ID = OpenApiParameter("reminder_id", OpenApiTypes.UUID, OpenApiParameter.PATH)


def _paginated(request: Request, view: APIView, qs: Any) -> Response:
    return paginated_response(request, view, qs, lambda page: ReminderOutput(page, many=True).data)


class ReminderListView(APIView):
    """GET /api/reminders?status=pending,triggered&task_id=…"""

    @extend_schema(
        tags=TAGS,
        summary="List your reminders",
        operation_id="reminders_list",
        parameters=[
            OpenApiParameter(
                "status", str, description="Comma-separated: pending,triggered,cancelled,dismissed."
            ),
            OpenApiParameter("task_id", OpenApiTypes.UUID),
            *_PAGE,
        ],
        responses={200: _PAGINATED, **_ERRORS},
    )
    def get(self, request: Request) -> Response:
        qs = selectors.reminders_for_user(
            user_id=request_user(request).id,
            status=request.query_params.get("status"),
            task_id=request.query_params.get("task_id"),
        )
        return _paginated(request, self, qs)


class TaskReminderListView(APIView):
    """GET/POST /api/tasks/{task_id}/reminders"""

    @extend_schema(
        tags=TAGS,
        summary="List a task's reminders",
        operation_id="task_reminders_list",
        parameters=[_TASK_ID, *_PAGE],
        responses={200: _PAGINATED, **_ERRORS},
    )
    def get(self, request: Request, task_id: str) -> Response:
        return _paginated(
            request,
            self,
            selectors.reminders_for_task(user_id=request_user(request).id, task_id=_uuid(task_id, "Task")),
        )

    @extend_schema(
        tags=TAGS,
        summary="Add a reminder to a task (remind_at or offset_minutes)",
        parameters=[_TASK_ID],
        request=ReminderCreateInput,
        responses={201: ReminderOutput, **_ERRORS},
    )
    def post(self, request: Request, task_id: str) -> Response:
        data = ReminderCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        reminder = services.reminder_create(
            user_id=request_user(request).id, task_id=_uuid(task_id, "Task"), **data.validated_data
        )
        return Response(ReminderOutput(reminder).data, status=status.HTTP_201_CREATED)


class ReminderDetailView(APIView):
    """GET/PATCH/DELETE /api/reminders/{id}"""

    @extend_schema(
        tags=TAGS,
        summary="Get a reminder",
        parameters=[_REMINDER_ID],
        responses={200: ReminderOutput, **_ERRORS},
    )
    def get(self, request: Request, reminder_id: str) -> Response:
        return Response(
            ReminderOutput(
                selectors.reminder_get(
                    user_id=request_user(request).id, reminder_id=_uuid(reminder_id, "Reminder")
                )
            ).data
        )

    @extend_schema(
        tags=TAGS,
        summary="Change a reminder's time or channels",
        parameters=[_REMINDER_ID],
        request=ReminderUpdateInput,
        responses={200: ReminderOutput, **_ERRORS},
    )
    def patch(self, request: Request, reminder_id: str) -> Response:
        data = ReminderUpdateInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        reminder = services.reminder_update(
            user_id=request_user(request).id,
            reminder_id=_uuid(reminder_id, "Reminder"),
            **data.validated_data,
        )
        return Response(ReminderOutput(reminder).data)

    @extend_schema(
        tags=TAGS,
        summary="Cancel a reminder",
        parameters=[_REMINDER_ID],
        responses={204: None, **_ERRORS},
    )
    def delete(self, request: Request, reminder_id: str) -> Response:
        services.reminder_delete(user_id=request_user(request).id, reminder_id=_uuid(reminder_id, "Reminder"))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ReminderSnoozeView(APIView):
    """POST /api/reminders/{id}/snooze  {"minutes": 10} or {"until": "…"}"""

    @extend_schema(
        tags=TAGS,
        summary="Snooze a reminder (minutes or until); the task is not changed",
        parameters=[_REMINDER_ID],
        request=SnoozeInput,
        responses={200: ReminderOutput, **_ERRORS},
    )
    def post(self, request: Request, reminder_id: str) -> Response:
        data = SnoozeInput(data=request.data)
        data.is_valid(raise_exception=True)
        reminder = services.reminder_snooze(
            user_id=request_user(request).id,
            reminder_id=_uuid(reminder_id, "Reminder"),
            **data.validated_data,
        )
        return Response(ReminderOutput(reminder).data)


class ReminderDismissView(APIView):
    """POST /api/reminders/{id}/dismiss"""

    @extend_schema(
        tags=TAGS,
        summary="Dismiss a reminder",
        parameters=[_REMINDER_ID],
        request=None,
        responses={200: ReminderOutput, **_ERRORS},
    )
    def post(self, request: Request, reminder_id: str) -> Response:
        reminder = services.reminder_dismiss(
            user_id=request_user(request).id, reminder_id=_uuid(reminder_id, "Reminder")
        )
        return Response(ReminderOutput(reminder).data)


class ReminderSuggestionsView(APIView):
    """GET /api/reminders/suggestions?due_at=… (or due_date=YYYY-MM-DD)"""

    @extend_schema(
        tags=TAGS,
        summary="Suggested reminder times for a due time, in your time zone",
        parameters=[SuggestionsInput],
        responses={
            200: inline_serializer("ReminderSuggestions", {"results": SuggestionOutput(many=True)}),
            **_ERRORS,
        },
    )
    def get(self, request: Request) -> Response:
        data = SuggestionsInput(data=request.query_params)
        data.is_valid(raise_exception=True)
        suggestions = selectors.reminder_suggestions(
            tz=user_timezone(request_user(request)), **data.validated_data
        )
        return Response({"results": suggestions})
