"""The task REST API: thin views that parse input, call one service or selector, shape output."""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth.models import User
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tasks_app import selectors, services, validation
from tasks_app.quickadd.serializers import QuickAddInput
from tasks_app.quickadd.services import task_create_from_text
from tasks_app.recurrence.selectors import task_series_info
from tasks_app.serializers import (
    ReorderOutputSerializer,
    ReorderSerializer,
    SavedFilterOutputSerializer,
    SavedFilterWriteSerializer,
    TagListOutputSerializer,
    TaskOutputSerializer,
    TaskWriteSerializer,
    ToggleSerializer,
)
from todo_project.accounts.authentication import request_user
from todo_project.errors import DomainError, ErrorSerializer
from todo_project.pagination import MAX_LIMIT, MAX_PAGE, PagePagination, positive_int_param

TAGS = ["tasks"]
_ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="Invalid input; `error.fields` names each field."),
    401: OpenApiResponse(ErrorSerializer, description="Not authenticated."),
    404: OpenApiResponse(ErrorSerializer, description="No such task of yours."),
}
_CONFLICT = {
    409: OpenApiResponse(
        ErrorSerializer,
        description="A stale write lost last-write-wins: `error.details` has `winner`, "
        "`current_version` and the current `task`. A stale write that wins answers 2xx with the "
        "headers `Taskbeat-Conflict: client_won` and `Taskbeat-Overwritten-Version`; every task "
        'response carries `ETag: "<version>"`.',
    )
}
_IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description='The version the client last saw, e.g. `"3"` (same as the `version` body field).',
)
_TASK_ID = OpenApiParameter("task_id", OpenApiTypes.UUID, OpenApiParameter.PATH)
_FILTER_ID = OpenApiParameter("filter_id", OpenApiTypes.INT, OpenApiParameter.PATH)

LIST_PARAMETERS = [
    OpenApiParameter("q", str, description="Full-text search on title and description (websearch syntax)."),
    OpenApiParameter(
        "status",
        str,
        enum=list(selectors.STATUSES),
        description="Default all (`active` with the header Taskbeat-API-Version: 2).",
    ),
    OpenApiParameter("priority", str, description="Comma-separated priorities, OR-ed: `high,medium`."),
    OpenApiParameter("tags", str, description="Comma-separated tags, case-insensitive; all must match."),
    OpenApiParameter("tags_mode", str, enum=list(selectors.TAG_MODES), description="`any` to OR the tags."),
    OpenApiParameter(
        "due_after", str, description="Date or datetime, inclusive; a date means from 00:00 of that day."
    ),
    OpenApiParameter(
        "due_before",
        str,
        description="Date or datetime, inclusive; a date means through the end of that day.",
    ),
    OpenApiParameter("is_recurring", bool),
    OpenApiParameter("sort_by", str, enum=list(selectors.SORT_FIELDS)),
    OpenApiParameter("sort_order", str, enum=["asc", "desc"], description="Default depends on sort_by."),
    OpenApiParameter("page", int, description="1-based page number (default 1)."),
    OpenApiParameter("limit", int, description=f"Page size, 1–{MAX_LIMIT} (default 20)."),
]
_PAGE_OF_TASKS = inline_serializer(
    "PaginatedTaskList",
    {
        "count": serializers.IntegerField(),
        "next": serializers.URLField(allow_null=True),
        "previous": serializers.URLField(allow_null=True),
        "results": TaskOutputSerializer(many=True),
    },
)
_VERSION_RE = re.compile(r'^(?:W/)?"?(\d{1,9})"?$')


def _query_dict(request: Request) -> dict[str, str]:
    # Repeated parameters (tags=a&tags=b) mean the same as comma-separated ones.
    return {key: ",".join(request.query_params.getlist(key)) for key in request.query_params}


API_VERSIONS = (1, 2)
_API_VERSION = OpenApiParameter(
    "Taskbeat-API-Version",
    OpenApiTypes.INT,
    OpenApiParameter.HEADER,
    description="1 (default): the list's default status is `all`, as it always was. "
    "2: the default status is `active` (open tasks, no skipped occurrences), what a new client "
    "wants; an explicit `status` always wins.",
)


def _default_status(request: Request, raw: dict[str, str]) -> dict[str, str]:
    """The list's default ``status`` by API version (docs/tasks.md): 1 → all, 2 → active."""
    header = request.headers.get("Taskbeat-API-Version", "").strip()
    if not header:
        return raw
    if not (header.isascii() and header.isdigit()) or int(header) not in API_VERSIONS:
        raise DomainError(
            f"Taskbeat-API-Version must be one of {', '.join(map(str, API_VERSIONS))}.",
            field="Taskbeat-API-Version",
        )
    if int(header) >= 2 and not raw.get("status"):
        return {**raw, "status": "active"}
    return raw


