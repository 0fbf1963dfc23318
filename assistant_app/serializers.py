"""Input and output shapes of the assistant API (for validation and the OpenAPI schema)."""

from __future__ import annotations

from rest_framework import serializers

from assistant_app.models import TokenScope
from todo_project import fields as safe
from todo_project.errors import ErrorSerializer

# The API's one error shape has one schema serializer (todo_project/errors.py).
ApiError = ErrorSerializer


class ChatInput(serializers.Serializer):
    message = safe.CharField(max_length=2000, trim_whitespace=True)
    conversation_id = serializers.UUIDField(required=False, allow_null=True)


class ActionOutput(serializers.Serializer):
    tool = serializers.CharField()
    arguments = serializers.DictField()
    ok = serializers.BooleanField()
    result = serializers.DictField(required=False, help_text="The tool's result (the tasks created/changed).")
    error = serializers.DictField(required=False, help_text="code, message, fields, status, options.")


class QuestionOutput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["confirm", "choose"])
    prompt = serializers.CharField()
    options = serializers.ListField(child=serializers.DictField())


class MessageOutput(serializers.Serializer):
    id = serializers.UUIDField()
    conversation_id = serializers.UUIDField()
    role = serializers.ChoiceField(choices=["user", "assistant"])
    text = serializers.CharField()
    actions = ActionOutput(many=True)
    question = QuestionOutput(allow_null=True)
    engine = serializers.CharField(help_text="local, model, reminder; empty for the user's own messages.")
    created_at = serializers.DateTimeField()


class ChatOutput(serializers.Serializer):
    conversation_id = serializers.UUIDField()
    user_message_id = serializers.UUIDField()
    message = MessageOutput(help_text="The assistant's reply.")


class AccessTokenInput(serializers.Serializer):
    name = safe.CharField(max_length=100)
    scope = serializers.ChoiceField(choices=TokenScope.values, default=TokenScope.READ)
    expires_in_days = serializers.IntegerField(min_value=1, max_value=3650, required=False, allow_null=True)


class AccessTokenOutput(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    prefix = serializers.CharField()
    scope = serializers.ChoiceField(choices=TokenScope.values)
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)


class AccessTokenCreatedOutput(AccessTokenOutput):
    token = serializers.CharField(help_text="The token itself. Shown only in this answer; store it now.")
