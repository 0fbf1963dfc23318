"""Thin HTTP interface for accounts: parse, call one service, shape output."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from todo_project.accounts import services
from todo_project.accounts.authentication import request_user
from todo_project.accounts.serializers import (
    LoginInputSerializer,
    MeSerializer,
    MeUpdateInputSerializer,
    RefreshInputSerializer,
    RegisterInputSerializer,
    TokenPairSerializer,
)
from todo_project.accounts.throttling import AuthRateThrottle


class _AuthEndpoint(APIView):
    # Credentials travel in the body: no session/JWT needed, so no CSRF check
    # from SessionAuthentication either.
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [AuthRateThrottle]


class RegisterView(_AuthEndpoint):
    @extend_schema(request=RegisterInputSerializer, responses={201: MeSerializer}, tags=["auth"])
    def post(self, request: Request) -> Response:
        data = RegisterInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_register(**data.validated_data)
        return Response(MeSerializer(user).data, status=status.HTTP_201_CREATED)


class LoginView(_AuthEndpoint):
    @extend_schema(request=LoginInputSerializer, responses={200: TokenPairSerializer}, tags=["auth"])
    def post(self, request: Request) -> Response:
        data = LoginInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        tokens = services.user_login(
            identifier=data.validated_data["username"], password=data.validated_data["password"]
        )
        return Response(tokens)


class RefreshView(_AuthEndpoint):
    @extend_schema(request=RefreshInputSerializer, responses={200: TokenPairSerializer}, tags=["auth"])
    def post(self, request: Request) -> Response:
        data = RefreshInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(services.token_refresh(refresh=data.validated_data["refresh"]))


class LogoutView(_AuthEndpoint):
    @extend_schema(request=RefreshInputSerializer, responses={204: None}, tags=["auth"])
    def post(self, request: Request) -> Response:
        data = RefreshInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.user_logout(refresh=data.validated_data["refresh"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    @extend_schema(responses=MeSerializer, tags=["auth"])
    def get(self, request: Request) -> Response:
        return Response(MeSerializer(request_user(request)).data)

    @extend_schema(request=MeUpdateInputSerializer, responses=MeSerializer, tags=["auth"])
    def patch(self, request: Request) -> Response:
        data = MeUpdateInputSerializer(data=request.data, context={"user": request_user(request)})
        data.is_valid(raise_exception=True)
        services.profile_update(user=request_user(request), **data.validated_data)
        return Response(MeSerializer(request_user(request)).data)
