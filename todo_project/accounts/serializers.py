"""Request parsing and response shaping for the accounts API (no logic here)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from rest_framework import serializers

from todo_project.accounts.selectors import profile_get


class RegisterInputSerializer(serializers.Serializer):
    username = serializers.RegexField(
        r"^[\w.@+-]+\Z",
        max_length=150,
        error_messages={"invalid": "Use letters, digits and @/./+/-/_ only."},
    )
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=128, trim_whitespace=False, write_only=True)
    timezone = serializers.CharField(max_length=64, required=False, default="UTC")


class LoginInputSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=254, help_text="Username or e-mail address.")
    password = serializers.CharField(max_length=128, trim_whitespace=False, write_only=True)


class RefreshInputSerializer(serializers.Serializer):
    refresh = serializers.CharField()


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class MeUpdateInputSerializer(serializers.Serializer):
    """PATCH /api/me. ``id`` and ``username`` may be echoed back unchanged."""

    READ_ONLY = ("id", "username", "date_joined", "is_staff")

    email = serializers.EmailField(max_length=254, required=False)
    first_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    timezone = serializers.CharField(max_length=64, required=False)

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
    date_joined = serializers.DateTimeField(read_only=True)
    is_staff = serializers.BooleanField(read_only=True)

    def get_timezone(self, user: User) -> str:
        return profile_get(user=user).timezone
