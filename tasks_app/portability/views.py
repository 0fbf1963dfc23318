"""Export and import endpoints (docs/portability.md)."""

from __future__ import annotations

from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tasks_app.portability import export, taskbeat, todoist
from tasks_app.serializers import ErrorSerializer
from todo_project.accounts.authentication import request_user
from todo_project.errors import DomainError

TAGS = ["portability"]


class ExportView(APIView):
    @extend_schema(
        tags=TAGS,
        summary="Export your projects, sections, tasks, series and saved filters (one JSON document)",
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request) -> Response:
        return Response(export.user_export(user=request_user(request), now=timezone.now()))


class TasksCsvExportView(APIView):
    @extend_schema(
        tags=TAGS,
        summary="Export your tasks as CSV (the task representation's fields as columns)",
        responses={(200, "text/csv"): OpenApiTypes.STR},
    )
    def get(self, request: Request) -> HttpResponse:
        response = HttpResponse(
            export.tasks_csv(user=request_user(request)), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = 'attachment; filename="taskbeat-tasks.csv"'
        return response


def _uploaded(request: Request, what: str, max_bytes: int) -> bytes:
    """The multipart ``file``, refused before it is read when it is missing or too large."""
    upload = request.FILES.get("file")
    if upload is None:
        raise DomainError(f"Attach {what} as file.", field="file")
    if upload.size is not None and upload.size > max_bytes:
        raise DomainError("The file is too large.", field="file")
    return upload.read()


class TodoistImportView(APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        tags=TAGS,
        summary="Import a project from Todoist's CSV export",
        description="All or nothing: a file with problems is refused (400 `import_refused`, "
        "`error.details.rows` lists each row's problem) and nothing is written.",
        request={
            "multipart/form-data": inline_serializer(
                "TodoistImport", {"file": serializers.FileField(), "project_name": serializers.CharField()}
            )
        },
        responses={
            201: inline_serializer(
                "TodoistImported",
                {
                    "project_id": serializers.UUIDField(),
                    "sections": serializers.IntegerField(),
                    "tasks": serializers.IntegerField(),
                    "task_ids": serializers.ListField(child=serializers.UUIDField()),
                },
            ),
            400: OpenApiResponse(ErrorSerializer),
        },
    )
    def post(self, request: Request) -> Response:
        result = todoist.todoist_csv_import(
            user=request_user(request),
            project_name=request.data.get("project_name", ""),  # type: ignore[union-attr]  # a form
            data=_uploaded(request, "the CSV file", todoist.MAX_BYTES),
        )
        return Response(result, status=status.HTTP_201_CREATED)


class TaskbeatImportView(APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        tags=TAGS,
        summary="Import a Taskbeat export (GET /api/export) into your account",
        description="All or nothing: a file with problems is refused (400 `import_refused`, "
        '`error.details.rows` lists each item\'s problem as `{row: "tasks[3].due_at", problem}`) and '
        "nothing is written. Into an account that already has projects or tasks the import is refused "
        "(409 `account_not_empty`) unless `mode` is `merge`, which adds a copy.",
        request={
            "multipart/form-data": inline_serializer(
                "TaskbeatImport",
                {
                    "file": serializers.FileField(),
                    "mode": serializers.ChoiceField(choices=["fresh", "merge"], required=False),
                },
            )
        },
        responses={
            201: inline_serializer(
                "TaskbeatImported",
                {
                    name: serializers.IntegerField()
                    for name in ("projects", "sections", "series", "tasks", "saved_filters")
                },
            ),
            400: OpenApiResponse(ErrorSerializer),
            409: OpenApiResponse(ErrorSerializer, description="The account is not empty (use mode=merge)."),
        },
    )
    def post(self, request: Request) -> Response:
        data = _uploaded(request, "the export", taskbeat.MAX_BYTES)
        mode = request.data.get("mode") or "fresh"  # type: ignore[union-attr]  # a form
        if mode not in ("fresh", "merge"):
            raise DomainError("mode is fresh or merge.", field="mode")
        result = taskbeat.taskbeat_import(user=request_user(request), data=data, merge=mode == "merge")
        return Response(result, status=status.HTTP_201_CREATED)
