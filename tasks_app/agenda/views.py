"""GET /api/views/…: Today, Upcoming, Overdue, Inbox and the sidebar counts (docs/projects.md)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tasks_app.agenda import selectors
from tasks_app.projects.services import inbox_ensure
from tasks_app.selectors import task_to_dict
from tasks_app.serializers import ErrorSerializer, TaskOutputSerializer
from todo_project.accounts.authentication import request_user
from todo_project.errors import DomainError

TAGS = ["views"]
_ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="Invalid input; `error.fields` names each field."),
    401: OpenApiResponse(ErrorSerializer, description="Not authenticated."),
}
_LIMIT = OpenApiParameter(
    "limit",
    {"type": "integer", "minimum": 1, "maximum": selectors.MAX_VIEW_LIMIT},
    description=f"At most this many tasks per list (1–{selectors.MAX_VIEW_LIMIT}, "
    f"default {selectors.DEFAULT_VIEW_LIMIT}).",
)


_DIGITS = re.compile(r"[0-9]{1,9}")


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    # ASCII digits only: "²".isdigit() is true and int("²") raises (a 500).
    if not _DIGITS.fullmatch(raw) or not low <= int(raw) <= high:
        raise DomainError(f"{name} must be an integer from {low} to {high}.", field=name)
    return int(raw)


def _limit(request: Request) -> int:
    return _int_param(request, "limit", selectors.DEFAULT_VIEW_LIMIT, 1, selectors.MAX_VIEW_LIMIT)


def _tasks(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [task_to_dict(row) for row in rows]


# Made once, before any view's fields: DRF orders a serializer's fields by
# when they were made, and these come first in every dated answer.
_DATE = serializers.DateField()
_TIMEZONE = serializers.CharField()


def _view_schema(
    name: str,
    summary: str,
    fields: dict[str, serializers.Field],
    *,
    dated: bool = True,
    parameters: list[OpenApiParameter] | None = None,
    description: str | None = None,
) -> Callable[[Any], Any]:
    """The schema of one view: its answer's fields, after the caller's local
    ``date`` and ``timezone`` when ``dated``; ``limit`` unless told otherwise."""
    head: dict[str, serializers.Field] = {"date": _DATE, "timezone": _TIMEZONE} if dated else {}
    return extend_schema(
        tags=TAGS,
        summary=summary,
        description=description,
        parameters=[_LIMIT] if parameters is None else parameters,
        responses={200: inline_serializer(name, {**head, **fields}), **_ERRORS},
    )


class TodayView(APIView):
    @_view_schema(
        "TodayView",
        "Today: overdue tasks, then those due today (your time zone)",
        {"overdue": TaskOutputSerializer(many=True), "today": TaskOutputSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        limit = _limit(request)
        user = request_user(request)
        view = selectors.today_view(user=user, limit=limit, context=selectors.view_context(user_id=user.pk))
        return Response(
            {
                "date": view["date"].isoformat(),
                "timezone": view["timezone"],
                "overdue": _tasks(view["overdue"]),
                "today": _tasks(view["today"]),
            }
        )


class _UpcomingDaySerializer(serializers.Serializer):
    date = serializers.DateField()
    tasks = TaskOutputSerializer(many=True)


class UpcomingView(APIView):
    @_view_schema(
        "UpcomingView",
        "Upcoming: tasks due from today on, grouped by local day",
        {
            "start": serializers.DateField(),
            "end": serializers.DateField(),
            "timezone": serializers.CharField(),
            "days": _UpcomingDaySerializer(many=True),
            "truncated": serializers.BooleanField(help_text="More tasks than limit: later days are cut."),
        },
        dated=False,
        parameters=[
            OpenApiParameter(
                "days",
                int,
                description=f"How many days, today included (1–{selectors.MAX_UPCOMING_DAYS}, default 7).",
            ),
            _LIMIT,
        ],
    )
    def get(self, request: Request) -> Response:
        days = _int_param(request, "days", 7, 1, selectors.MAX_UPCOMING_DAYS)
        limit, user = _limit(request), request_user(request)
        context = selectors.view_context(user_id=user.pk)
        view = selectors.upcoming_view(user=user, days=days, limit=limit, context=context)
        return Response(
            {
                "start": view["start"].isoformat(),
                "end": view["end"].isoformat(),
                "timezone": view["timezone"],
                "days": [{"date": d["date"].isoformat(), "tasks": _tasks(d["tasks"])} for d in view["days"]],
                "truncated": view["truncated"],
            }
        )


class OverdueView(APIView):
    @_view_schema(
        "OverdueView",
        "Overdue: open tasks due before today, oldest first",
        {"results": TaskOutputSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        limit, user = _limit(request), request_user(request)
        context = selectors.view_context(user_id=user.pk)
        now = timezone.now()
        rows = selectors.overdue_tasks(user=user, limit=limit, now=now, context=context)
        today = now.astimezone(context.tz).date()
        return Response({"date": today.isoformat(), "timezone": context.tz.key, "results": _tasks(rows)})


class InboxView(APIView):
    @_view_schema(
        "InboxView",
        "Inbox: open tasks in your Inbox, in manual order",
        {"project_id": serializers.UUIDField(), "results": TaskOutputSerializer(many=True)},
        dated=False,
    )
    def get(self, request: Request) -> Response:
        limit, user = _limit(request), request_user(request)
        inbox_id = selectors.view_context(user_id=user.pk).inbox_id or inbox_ensure(user_id=user.pk)
        rows = selectors.inbox_tasks(user=user, inbox_id=inbox_id, limit=limit)
        return Response({"project_id": str(inbox_id), "results": _tasks(rows)})


class CountsView(APIView):
    @_view_schema(
        "ViewCounts",
        "Sidebar counts in one call",
        {
            "inbox": serializers.IntegerField(),
            "today": serializers.IntegerField(),
            "overdue": serializers.IntegerField(),
            "upcoming": serializers.IntegerField(),
            "projects": serializers.DictField(child=serializers.IntegerField()),
        },
        parameters=[],
        description="Open tasks: Inbox, due today (overdue not included), overdue, upcoming (the next "
        "7 days, today included) and per project (`projects`: project id → count).",
    )
    def get(self, request: Request) -> Response:
        user = request_user(request)
        context = selectors.view_context(user_id=user.pk)
        inbox_id = context.inbox_id or inbox_ensure(user_id=user.pk)
        counts = selectors.sidebar_counts(user=user, inbox_id=inbox_id, context=context)
        return Response({**counts, "date": counts["date"].isoformat()})
