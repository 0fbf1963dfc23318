"""Assistant API: chat and personal access tokens. Thin views over services/selectors."""

from __future__ import annotations

import uuid

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from assistant_app import selectors, services
from assistant_app.serializers import (
    AccessTokenCreatedOutput,
    AccessTokenInput,
    AccessTokenOutput,
    ApiError,
    ChatInput,
    ChatOutput,
    MessageOutput,
)
from todo_project.accounts.authentication import request_user
from todo_project.errors import NotFoundError
from todo_project.pagination import PagePagination

_ERRORS = {
    400: OpenApiResponse(ApiError, description="Invalid input; `error.fields` names each field."),
    401: OpenApiResponse(ApiError, description="Not authenticated."),
    404: OpenApiResponse(ApiError, description="No such conversation or token of yours."),
}


class ChatView(APIView):
    @extend_schema(
        tags=["assistant"],
        summary="Send a message to the assistant",
        description="Runs the local engine (or the configured model) on the message; the reply lists the "
        "tool calls it made and any question it asks. See docs/assistant.md.",
        operation_id="chat_send",
        request=ChatInput,
        responses={200: ChatOutput, **_ERRORS},
    )
    def post(self, request: Request) -> Response:
        data = ChatInput(data=request.data)
        data.is_valid(raise_exception=True)
        result = services.chat_send(
            user=request_user(request),
            text=data.validated_data["message"],
            conversation_id=data.validated_data.get("conversation_id"),
        )
        return Response(result)


class ChatHistoryView(APIView):
    @extend_schema(
        tags=["assistant"],
        summary="Your chat messages, newest first",
        operation_id="chat_history",
        parameters=[
            OpenApiParameter("conversation_id", str, description="Only this conversation."),
            OpenApiParameter("page", int, description="1-based page number."),
            OpenApiParameter("limit", int, description="Page size, 1–100 (default 20)."),
        ],
        responses={
            200: inline_serializer(
                "PaginatedChatMessages",
                {
                    "count": serializers.IntegerField(),
                    "next": serializers.URLField(allow_null=True),
                    "previous": serializers.URLField(allow_null=True),
                    "results": MessageOutput(many=True),
                },
            ),
            **_ERRORS,
        },
    )
    def get(self, request: Request) -> Response:
        conversation_id = request.query_params.get("conversation_id") or None
        if conversation_id:
            try:
                uuid.UUID(conversation_id)
            except ValueError:
                raise NotFoundError("Conversation not found.", field="conversation_id") from None
        qs = selectors.chat_history(user=request_user(request), conversation_id=conversation_id)
        paginator = PagePagination()
        page = paginator.paginate_queryset(qs, request, self)
        return paginator.get_paginated_response([services.message_to_dict(m) for m in page])

    @extend_schema(
        tags=["assistant"],
        summary="Delete your whole chat history",
        operation_id="chat_history_clear",
        request=None,
        responses={
            200: inline_serializer("ChatHistoryCleared", {"deleted": serializers.IntegerField()}),
            **_ERRORS,
        },
    )
    def delete(self, request: Request) -> Response:
        return Response({"deleted": services.chat_history_clear(user=request_user(request))})


def _no_token_auth(request: Request) -> None:
    """Tokens are managed with a login (JWT or session), never with a token: a leaked
    token must not be able to mint or revoke others."""
    from assistant_app.models import PersonalAccessToken

    if isinstance(request.auth, PersonalAccessToken):
        raise PermissionDenied("Manage access tokens with your login, not with a token.")


class TokenListView(APIView):
    @extend_schema(
        tags=["tokens"],
        summary="Your personal access tokens",
        operation_id="tokens_list",
        responses={200: AccessTokenOutput(many=True), **_ERRORS},
    )
    def get(self, request: Request) -> Response:
        _no_token_auth(request)
        return Response([selectors.pat_to_dict(t) for t in selectors.pat_list(user=request_user(request))])

    @extend_schema(
        tags=["tokens"],
        summary="Create a personal access token (shown once)",
        operation_id="tokens_create",
        request=AccessTokenInput,
        responses={201: AccessTokenCreatedOutput, **_ERRORS},
    )
    def post(self, request: Request) -> Response:
        _no_token_auth(request)
        data = AccessTokenInput(data=request.data)
        data.is_valid(raise_exception=True)
        token, raw = services.pat_create(
            user=request_user(request),
            name=data.validated_data["name"],
            scope=data.validated_data["scope"],
            expires_in_days=data.validated_data.get("expires_in_days"),
        )
        return Response({**selectors.pat_to_dict(token), "token": raw}, status=status.HTTP_201_CREATED)


class TokenDetailView(APIView):
    @extend_schema(
        tags=["tokens"],
        summary="Revoke a personal access token",
        operation_id="tokens_revoke",
        request=None,
        responses={200: AccessTokenOutput, **_ERRORS},
    )
    def delete(self, request: Request, token_id: str) -> Response:
        _no_token_auth(request)
        return Response(
            selectors.pat_to_dict(services.pat_revoke(user=request_user(request), token_id=token_id))
        )
