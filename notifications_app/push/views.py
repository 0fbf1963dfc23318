"""Web Push endpoints: the server's key and the caller's browser subscriptions. Thin views."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from notifications_app.push import selectors, services
from notifications_app.push.serializers import (
    PushKeyOutput,
    PushSubscriptionDeleteInput,
    PushSubscriptionInput,
    PushSubscriptionOutput,
)
from todo_project.accounts.authentication import request_user
from todo_project.errors import ErrorSerializer
from todo_project.ids import uuid_or_404
from todo_project.pagination import paginated_response

TAGS = ["notifications"]
_ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="Invalid input; `error.fields` names each field."),
    401: OpenApiResponse(ErrorSerializer, description="Not authenticated."),
}
_NOT_FOUND = {404: OpenApiResponse(ErrorSerializer, description="No such subscription of yours.")}


class PushKeyView(APIView):
    """GET /api/notifications/push-key"""

    @extend_schema(
        tags=TAGS,
        summary="The server's VAPID public key for pushManager.subscribe()",
        responses={200: PushKeyOutput, 401: _ERRORS[401]},
    )
    def get(self, request: Request) -> Response:
        return Response(PushKeyOutput(selectors.push_key()).data)


class PushSubscriptionListView(APIView):
    """GET/POST/DELETE /api/notifications/push-subscriptions"""

    @extend_schema(
        tags=TAGS,
        summary="Your browsers subscribed to Web Push, newest first",
        operation_id="notifications_push_subscriptions_list",
        parameters=[
            OpenApiParameter("page", int),
            OpenApiParameter("limit", int, description="1–100, default 20."),
        ],
        responses={
            200: inline_serializer(
                "PaginatedPushSubscriptionList",
                {
                    "count": serializers.IntegerField(),
                    "next": serializers.URLField(allow_null=True),
                    "previous": serializers.URLField(allow_null=True),
                    "results": PushSubscriptionOutput(many=True),
                },
            ),
            **_ERRORS,
        },
    )
    def get(self, request: Request) -> Response:
        qs = selectors.push_subscriptions(user_id=request_user(request).id)
        return paginated_response(
            request, self, qs, lambda page: PushSubscriptionOutput(page, many=True).data
        )

    @extend_schema(
        tags=TAGS,
        summary="Subscribe this browser to Web Push (PushSubscription.toJSON())",
        description="201 for a new subscription; 200 when the endpoint was yours already (its keys are "
        "replaced). An endpoint another account held moves to you.",
        request=PushSubscriptionInput,
        responses={
            201: PushSubscriptionOutput,
            200: PushSubscriptionOutput,
            409: OpenApiResponse(ErrorSerializer, description="Registered concurrently; send it again."),
            **_ERRORS,
        },
    )
    def post(self, request: Request) -> Response:
        data = PushSubscriptionInput(data=request.data)
        data.is_valid(raise_exception=True)
        given = data.validated_data
        sub, created = services.push_subscription_register(
            user_id=request_user(request).id,
            endpoint=given["endpoint"],
            p256dh=given["keys"]["p256dh"],
            auth=given["keys"]["auth"],
            user_agent=given.get("user_agent", ""),
        )
        return Response(
            PushSubscriptionOutput(sub).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    @extend_schema(
        tags=TAGS,
        summary="Unsubscribe a browser by its endpoint",
        operation_id="notifications_push_subscriptions_destroy_by_endpoint",
        description="What a browser that no longer knows its subscription's id sends after "
        "PushSubscription.unsubscribe().",
        request=PushSubscriptionDeleteInput,
        responses={204: None, **_ERRORS, **_NOT_FOUND},
    )
    def delete(self, request: Request) -> Response:
        data = PushSubscriptionDeleteInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.push_subscription_delete(
            user_id=request_user(request).id, endpoint=data.validated_data["endpoint"].strip()
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class PushSubscriptionDetailView(APIView):
    """DELETE /api/notifications/push-subscriptions/{id}"""

    @extend_schema(
        tags=TAGS,
        summary="Unsubscribe a browser",
        parameters=[OpenApiParameter("subscription_id", OpenApiTypes.UUID, OpenApiParameter.PATH)],
        responses={204: None, 401: _ERRORS[401], **_NOT_FOUND},
    )
    def delete(self, request: Request, subscription_id: str) -> Response:
        services.push_subscription_delete(
            user_id=request_user(request).id,
            subscription_id=uuid_or_404(subscription_id, what="Push subscription"),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)