def _expected_version(request: Request, body_version: int | None) -> int | None:
    header = request.headers.get("If-Match", "").strip()
    if not header or header == "*":
        return body_version
    match = _VERSION_RE.match(header)
    if not match:
        raise DomainError('If-Match must be a task version such as "3".', field="If-Match")
    version = int(match.group(1))
    if body_version is not None and body_version != version:
        raise DomainError("If-Match and version disagree.", field="version")
    return version


def _task_response(result: services.TaskWriteResult, status_code: int = status.HTTP_200_OK) -> Response:
    task = result.task
    if task is None:
        response = Response(status=status.HTTP_204_NO_CONTENT)
    else:
        # A single task carries its series block (rule, summary, next
        # occurrence, status); list items carry only ``series_id``.
        response = Response(
            {**selectors.task_to_dict(task), "series": task_series_info(task=task)}, status=status_code
        )
        response["ETag"] = f'"{task.version}"'
    if result.conflict:
        response["Taskbeat-Conflict"] = result.conflict
        response["Taskbeat-Overwritten-Version"] = str(result.overwritten_version)
    return response


class TaskPagePagination(PagePagination):
    """``PagePagination`` with at most one query besides the page, often none.

    Default: the page is fetched with one extra row; if that row is absent the
    page is the last one and the total is known, otherwise a COUNT follows
    (an index-only scan, cheap next to sorting the whole match).
    ``count_in_page``: the total rides along as ``COUNT(*) OVER ()``. Used for
    full-text searches, whose rank order makes PostgreSQL evaluate every match
    anyway, so a separate COUNT would repeat the index work; for index-ordered
    lists the window would defeat the LIMIT instead (measured: 113 ms vs 16 ms
    for a 100,000-task default page).

    The page comes from ``selectors.task_list_page`` (the list query compiled
    once per parameter shape, not per request); the COUNT from the queryset.
    """

    count_in_page = False

    def paginate_task_list(self, request: Request, user: User, params: selectors.TaskListParams) -> list:
        self.request = request
        self.page = positive_int_param(request, "page", 1, MAX_PAGE)
        self.limit = positive_int_param(request, "limit", self.default_limit, MAX_LIMIT)
        start = (self.page - 1) * self.limit
        if self.count_in_page:
            rows = selectors.task_list_page(
                user=user, params=params, offset=start, limit=self.limit, with_total=True
            )
            if rows:
                self.count = rows[0]["total_count"]
            else:
                self.count = selectors.task_list(user=user, params=params).count() if self.page > 1 else 0
            return rows
        rows = selectors.task_list_page(user=user, params=params, offset=start, limit=self.limit + 1)
        if len(rows) <= self.limit and (rows or self.page == 1):
            self.count = start + len(rows)
        else:
            self.count = selectors.task_list(user=user, params=params).count()
        return rows[: self.limit]


def _paginated_tasks(request: Request, view: APIView, raw: dict[str, str]) -> Response:
    params = selectors.parse_task_list_params(raw)
    paginator = TaskPagePagination()
    paginator.count_in_page = bool(params.q)
    rows = paginator.paginate_task_list(request, request_user(request), params)
    return paginator.get_paginated_response([selectors.task_to_dict(row) for row in rows])


class TaskListCreateView(APIView):
    @extend_schema(
        tags=TAGS,
        summary="List your tasks",
        operation_id="tasks_list",
        parameters=[*LIST_PARAMETERS, _API_VERSION],
        responses={200: _PAGE_OF_TASKS, **_ERRORS},
    )
    def get(self, request: Request) -> Response:
        return _paginated_tasks(request, self, _default_status(request, _query_dict(request)))

    @extend_schema(
        tags=TAGS,
        summary="Create a task",
        request=TaskWriteSerializer,
        responses={201: TaskOutputSerializer, **_ERRORS},
    )
    def post(self, request: Request) -> Response:
        if isinstance(request.data, dict) and "text" in request.data:
            return self._create_from_text(request)
        serializer = TaskWriteSerializer(
            data=request.data, context={"tz": selectors.user_timezone(request_user(request))}
        )
        serializer.is_valid(raise_exception=True)
        task = services.task_create(owner=request_user(request), **serializer.task_values())
        return _task_response(services.TaskWriteResult(task=task), status.HTTP_201_CREATED)

    def _create_from_text(self, request: Request) -> Response:
        """Quick add (docs/quickadd.md): creates exactly what POST /api/tasks/parse previews."""
        others = sorted(set(request.data) - {"text"})
        if others:
            raise DomainError(
                f"text cannot be combined with explicit fields ({', '.join(others)}).", field=others[0]
            )
        data = QuickAddInput(data=request.data)
        data.is_valid(raise_exception=True)
        task = task_create_from_text(owner=request_user(request), text=data.validated_data["text"])
        return _task_response(services.TaskWriteResult(task=task), status.HTTP_201_CREATED)


