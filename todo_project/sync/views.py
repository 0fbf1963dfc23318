"""GET /api/sync?since=<seq>: the REST form of WebSocket resync."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from todo_project.accounts.authentication import request_user
from todo_project.errors import DomainError
from todo_project.events.selectors import user_last_seq
from todo_project.sync.selectors import sync_since

DEFAULT_LIMIT = 100


class ResyncRequiredError(DomainError):
    status_code = 410
    code = "resync_required"


class SyncQuerySerializer(serializers.Serializer):
    since = serializers.IntegerField(min_value=0)
    limit = serializers.IntegerField(min_value=1, required=False, default=DEFAULT_LIMIT)

    def validate_limit(self, value: int) -> int:
        if value > settings.SYNC_RESYNC_BATCH:
            raise serializers.ValidationError(
                f"Ensure this value is less than or equal to {settings.SYNC_RESYNC_BATCH}."
            )
        return value


class SyncView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter(
                "since", int, required=True, description="Last seq the client applied (0 = none)."
            ),
            OpenApiParameter(
                "limit",
                {"type": "integer", "minimum": 1, "maximum": settings.SYNC_RESYNC_BATCH},
                required=False,
                description="Events per page (default 100).",
            ),
        ],
        responses={
            200: inline_serializer(
                "SyncPage",
                {
                    "since": serializers.IntegerField(),
                    "next_since": serializers.IntegerField(),
                    "has_more": serializers.BooleanField(),
                    "last_seq": serializers.IntegerField(),
                    "results": serializers.ListField(child=serializers.DictField()),
                },
            ),
            410: OpenApiResponse(
                description="resync_required: events after `since` are no longer kept; reload the full state."
            ),
        },
    )
    def get(self, request: Request) -> Response:
        query = SyncQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        page = sync_since(
            user_id=request_user(request).pk,
            since=query.validated_data["since"],
            limit=query.validated_data["limit"],
        )
        if page.resync_required:
            raise ResyncRequiredError(
                "Events after this seq are no longer retained; reload the full state "
                "(GET /api/tasks) and continue from last_seq.",
                field="since",
            )
        return Response(
            {
                "since": page.since,
                "next_since": page.next_since,
                "has_more": page.has_more,
                "last_seq": page.last_seq,
                "results": page.messages,
            }
        )


class SyncCursorView(APIView):
    """The user's current last seq: read it *before* a full reload, then sync from it."""

    @extend_schema(responses=inline_serializer("SyncCursor", {"last_seq": serializers.IntegerField()}))
    def get(self, request: Request) -> Response:
        return Response({"last_seq": user_last_seq(user_id=request_user(request).pk)})
