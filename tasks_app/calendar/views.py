"""The calendar feed endpoints (docs/portability.md)."""

from __future__ import annotations

from django.http import HttpResponse
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tasks_app.calendar import selectors, services
from tasks_app.serializers import ErrorSerializer
from todo_project.accounts.authentication import request_user
from todo_project.errors import NotFoundError

TAGS = ["calendar"]
_FEED_INFO = inline_serializer(
    "CalendarFeedInfo",
    {"enabled": serializers.BooleanField(), "rotated_at": serializers.DateTimeField(allow_null=True)},
)


class CalendarFeedView(APIView):
    @extend_schema(tags=TAGS, summary="Whether you have a calendar feed", responses={200: _FEED_INFO})
    def get(self, request: Request) -> Response:
        return Response(selectors.calendar_feed_info(user=request_user(request)))

    @extend_schema(
        tags=TAGS,
        summary="Make (or rotate) your secret calendar feed URL",
        description="The URL is shown only in this answer; rotating makes the previous URL stop working.",
        request=None,
        responses={
            201: inline_serializer(
                "CalendarFeedCreated",
                {"url": serializers.URLField(), "rotated_at": serializers.DateTimeField()},
            )
        },
    )
    def post(self, request: Request) -> Response:
        feed, token = services.calendar_feed_rotate(user=request_user(request))
        url = request.build_absolute_uri(reverse("calendar-feed-ics", kwargs={"token": token}))
        return Response(
            {"url": url, "rotated_at": feed.rotated_at.isoformat().replace("+00:00", "Z")},
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        tags=TAGS,
        summary="Turn your calendar feed off",
        responses={204: None, 404: OpenApiResponse(ErrorSerializer, description="No feed.")},
    )
    def delete(self, request: Request) -> Response:
        services.calendar_feed_disable(user=request_user(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class CalendarFeedIcsView(APIView):
    """The feed itself: the secret token in the URL is the only credential."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        tags=TAGS,
        summary="The iCalendar feed (text/calendar), by secret token",
        auth=[],
        parameters=[OpenApiParameter("token", OpenApiTypes.STR, OpenApiParameter.PATH)],
        responses={
            (200, "text/calendar"): OpenApiTypes.STR,
            404: OpenApiResponse(ErrorSerializer, description="Unknown or rotated token."),
        },
    )
    def get(self, request: Request, token: str) -> HttpResponse:
        from django.contrib.auth import get_user_model

        owner_id = selectors.calendar_feed_owner_id(token=token)
        user = get_user_model().objects.filter(pk=owner_id, is_active=True).first() if owner_id else None
        if user is None:
            raise NotFoundError("No such calendar feed.")
        body = selectors.calendar_feed_ics(user=user, now=timezone.now())
        response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
        response["Content-Disposition"] = 'inline; filename="taskbeat.ics"'
        response["Cache-Control"] = "private, max-age=300"
        return response