class TaskDetailView(APIView):
    @extend_schema(
        tags=TAGS,
        summary="Get a task",
        parameters=[_TASK_ID],
        responses={200: TaskOutputSerializer, **_ERRORS},
    )
    def get(self, request: Request, task_id: str) -> Response:
        task = selectors.task_get(user=request_user(request), task_id=task_id)
        return _task_response(services.TaskWriteResult(task=task))

    def _write(self, request: Request, task_id: str, *, partial: bool) -> Response:
        serializer = TaskWriteSerializer(
            data=request.data, partial=partial, context={"tz": selectors.user_timezone(request_user(request))}
        )
        serializer.is_valid(raise_exception=True)
        values = serializer.task_values()
        if not partial:
            # PUT replaces: what the client left out goes back to its default.
            values = {**validation.FIELD_DEFAULTS, **values}
        result = services.task_update(
            user=request_user(request),
            task_id=task_id,
            values=values,
            expected_version=_expected_version(request, serializer.validated_data.get("version")),
            client_updated_at=serializer.validated_data.get("client_updated_at"),
        )
        return _task_response(result)

    @extend_schema(
        tags=TAGS,
        summary="Replace a task",
        description="Omitted fields return to their defaults. See docs/tasks.md for versions and conflicts.",
        request=TaskWriteSerializer,
        parameters=[_TASK_ID, _IF_MATCH],
        responses={200: TaskOutputSerializer, **_ERRORS, **_CONFLICT},
    )
    def put(self, request: Request, task_id: str) -> Response:
        return self._write(request, task_id, partial=False)

    @extend_schema(
        tags=TAGS,
        summary="Change some fields of a task",
        request=TaskWriteSerializer,
        parameters=[_TASK_ID, _IF_MATCH],
        responses={200: TaskOutputSerializer, **_ERRORS, **_CONFLICT},
    )
    def patch(self, request: Request, task_id: str) -> Response:
        return self._write(request, task_id, partial=True)

    @extend_schema(
        tags=TAGS,
        summary="Delete a task",
        request=ToggleSerializer,
        parameters=[_TASK_ID, _IF_MATCH],
        responses={204: None, **_ERRORS, **_CONFLICT},
    )
    def delete(self, request: Request, task_id: str) -> Response:
        serializer = ToggleSerializer(
            data=request.data or {}, context={"tz": selectors.user_timezone(request_user(request))}
        )
        serializer.is_valid(raise_exception=True)
        result = services.task_delete(
            user=request_user(request),
            task_id=task_id,
            expected_version=_expected_version(request, serializer.validated_data.get("version")),
            client_updated_at=serializer.validated_data.get("client_updated_at"),
        )
        return _task_response(result)


class TaskToggleView(APIView):
    @extend_schema(
        tags=TAGS,
        summary="Flip a task between done and not done",
        request=ToggleSerializer,
        parameters=[_TASK_ID, _IF_MATCH],
        responses={200: TaskOutputSerializer, **_ERRORS, **_CONFLICT},
    )
    def post(self, request: Request, task_id: str) -> Response:
        serializer = ToggleSerializer(
            data=request.data or {}, context={"tz": selectors.user_timezone(request_user(request))}
        )
        serializer.is_valid(raise_exception=True)
        result = services.task_toggle(
            user=request_user(request),
            task_id=task_id,
            expected_version=_expected_version(request, serializer.validated_data.get("version")),
            client_updated_at=serializer.validated_data.get("client_updated_at"),
        )
        return _task_response(result)


class TaskReorderView(APIView):
    @extend_schema(
        tags=TAGS,
        summary="Reorder tasks",
        description="The listed tasks take the positions they occupy, in the given order.",
        request=ReorderSerializer,
        responses={200: ReorderOutputSerializer, **_ERRORS},
    )
    def post(self, request: Request) -> Response:
        serializer = ReorderSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        ordered = services.task_reorder(
            user=request_user(request), task_ids=serializer.validated_data["task_ids"]
        )
        return Response({"task_ids": ordered})


