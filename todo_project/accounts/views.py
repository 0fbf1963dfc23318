"""Thin HTTP interface for accounts: parse, call one service, shape output."""

from __future__ import annotations

import math

from django.contrib import admin
from django.contrib.auth import logout, update_session_auth_hash
from django.http import HttpRequest, HttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from todo_project.accounts import services
from todo_project.accounts.authentication import request_user
from todo_project.accounts.selectors import date_order_for_locale
from todo_project.accounts.serializers import (
    AcceptedSerializer,
    AccountDeleteInputSerializer,
    EmailVerifiedSerializer,
    LoginInputSerializer,
    LoginOutputSerializer,
    MailedTokenInputSerializer,
    MeSerializer,
    MeUpdateInputSerializer,
    PasswordChangeInputSerializer,
    PasswordResetConfirmInputSerializer,
    PasswordResetRequestInputSerializer,
    RefreshInputSerializer,
    RegisterInputSerializer,
    TokenPairSerializer,
)
from todo_project.accounts.throttling import AuthRateThrottle
from todo_project.errors import ErrorSerializer
from todo_project.events.context import client_ip
from todo_project.throttling import bucket_take

_RESET_ACCEPTED = "If an account has this address, a link to reset its password is on its way."
_VERIFICATION_ACCEPTED = "A verification link is on its way to your address."


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
        fields = dict(data.validated_data)
        fields.setdefault("date_order", date_order_for_locale(request.headers.get("Accept-Language")))
        user = services.user_register(**fields)
        return Response(MeSerializer(user).data, status=status.HTTP_201_CREATED)


class LoginView(_AuthEndpoint):
    @extend_schema(
        request=LoginInputSerializer,
        responses={
            200: LoginOutputSerializer,
            429: OpenApiResponse(description="Too many attempts from this address or for this account."),
        },
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        data = LoginInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        tokens = services.user_login(
            identifier=data.validated_data["username"],
            password=data.validated_data["password"],
            device_token=data.validated_data.get("device_token"),
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


class PasswordChangeView(APIView):
    throttle_classes = [AuthRateThrottle]

    @extend_schema(
        request=PasswordChangeInputSerializer,
        responses={200: TokenPairSerializer},
        tags=["auth"],
        description="Every refresh token of the account is revoked and its sockets are closed; "
        "the answer is a fresh pair for the caller.",
    )
    def post(self, request: Request) -> Response:
        data = PasswordChangeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        tokens = services.password_change(user=request_user(request), **data.validated_data)
        if isinstance(request.successful_authenticator, SessionAuthentication):
            # Keep the caller's own cookie session; every other session ends.
            update_session_auth_hash(request._request, request_user(request))
        return Response(tokens)


class AccountView(APIView):
    throttle_classes = [AuthRateThrottle]

    @extend_schema(
        request=AccountDeleteInputSerializer,
        responses={
            204: None,
            400: OpenApiResponse(ErrorSerializer, description="Wrong password: `error.fields.password`."),
            401: OpenApiResponse(ErrorSerializer, description="Not authenticated."),
            429: OpenApiResponse(ErrorSerializer, description="Too many wrong passwords; see Retry-After."),
        },
        tags=["auth"],
        summary="Delete your account and everything in it",
        description="Needs the password. Deletes tasks, projects, series, reminders, notifications, push "
        "subscriptions, chat history, tokens and your audit entries in one transaction, revokes every "
        "refresh token and closes your sockets; records `user.deleted` (docs/auth.md).",
    )
    def delete(self, request: Request) -> Response:
        data = AccountDeleteInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.account_delete(user=request_user(request), password=data.validated_data["password"])
        if isinstance(request.successful_authenticator, SessionAuthentication):
            logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordResetRequestView(_AuthEndpoint):
    @extend_schema(
        request=PasswordResetRequestInputSerializer, responses={202: AcceptedSerializer}, tags=["auth"]
    )
    def post(self, request: Request) -> Response:
        data = PasswordResetRequestInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.password_reset_request(email=data.validated_data["email"])
        return Response({"detail": _RESET_ACCEPTED}, status=status.HTTP_202_ACCEPTED)


class PasswordResetConfirmView(_AuthEndpoint):
    @extend_schema(request=PasswordResetConfirmInputSerializer, responses={204: None}, tags=["auth"])
    def post(self, request: Request) -> Response:
        data = PasswordResetConfirmInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.password_reset_confirm(**data.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)


class EmailVerifyView(_AuthEndpoint):
    @extend_schema(
        request=MailedTokenInputSerializer, responses={200: EmailVerifiedSerializer}, tags=["auth"]
    )
    def post(self, request: Request) -> Response:
        data = MailedTokenInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user_id, email = services.email_verify(token=data.validated_data["token"])
        return Response({"user_id": user_id, "email": email, "verified": True})


class EmailVerificationResendView(APIView):
    throttle_classes = [AuthRateThrottle]

    @extend_schema(
        request=None,
        responses={202: AcceptedSerializer, 400: OpenApiResponse(description="Already verified.")},
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        services.email_verification_resend(user=request_user(request))
        return Response({"detail": _VERIFICATION_ACCEPTED}, status=status.HTTP_202_ACCEPTED)


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


def admin_login(request: HttpRequest) -> HttpResponse:
    """``/admin/login/`` behind the API login's per-address bucket (``THROTTLE_AUTH_RATE``).

    The same bucket as ``/api/auth/*`` for the same client address, so the
    admin is no side door; the form (accounts/admin.py) adds the per-account
    delay and writes ``user.login_failed``. Over either limit: 429 with
    Retry-After, the login page saying why.
    """
    if request.method == "POST":
        wait = bucket_take(
            key=f"throttle_auth_{client_ip(request)}",
            rate=_auth_rate(),
        )
        if wait:
            seconds = max(1, math.ceil(wait))
            response = HttpResponse(
                f"Too many login attempts from your address. Try again in {seconds} seconds.\n",
                status=429,
                content_type="text/plain; charset=utf-8",
            )
            response["Retry-After"] = str(seconds)
            return response
    response = admin.site.login(request)
    retry_after = getattr(request, "login_retry_after", None)
    if retry_after:
        response.status_code = 429
        response["Retry-After"] = str(retry_after)
    return response


def _auth_rate() -> str | None:
    rate = api_settings.DEFAULT_THROTTLE_RATES.get("auth")
    return None if rate is None else str(rate)
