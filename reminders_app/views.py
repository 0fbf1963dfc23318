"""Reminder API: thin views over selectors and services."""

from __future__ import annotations

import uuid
from typing import Any

from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from notifications_app.selectors import user_timezone
from reminders_app import selectors, services
from reminders_app.serializers import (
    ReminderCreateInput,
    ReminderOutput,
    ReminderUpdateInput,
    SnoozeInput,
    SuggestionsInput,
)
from todo_project.errors import NotFoundError
from todo_project.pagination import PagePagination


def _uuid(value: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFoundError(f"{what} not found.") from None


def _paginated(request: Request, view: APIView, qs: Any) -> Response:
    paginator = PagePagination()
    page = paginator.paginate_queryset(qs, request, view)
    return paginator.get_paginated_response(ReminderOutput(page, many=True).data)


class ReminderListView(APIView):
    """GET /api/reminders?status=pending,triggered&task_id=…"""

    def get(self, request: Request) -> Response:
        qs = selectors.reminders_for_user(
            user_id=request.user.id,
            status=request.query_params.get("status"),
            task_id=request.query_params.get("task_id"),
        )
        return _paginated(request, self, qs)


class TaskReminderListView(APIView):
    """GET/POST /api/tasks/{task_id}/reminders"""

    def get(self, request: Request, task_id: str) -> Response:
        return _paginated(
            request,
            self,
            selectors.reminders_for_task(user_id=request.user.id, task_id=_uuid(task_id, "Task")),
        )

    def post(self, request: Request, task_id: str) -> Response:
        data = ReminderCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        reminder = services.reminder_create(
            user_id=request.user.id, task_id=_uuid(task_id, "Task"), **data.validated_data
        )
        return Response(ReminderOutput(reminder).data, status=status.HTTP_201_CREATED)


class ReminderDetailView(APIView):
    """GET/PATCH/DELETE /api/reminders/{id}"""

    def get(self, request: Request, reminder_id: str) -> Response:
        return Response(
            ReminderOutput(
                selectors.reminder_get(user_id=request.user.id, reminder_id=_uuid(reminder_id, "Reminder"))
            ).data
        )

    def patch(self, request: Request, reminder_id: str) -> Response:
        data = ReminderUpdateInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        reminder = services.reminder_update(
            user_id=request.user.id, reminder_id=_uuid(reminder_id, "Reminder"), **data.validated_data
        )
        return Response(ReminderOutput(reminder).data)

    def delete(self, request: Request, reminder_id: str) -> Response:
        services.reminder_delete(user_id=request.user.id, reminder_id=_uuid(reminder_id, "Reminder"))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ReminderSnoozeView(APIView):
    """POST /api/reminders/{id}/snooze  {"minutes": 10} or {"until": "…"}"""

    def post(self, request: Request, reminder_id: str) -> Response:
        data = SnoozeInput(data=request.data)
        data.is_valid(raise_exception=True)
        reminder = services.reminder_snooze(
            user_id=request.user.id, reminder_id=_uuid(reminder_id, "Reminder"), **data.validated_data
        )
        return Response(ReminderOutput(reminder).data)


class ReminderDismissView(APIView):
    """POST /api/reminders/{id}/dismiss"""

    def post(self, request: Request, reminder_id: str) -> Response:
        reminder = services.reminder_dismiss(
            user_id=request.user.id, reminder_id=_uuid(reminder_id, "Reminder")
        )
        return Response(ReminderOutput(reminder).data)


class ReminderSuggestionsView(APIView):
    """GET /api/reminders/suggestions?due_at=… (or due_date=YYYY-MM-DD)"""

    def get(self, request: Request) -> Response:
        data = SuggestionsInput(data=request.query_params)
        data.is_valid(raise_exception=True)
        suggestions = selectors.reminder_suggestions(
            tz=user_timezone(user_id=request.user.id), **data.validated_data
        )
        return Response({"results": suggestions})
