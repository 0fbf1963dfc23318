"""Audit API: the caller's activity feed and a streaming export."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.generics import ListAPIView
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from audit_app.models import AuditLog
from audit_app.selectors import audit_entries_for_user, audit_entries_stream
from audit_app.serializers import (
    AuditEntrySerializer,
    AuditExportQuerySerializer,
    AuditQuerySerializer,
    entry_representation,
)
from todo_project.accounts.authentication import request_user
from todo_project.accounts.selectors import user_timezone
from todo_project.timefmt import iso_utc

CSV_COLUMNS = [
    "id",
    "timestamp",
    "action",
    "actor_type",
    "actor_id",
    "actor_email",
    "resource_type",
    "resource_id",
    "client_ip",
    "user_agent",
    "request_id",
    "metadata",
]
# Spreadsheet apps run cells starting with these as formulas (CSV injection);
# a leading apostrophe keeps them text. User agents and titles are user input.
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _parse_query(request: Request, serializer_class: type[AuditQuerySerializer]) -> dict[str, Any]:
    query = serializer_class(
        data=request.query_params.dict(), context={"timezone": user_timezone(user=request_user(request))}
    )
    query.is_valid(raise_exception=True)
    return dict(query.validated_data)


# Sent empty, each is a 400 (leave it out instead): minLength 1.
_NON_EMPTY = {"type": "string", "minLength": 1}
_QUERY_PARAMETERS = [
    OpenApiParameter("action", _NON_EMPTY, description="Comma-separated event types (OR)."),
    OpenApiParameter("resource_type", _NON_EMPTY, description="e.g. task, user."),
    OpenApiParameter("resource_id", _NON_EMPTY),
    OpenApiParameter("since", _NON_EMPTY, description="Date or ISO 8601 datetime, inclusive."),
    OpenApiParameter(
        "until", _NON_EMPTY, description="ISO datetime (exclusive) or a date (that day included)."
    ),
]


class AuditListView(ListAPIView):
    serializer_class = AuditEntrySerializer

    @extend_schema(parameters=_QUERY_PARAMETERS, tags=["audit"])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> Any:
        return audit_entries_for_user(
            user_id=request_user(self.request).pk, **_parse_query(self.request, AuditQuerySerializer)
        )


class _IgnoreFormatParameter(DefaultContentNegotiation):
    """``?format=csv`` chooses the export format here, not a DRF renderer; errors stay JSON."""

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, renderer.media_type


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_PREFIXES):
        return "'" + value
    return value


def _csv_rows(entries: Iterable[AuditLog]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    for entry in entries:
        metadata = entry.metadata or {}
        row = [
            str(entry.event_id),
            iso_utc(entry.timestamp),
            entry.action,
            entry.actor_type,
            "" if entry.actor_id is None else entry.actor_id,
            entry.actor_email,
            entry.resource_type,
            entry.resource_id,
            metadata.get("client_ip", ""),
            metadata.get("user_agent", ""),
            metadata.get("request_id", ""),
            json.dumps(metadata, cls=DjangoJSONEncoder, sort_keys=True),
        ]
        yield writer.writerow([_csv_cell(value) for value in row])


def _json_rows(entries: Iterable[AuditLog]) -> Iterator[str]:
    # A JSON array written piece by piece: "[", rows separated by ",", "]".
    yield "["
    separator = "\n"
    for entry in entries:
        yield separator + json.dumps(entry_representation(entry), cls=DjangoJSONEncoder)
        separator = ",\n"
    yield "\n]\n"


class AuditExportView(APIView):
    content_negotiation_class = _IgnoreFormatParameter

    @extend_schema(
        parameters=[
            *_QUERY_PARAMETERS,
            OpenApiParameter("format", str, enum=["csv", "json"], description="Default json."),
        ],
        responses={
            (200, "text/csv"): OpenApiTypes.STR,
            (200, "application/json"): AuditEntrySerializer(many=True),
        },
        tags=["audit"],
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        query = _parse_query(request, AuditExportQuerySerializer)
        export_format = query.pop("format")
        entries = audit_entries_stream(
            audit_entries_for_user(user_id=request_user(request).pk, oldest_first=True, **query)
        )
        stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
        if export_format == "csv":
            response = StreamingHttpResponse(_csv_rows(entries), content_type="text/csv; charset=utf-8")
        else:
            response = StreamingHttpResponse(_json_rows(entries), content_type="application/json")
        response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.{export_format}"'
        response["Cache-Control"] = "no-store"
        return response
