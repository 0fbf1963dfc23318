"""Notification API: the in-app inbox and delivery preferences. Thin views."""

from __future__ import annotations

import uuid

from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from notifications_app import selectors, services
from notifications_app.serializers import NotificationOutput, PreferencesInput, PreferencesOutput
from todo_project.errors import DomainError, NotFoundError
from todo_project.pagination import PagePagination


def _uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFoundError("Notification not found.") from None


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

    def get(self, request: Request) -> Response:
        qs = selectors.notifications_inbox(user_id=request.user.id, unread=_unread_param(request))
        paginator = PagePagination()
        page = paginator.paginate_queryset(qs, request, self)
        return paginator.get_paginated_response(NotificationOutput(page, many=True).data)


class NotificationReadView(APIView):
    """POST /api/notifications/{id}/read"""

    def post(self, request: Request, notification_id: str) -> Response:
        n = services.notification_mark_read(user_id=request.user.id, notification_id=_uuid(notification_id))
        return Response(NotificationOutput(n).data)


class NotificationReadAllView(APIView):
    """POST /api/notifications/read-all"""

    def post(self, request: Request) -> Response:
        return Response({"marked_read": services.notifications_mark_all_read(user_id=request.user.id)})


class UnreadCountView(APIView):
    """GET /api/notifications/unread-count"""

    def get(self, request: Request) -> Response:
        return Response({"unread": selectors.notifications_unread_count(user_id=request.user.id)})


class PreferencesView(APIView):
    """GET/PATCH /api/notifications/preferences"""

    def get(self, request: Request) -> Response:
        return Response(PreferencesOutput(selectors.preferences_get(user_id=request.user.id)).data)

    def patch(self, request: Request) -> Response:
        data = PreferencesInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        prefs, secret = services.preferences_update(user_id=request.user.id, **data.validated_data)
        body = dict(PreferencesOutput(prefs).data)
        if secret:
            # Shown once: store it now; only a rotation shows a secret again.
            body["webhook_secret"] = secret
        return Response(body)


class WebhookRotateSecretView(APIView):
    """POST /api/notifications/preferences/webhook/rotate-secret"""

    def post(self, request: Request) -> Response:
        return Response({"webhook_secret": services.webhook_rotate_secret(user_id=request.user.id)})
