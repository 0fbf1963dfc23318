"""Export and import endpoints (docs/portability.md)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tasks_app.models import ImportJobKind
from tasks_app.portability import export, jobs, taskbeat, todoist
from tasks_app.serializers import ErrorSerializer
from todo_project.accounts.authentication import request_user
from todo_project.errors import DomainError

TAGS = ["portability"]


class ExportView(APIView):
    @extend_schema(
        tags=TAGS,
        summary="Export everything you own (one JSON document, format taskbeat-export/1)",
        description="Top-level sections: `user`, `projects`, `sections`, `tasks`, `series`, "
        "`saved_filters`, `profile`, `reminders`, `notification_preferences`, `subscriptions` "
        "(push and webhook metadata, never a secret) and `audit_log`; docs/portability.md gives each "
        "one's shape. `POST /api/import/taskbeat` takes the document back.",
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


class ImportProgressSerializer(serializers.Serializer):
    done = serializers.IntegerField(help_text="Items written so far (inside the open transaction).")
    total = serializers.IntegerField(
        allow_null=True, help_text="Items to write; null until the file is read."
    )


class ImportProblemSerializer(serializers.Serializer):
    row = serializers.JSONField(
        help_text='A spreadsheet row number (Todoist) or an item path ("tasks[3].due_at").'
    )
    problem = serializers.CharField()


class ImportJobErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="import_refused, another refusal's code, or worker_lost.")
    message = serializers.CharField()


class ImportJobSerializer(serializers.Serializer):
    """A background import: its status, progress, problems and result."""

    # The schema's declaration only; the answer is built by ``jobs.import_job_to_dict``.

    id = serializers.UUIDField()
    kind = serializers.ChoiceField(choices=ImportJobKind.choices)
    status = serializers.ChoiceField(choices=["queued", "running", "succeeded", "failed"])
    progress = ImportProgressSerializer()
    problems = ImportProblemSerializer(many=True)
    result = serializers.DictField(
        allow_null=True, help_text="When succeeded: what the synchronous import answers with 201."
    )
    error = ImportJobErrorSerializer(allow_null=True)
    attempt = serializers.IntegerField(help_text="Runs so far (a worker that died counts).")
    size_bytes = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)


ASYNC_PARAMETER = OpenApiParameter(
    "async",
    OpenApiTypes.BOOL,
    description="true: run in a worker whatever the size (202 and a job). Files over IMPORT_ASYNC_BYTES "
    "(256 KiB by default) always do.",
)
LOCATION_HEADER = OpenApiParameter(
    "Location",
    OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    response=[202],
    description="The job to poll: /api/import/jobs/{id}.",
)
ACCEPTED = OpenApiResponse(
    ImportJobSerializer,
    description="Queued for a worker; poll `Location` (GET /api/import/jobs/{id}).",
)


def _wants_job(request: Request, size: int) -> bool:
    flag = request.query_params.get("async")
    if flag not in (None, "", "true", "false"):
        raise DomainError("async is true or false.", field="async")
    return flag == "true" or size > settings.IMPORT_ASYNC_BYTES


def _accepted(job_id: str, body: dict[str, object]) -> Response:
    return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": f"/api/import/jobs/{job_id}"})


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
        "`error.details.rows` lists each row's problem) and nothing is written. A large file (or "
        "`?async=true`) is answered 202 with a job to poll instead; the job lists the same problems.",
        parameters=[ASYNC_PARAMETER, LOCATION_HEADER],
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
            202: ACCEPTED,
            400: OpenApiResponse(ErrorSerializer),
        },
    )
    def post(self, request: Request) -> Response:
        user = request_user(request)
        project_name = request.data.get("project_name", "")  # type: ignore[union-attr]  # a form
        data = _uploaded(request, "the CSV file", todoist.MAX_BYTES)
        if _wants_job(request, len(data)):
            job = jobs.import_job_create(
                user=user, kind=ImportJobKind.TODOIST, data=data, options={"project_name": project_name}
            )
            return _accepted(str(job.pk), jobs.import_job_to_dict(job))
        result = todoist.todoist_csv_import(user=user, project_name=project_name, data=data)
        return Response(result, status=status.HTTP_201_CREATED)


class TaskbeatImportView(APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        tags=TAGS,
        summary="Import a Taskbeat export (GET /api/export) into your account",
        description="All or nothing: a file with problems is refused (400 `import_refused`, "
        '`error.details.rows` lists each item\'s problem as `{row: "tasks[3].due_at", problem}`) and '
        "nothing is written. Into an account that already has projects or tasks the import is refused "
        "(409 `account_not_empty`) unless `mode` is `merge`, which adds a copy. A large file (or "
        "`?async=true`) is answered 202 with a job to poll instead; the job lists the same problems.",
        parameters=[ASYNC_PARAMETER, LOCATION_HEADER],
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
                {name: serializers.IntegerField() for name in taskbeat.RESULT_KEYS},
            ),
            202: ACCEPTED,
            400: OpenApiResponse(ErrorSerializer),
            409: OpenApiResponse(ErrorSerializer, description="The account is not empty (use mode=merge)."),
        },
    )
    def post(self, request: Request) -> Response:
        user = request_user(request)
        data = _uploaded(request, "the export", taskbeat.MAX_BYTES)
        mode = request.data.get("mode") or "fresh"  # type: ignore[union-attr]  # a form
        if _wants_job(request, len(data)):
            job = jobs.import_job_create(
                user=user, kind=ImportJobKind.TASKBEAT, data=data, options={"mode": mode}
            )
            return _accepted(str(job.pk), jobs.import_job_to_dict(job))
        result = taskbeat.taskbeat_import(user=user, data=data, merge=taskbeat.taskbeat_merges(mode))
        return Response(result, status=status.HTTP_201_CREATED)


class ImportJobView(APIView):
    @extend_schema(
        tags=TAGS,
        summary="An import job: status, progress, problems, result",
        description="`progress.done` moves while the import's one transaction is still open. Status "
        "`succeeded` carries `result` (what the import made); `failed` carries `error` and, for a file "
        "with problems, `problems` — nothing was imported then. Another user's job is a 404.",
        responses={200: ImportJobSerializer, 404: OpenApiResponse(ErrorSerializer)},
    )
    def get(self, request: Request, job_id: str) -> Response:
        job = jobs.import_job_get(user_id=request_user(request).pk, job_id=job_id)
        return Response(jobs.import_job_to_dict(job))
