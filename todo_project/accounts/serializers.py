"""Request parsing and response shaping for the accounts API (no logic here)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from todo_project.accounts.models import DATE_ORDER_CHOICES
from todo_project.accounts.selectors import email_is_verified, profile_get


class RegisterInputSerializer(serializers.Serializer):
    # No "@": an identifier with one is always an e-mail address (docs/auth.md).
    username = serializers.RegexField(
        r"^[\w.+-]+\Z",
        max_length=150,
        error_messages={"invalid": "Use letters, digits and ./+/-/_ only (no @)."},
    )
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=128, trim_whitespace=False, write_only=True)
    timezone = serializers.CharField(max_length=64, required=False, default="UTC")
    date_order = serializers.ChoiceField(
        choices=DATE_ORDER_CHOICES,
        required=False,
        help_text="How numeric dates like 1/2 are read. Default: from the request's "
        "Accept-Language (MDY for US English or no header, YMD for e.g. ja/zh/ko/hu, DMY otherwise).",
    )


class LoginInputSerializer(serializers.Serializer):
    username = serializers.CharField(
        max_length=254, help_text="Username, or the account's verified e-mail address."
    )
    password = serializers.CharField(max_length=128, trim_whitespace=False, write_only=True)
    device_token = serializers.CharField(
        max_length=500,
        required=False,
        help_text="The device_token of an earlier login on this device: keeps it out of the "
        "account's shared login delay.",
    )


class RefreshInputSerializer(serializers.Serializer):
    refresh = serializers.CharField()


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class LoginOutputSerializer(TokenPairSerializer):
    device_token = serializers.CharField(help_text="Send it with later logins from this device.")


class PasswordChangeInputSerializer(serializers.Serializer):
    old_password = serializers.CharField(max_length=128, trim_whitespace=False, write_only=True)
    new_password = serializers.CharField(max_length=128, trim_whitespace=False, write_only=True)


class AccountDeleteInputSerializer(serializers.Serializer):
    password = serializers.CharField(max_length=128, trim_whitespace=False, write_only=True)


class PasswordResetRequestInputSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)


class PasswordResetConfirmInputSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=500)
    new_password = serializers.CharField(max_length=128, trim_whitespace=False, write_only=True)


# Named apart from the assistant's personal-access-token input (TokenInput).
@extend_schema_serializer(component_name="SignedTokenInput")
class MailedTokenInputSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=1000)


class AcceptedSerializer(serializers.Serializer):
    detail = serializers.CharField()


class EmailVerifiedSerializer(serializers.Serializer):
    user_id = serializers.IntegerField()
    email = serializers.EmailField()
    verified = serializers.BooleanField()


class MeUpdateInputSerializer(serializers.Serializer):
    """PATCH /api/me. ``id`` and ``username`` may be echoed back unchanged."""

    READ_ONLY = ("id", "username", "date_joined", "is_staff", "email_verified")

    email = serializers.EmailField(max_length=254, required=False)
    first_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    timezone = serializers.CharField(max_length=64, required=False)
    date_order = serializers.ChoiceField(choices=DATE_ORDER_CHOICES, required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        user = self.context["user"]
        current = MeSerializer(user).data
        errors: dict[str, str] = {}
        for key, value in self.initial_data.items():
            if key in self.READ_ONLY:
                if value != current[key]:
                    errors[key] = "This field is read-only."
            elif key not in self.fields:
                errors[key] = "Unknown field."
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk", read_only=True)
    username = serializers.CharField(read_only=True)
    email = serializers.EmailField(read_only=True)
    first_name = serializers.CharField(read_only=True)
    last_name = serializers.CharField(read_only=True)
    timezone = serializers.SerializerMethodField()
    date_order = serializers.SerializerMethodField(
        help_text="How quick add and the assistant read numeric dates: MDY (1/2 = 2 January), "
        "DMY (1 February) or YMD (2027/1/2; two numbers are month/day)."
    )
    date_joined = serializers.DateTimeField(read_only=True)
    is_staff = serializers.BooleanField(read_only=True)
    email_verified = serializers.SerializerMethodField()

    def get_email_verified(self, user: User) -> bool:
        return email_is_verified(user_id=user.pk, email=user.email)

    def get_timezone(self, user: User) -> str:
        return profile_get(user=user).timezone

    def get_date_order(self, user: User) -> str:
        return profile_get(user=user).date_order