class TagListView(APIView):
    @extend_schema(
        tags=TAGS,
        summary="Your tags with usage counts (auto-suggest)",
        parameters=[
            OpenApiParameter("prefix", str, description="Only tags starting with this, case-insensitive."),
            OpenApiParameter("limit", int, description=f"At most this many (1–{MAX_LIMIT}, default 50)."),
        ],
        responses={200: TagListOutputSerializer, **_ERRORS},
    )
    def get(self, request: Request) -> Response:
        prefix = request.query_params.get("prefix", "").strip()
        limit = positive_int_param(request, "limit", 50, MAX_LIMIT)
        return Response(
            {"results": selectors.tag_list(user=request_user(request), prefix=prefix, limit=limit)}
        )


class SavedFilterListCreateView(APIView):
    @extend_schema(
        tags=["filters"],
        summary="Your saved filters",
        operation_id="filters_list",
        responses={
            200: inline_serializer("SavedFilterList", {"results": SavedFilterOutputSerializer(many=True)}),
            **_ERRORS,
        },
    )
    def get(self, request: Request) -> Response:
        saved = selectors.saved_filter_list(user=request_user(request))
        return Response({"results": [selectors.saved_filter_to_dict(item) for item in saved]})

    @extend_schema(
        tags=["filters"],
        summary="Save a filter",
        request=SavedFilterWriteSerializer,
        responses={201: SavedFilterOutputSerializer, **_ERRORS, 409: ErrorSerializer},
    )
    def post(self, request: Request) -> Response:
        serializer = SavedFilterWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        saved = services.saved_filter_create(
            owner=request_user(request),
            name=serializer.validated_data["name"],
            params=serializer.validated_data.get("params", {}),
        )
        return Response(selectors.saved_filter_to_dict(saved), status=status.HTTP_201_CREATED)


class SavedFilterDetailView(APIView):
    @extend_schema(
        tags=["filters"],
        parameters=[_FILTER_ID],
        summary="Get a saved filter",
        responses={200: SavedFilterOutputSerializer, **_ERRORS},
    )
    def get(self, request: Request, filter_id: str) -> Response:
        return Response(
            selectors.saved_filter_to_dict(
                selectors.saved_filter_get(user=request_user(request), filter_id=filter_id)
            )
        )

    def _write(self, request: Request, filter_id: str, *, partial: bool) -> Response:
        serializer = SavedFilterWriteSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        data: dict[str, Any] = serializer.validated_data
        saved = services.saved_filter_update(
            user=request_user(request),
            filter_id=filter_id,
            name=data.get("name"),
            params=data.get("params", None if partial else {}),
        )
        return Response(selectors.saved_filter_to_dict(saved))

    @extend_schema(
        tags=["filters"],
        parameters=[_FILTER_ID],
        summary="Replace a saved filter",
        request=SavedFilterWriteSerializer,
        responses={200: SavedFilterOutputSerializer, **_ERRORS, 409: ErrorSerializer},
    )
    def put(self, request: Request, filter_id: str) -> Response:
        return self._write(request, filter_id, partial=False)

    @extend_schema(
        tags=["filters"],
        parameters=[_FILTER_ID],
        summary="Rename a saved filter or change its parameters",
        request=SavedFilterWriteSerializer,
        responses={200: SavedFilterOutputSerializer, **_ERRORS, 409: ErrorSerializer},
    )
    def patch(self, request: Request, filter_id: str) -> Response:
        return self._write(request, filter_id, partial=True)

    @extend_schema(
        tags=["filters"],
        parameters=[_FILTER_ID],
        summary="Delete a saved filter",
        responses={204: None, **_ERRORS},
    )
    def delete(self, request: Request, filter_id: str) -> Response:
        services.saved_filter_delete(user=request_user(request), filter_id=filter_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SavedFilterTasksView(APIView):
    @extend_schema(
        tags=["filters"],
        summary="List tasks through a saved filter",
        operation_id="filters_tasks_list",
        description="The saved parameters apply; list parameters given here override them.",
        parameters=[_FILTER_ID, *LIST_PARAMETERS, _API_VERSION],
        responses={200: _PAGE_OF_TASKS, **_ERRORS},
    )
    def get(self, request: Request, filter_id: str) -> Response:
        saved = selectors.saved_filter_get(user=request_user(request), filter_id=filter_id)
        raw = _default_status(
            request, selectors.merge_filter_params(saved.params, _query_dict(request).items())
        )
        return _paginated_tasks(request, self, raw)


__all__ = [
    "SavedFilterDetailView",
    "SavedFilterListCreateView",
    "SavedFilterTasksView",
    "TagListView",
    "TaskDetailView",
    "TaskListCreateView",
    "TaskReorderView",
    "TaskToggleView",
]
