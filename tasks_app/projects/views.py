"""The project and section REST API (docs/projects.md): thin views over projects/services.py."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tasks_app import services as task_services
from tasks_app.projects import selectors, services
from tasks_app.serializers import (
    ErrorSerializer,
    IdListSerializer,
    ProjectOutputSerializer,
    ProjectWriteSerializer,
    SectionOutputSerializer,
    SectionWriteSerializer,
    TaskMoveSerializer,
    TaskOutputSerializer,
)
from todo_project.accounts.authentication import request_user
from todo_project.errors import DomainError

TAGS = ["projects"]
_ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="Invalid input; `error.fields` names each field."),
    401: OpenApiResponse(ErrorSerializer, description="Not authenticated."),
    404: OpenApiResponse(ErrorSerializer, description="No such project (or section) of yours."),
}
_PROJECT_ID = OpenApiParameter("project_id", str, OpenApiParameter.PATH, description="Project UUID.")
_SECTION_ID = OpenApiParameter("section_id", str, OpenApiParameter.PATH, description="Section UUID.")


def _id_list(name: str, field: str) -> serializers.Serializer:
    """A schema-only body or answer holding one list of ids."""
    return inline_serializer(name, {field: serializers.ListField(child=serializers.UUIDField())})


def _parse_archived(request: Request) -> bool | None:
    # Exactly the documented enum: "0"/"1" or "" would be values the schema
    # does not list (Schemathesis sends them as invalid input).
    raw = request.query_params.get("archived", "false")
    if raw == "false":
        return False
    if raw == "true":
        return True
    if raw == "all":
        return None
    raise DomainError("archived must be true, false or all.", field="archived")


class ProjectListCreateView(APIView):
    @extend_schema(
        tags=TAGS,
        summary="Your projects (Inbox first, then in manual order)",
        operation_id="projects_list",
        parameters=[
            OpenApiParameter(
                "archived", str, enum=["false", "true", "all"], description="Default false: active projects."
            )
        ],
        responses={
            200: inline_serializer("ProjectList", {"results": ProjectOutputSerializer(many=True)}),
            **_ERRORS,
        },
    )
    def get(self, request: Request) -> Response:
        archived = _parse_archived(request)
        services.inbox_ensure(user_id=request_user(request).pk)
        projects = list(selectors.project_list(user=request_user(request), archived=archived))
        counts = selectors.project_task_counts(
            user_id=request_user(request).pk, project_ids=[p.pk for p in projects]
        )
        return Response(
            {
                "results": [
                    {**selectors.project_to_dict(p), "open_tasks": counts.get(p.pk, 0)} for p in projects
                ]
            }
        )

    @extend_schema(
        tags=TAGS,
        summary="Create a project",
        request=ProjectWriteSerializer,
        responses={201: ProjectOutputSerializer, **_ERRORS},
    )
    def post(self, request: Request) -> Response:
        serializer = ProjectWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        project = services.project_create(
            owner=request_user(request),
            name=data["name"],
            color=data.get("color"),
            parent_id=data.get("parent_id"),
        )
        return Response(selectors.project_to_dict(project), status=status.HTTP_201_CREATED)


class ProjectDetailView(APIView):
    @extend_schema(
        tags=TAGS,
        summary="Get a project",
        parameters=[_PROJECT_ID],
        responses={200: ProjectOutputSerializer, **_ERRORS},
    )
    def get(self, request: Request, project_id: str) -> Response:
        return Response(
            selectors.project_to_dict(
                selectors.project_get(user=request_user(request), project_id=project_id)
            )
        )

    @extend_schema(
        tags=TAGS,
        summary="Rename, recolour or move a project",
        parameters=[_PROJECT_ID],
        request=ProjectWriteSerializer,
        responses={200: ProjectOutputSerializer, **_ERRORS},
    )
    def patch(self, request: Request, project_id: str) -> Response:
        serializer = ProjectWriteSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        project = services.project_update(
            user=request_user(request), project_id=project_id, values=dict(serializer.validated_data)
        )
        return Response(selectors.project_to_dict(project))

    @extend_schema(
        tags=TAGS,
        summary="Delete a project and its subprojects",
        description="Refuses (409 `project_not_empty`) when there are tasks, unless `tasks=delete` "
        "or `tasks=move&move_to=<project id>`. The Inbox cannot be deleted.",
        parameters=[
            _PROJECT_ID,
            OpenApiParameter("tasks", str, enum=list(services.DELETE_MODES), description="Default refuse."),
            OpenApiParameter("move_to", str, description="With tasks=move: the project the tasks go to."),
        ],
        responses={
            200: inline_serializer(
                "ProjectDeleted",
                {
                    "deleted_project_ids": serializers.ListField(child=serializers.UUIDField()),
                    "task_ids": serializers.ListField(child=serializers.UUIDField()),
                    "tasks": serializers.CharField(),
                },
            ),
            409: OpenApiResponse(ErrorSerializer, description="The project has tasks (project_not_empty)."),
            **_ERRORS,
        },
    )
    def delete(self, request: Request, project_id: str) -> Response:
        result = services.project_delete(
            user=request_user(request),
            project_id=project_id,
            tasks=(request.query_params.get("tasks") or "refuse").strip().lower(),
            move_to=request.query_params.get("move_to") or None,
        )
        return Response(result)


class ProjectArchiveView(APIView):
    archived = True

    @extend_schema(
        tags=TAGS,
        summary="Archive a project (with its subprojects)",
        parameters=[_PROJECT_ID],
        request=None,
        responses={200: ProjectOutputSerializer, **_ERRORS},
    )
    def post(self, request: Request, project_id: str) -> Response:
        if self.archived:
            project = services.project_archive(user=request_user(request), project_id=project_id)
        else:
            project = services.project_unarchive(user=request_user(request), project_id=project_id)
        return Response(selectors.project_to_dict(project))


class ProjectUnarchiveView(ProjectArchiveView):
    archived = False

    @extend_schema(
        tags=TAGS,
        summary="Unarchive a project (with its subprojects and archived ancestors)",
        parameters=[_PROJECT_ID],
        request=None,
        responses={200: ProjectOutputSerializer, **_ERRORS},
    )
    def post(self, request: Request, project_id: str) -> Response:
        return super().post(request, project_id)


class ProjectReorderView(APIView):
    @extend_schema(
        tags=TAGS,
        summary="Reorder projects",
        request=_id_list("ProjectReorder", "project_ids"),
        responses={200: _id_list("ProjectReorderResult", "project_ids"), **_ERRORS},
    )
    def post(self, request: Request) -> Response:
        serializer = IdListSerializer(data=request.data, field="project_ids")
        serializer.is_valid(raise_exception=True)
        ordered = services.project_reorder(
            user=request_user(request), project_ids=serializer.validated_data["project_ids"]
        )
        return Response({"project_ids": ordered})


class SectionListCreateView(APIView):
    @extend_schema(
        tags=TAGS,
        summary="A project's sections, in order",
        operation_id="project_sections_list",
        parameters=[_PROJECT_ID],
        responses={
            200: inline_serializer("SectionList", {"results": SectionOutputSerializer(many=True)}),
            **_ERRORS,
        },
    )
    def get(self, request: Request, project_id: str) -> Response:
        project = selectors.project_get(user=request_user(request), project_id=project_id)
        sections = selectors.section_list(user=request_user(request), project=project)
        return Response({"results": [selectors.section_to_dict(s) for s in sections]})

    @extend_schema(
        tags=TAGS,
        summary="Add a section to a project",
        parameters=[_PROJECT_ID],
        request=SectionWriteSerializer,
        responses={201: SectionOutputSerializer, **_ERRORS},
    )
    def post(self, request: Request, project_id: str) -> Response:
        serializer = SectionWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        section = services.section_create(
            user=request_user(request), project_id=project_id, name=serializer.validated_data["name"]
        )
        return Response(selectors.section_to_dict(section), status=status.HTTP_201_CREATED)


class SectionReorderView(APIView):
    @extend_schema(
        tags=TAGS,
        summary="Reorder a project's sections",
        parameters=[_PROJECT_ID],
        request=_id_list("SectionReorder", "section_ids"),
        responses={200: _id_list("SectionReorderResult", "section_ids"), **_ERRORS},
    )
    def post(self, request: Request, project_id: str) -> Response:
        serializer = IdListSerializer(data=request.data, field="section_ids")
        serializer.is_valid(raise_exception=True)
        ordered = services.section_reorder(
            user=request_user(request),
            project_id=project_id,
            section_ids=serializer.validated_data["section_ids"],
        )
        return Response({"section_ids": ordered})


class SectionDetailView(APIView):
    @extend_schema(
        tags=TAGS,
        summary="Get a section",
        parameters=[_SECTION_ID],
        responses={200: SectionOutputSerializer, **_ERRORS},
    )
    def get(self, request: Request, section_id: str) -> Response:
        return Response(
            selectors.section_to_dict(
                selectors.section_get(user=request_user(request), section_id=section_id)
            )
        )

    @extend_schema(
        tags=TAGS,
        summary="Rename a section",
        parameters=[_SECTION_ID],
        request=SectionWriteSerializer,
        responses={200: SectionOutputSerializer, **_ERRORS},
    )
    def patch(self, request: Request, section_id: str) -> Response:
        serializer = SectionWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        section = services.section_update(
            user=request_user(request), section_id=section_id, name=serializer.validated_data["name"]
        )
        return Response(selectors.section_to_dict(section))

    @extend_schema(
        tags=TAGS,
        summary="Delete a section (its tasks stay in the project)",
        parameters=[_SECTION_ID],
        responses={
            200: _id_list("SectionDeleted", "moved_task_ids"),
            **_ERRORS,
        },
    )
    def delete(self, request: Request, section_id: str) -> Response:
        moved = services.section_delete(user=request_user(request), section_id=section_id)
        return Response({"moved_task_ids": moved})


class TaskMoveView(APIView):
    @extend_schema(
        tags=["tasks"],
        summary="Move a task (and its subtasks) to a project, section or parent",
        parameters=[OpenApiParameter("task_id", str, OpenApiParameter.PATH)],
        request=TaskMoveSerializer,
        responses={200: TaskOutputSerializer, **_ERRORS},
    )
    def post(self, request: Request, task_id: str) -> Response:
        from tasks_app.views import _task_response

        serializer = TaskMoveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        version = data.pop("version", None)
        result = task_services.task_move(
            user=request_user(request), task_id=task_id, placement=data, expected_version=version
        )
        return _task_response(result)
