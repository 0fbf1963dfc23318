"""Notification API: the in-app inbox and delivery preferences. Thin views."""

from __future__ import annotations

import uuid

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from notifications_app import selectors, services
from notifications_app.serializers import NotificationOutput, PreferencesInput, PreferencesOutput
from todo_project.accounts.authentication import request_user
from todo_project.errors import DomainError, ErrorSerializer
from todo_project.ids import uuid_or_404
from todo_project.pagination import paginated_response

TAGS = ["notifications"]
_ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="Invalid input; `error.fields` names each field."),
    401: OpenApiResponse(ErrorSerializer, description="Not authenticated."),
}
_NOT_FOUND = {404: OpenApiResponse(ErrorSerializer, description="No such notification of yours.")}
_SECRET = inline_serializer("WebhookSecret", {"webhook_secret": serializers.CharField()})


def _uuid(value: str) -> uuid.UUID:
    return uuid_or_404(value, what="Notification")


def _unread_param(request: Request) -> bool | None:
    raw = request.query_params.get("unread")
    if raw is None or raw == "":
        return None
    lowered = raw.lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise DomainError(f"unread must be true or false, got {raw!r}.", field="unread")


class NotificationListView(APIView):
    """GET /api/notifications?unread=true&page=&limit="""

    @extend_schema(
        tags=TAGS,
        summary="Your in-app notifications, newest first",
        operation_id="notifications_list",
        parameters=[
            OpenApiParameter("unread", bool, description="true: only unread; false: only read."),
            OpenApiParameter("page", int),
            OpenApiParameter("limit", int, description="1–100, default 20."),
        ],
        responses={
            200: inline_serializer(
                "PaginatedNotificationList",
                {
                    "count": serializers.IntegerField(),
                    "next": serializers.URLField(allow_null=True),
                    "previous": serializers.URLField(allow_null=True),
                    "results": NotificationOutput(many=True),
                },
            ),
            **_ERRORS,
        },
    )
    def get(self, request: Request) -> Response:
        qs = selectors.notifications_inbox(user_id=request_user(request).id, unread=_unread_param(request))
        return paginated_response(request, self, qs, lambda page: NotificationOutput(page, many=True).data)


class NotificationReadView(APIView):
    """POST /api/notifications/{id}/read"""

    @extend_schema(
        tags=TAGS,
        summary="Mark a notification read",
        parameters=[OpenApiParameter("notification_id", OpenApiTypes.UUID, OpenApiParameter.PATH)],
        request=None,
        responses={200: NotificationOutput, **_ERRORS, **_NOT_FOUND},
    )
    def post(self, request: Request, notification_id: str) -> Response:
        n = services.notification_mark_read(
            user_id=request_user(request).id, notification_id=_uuid(notification_id)
        )
        return Response(NotificationOutput(n).data)


class NotificationReadAllView(APIView):
    """POST /api/notifications/read-all"""

    @extend_schema(
        tags=TAGS,
        summary="Mark all notifications read",
        request=None,
        responses={
            200: inline_serializer("MarkedRead", {"marked_read": serializers.IntegerField()}),
            **_ERRORS,
        },
    )
    def post(self, request: Request) -> Response:
        return Response(
            {"marked_read": services.notifications_mark_all_read(user_id=request_user(request).id)}
        )


class UnreadCountView(APIView):
    """GET /api/notifications/unread-count"""

    @extend_schema(
        tags=TAGS,
        summary="How many unread in-app notifications you have",
        responses={200: inline_serializer("UnreadCount", {"unread": serializers.IntegerField()}), **_ERRORS},
    )
    def get(self, request: Request) -> Response:
        return Response({"unread": selectors.notifications_unread_count(user_id=request_user(request).id)})


class PreferencesView(APIView):
    """GET/PATCH /api/notifications/preferences"""

    @extend_schema(tags=TAGS, summary="Your notification preferences", responses={200: PreferencesOutput})
    def get(self, request: Request) -> Response:
        return Response(PreferencesOutput(selectors.preferences_get(user_id=request_user(request).id)).data)

    @extend_schema(
        tags=TAGS,
        summary="Change notification preferences",
        description="Registering a webhook URL for the first time answers `webhook_secret` once.",
        request=PreferencesInput,
        responses={200: PreferencesOutput, **_ERRORS},
    )
    def patch(self, request: Request) -> Response:
        data = PreferencesInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        prefs, secret = services.preferences_update(user_id=request_user(request).id, **data.validated_data)
        body = dict(PreferencesOutput(prefs).data)
        if secret:
            # Shown once: store it now; only a rotation shows a secret again.
            body["webhook_secret"] = secret
        return Response(body)


class WebhookRotateSecretView(APIView):
    """POST /api/notifications/preferences/webhook/rotate-secret"""

    @extend_schema(
        tags=TAGS,
        summary="Make a new webhook signing secret (shown once)",
        request=None,
        responses={200: _SECRET, **_ERRORS},
    )
    def post(self, request: Request) -> Response:
        return Response({"webhook_secret": services.webhook_rotate_secret(user_id=request_user(request).id)})


class ReminderEmailVerificationView(APIView):
    """POST /api/notifications/preferences/email/verification"""

    @extend_schema(
        tags=TAGS,
        summary="Mail the reminder address's verification link again",
        request=None,
        responses={
            202: inline_serializer("VerificationSent", {"email": serializers.EmailField()}),
            **_ERRORS,
        },
    )
    def post(self, request: Request) -> Response:
        address = services.reminder_address_verification_resend(user_id=request_user(request).id)
        return Response({"email": address}, status=202)
