"""The assistant: conversations, their messages, and personal access tokens.

A user has conversations (one "default" one unless a client asks for more);
each holds its messages in order, the short-term context the local engine
uses for "it" / "that one", and at most one pending question (a confirmation
or a choice between tasks) that the next message may answer.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class Conversation(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="conversations"
    )
    # Short-term memory of the local engine: {"task_ids": [...], "reminder_id": ...}.
    context = models.JSONField(default=dict, blank=True)
    # What the assistant asked and waits for (see assistant_app/engine.py):
    # {"kind": "confirm"|"choose", "tool": name, "arguments": {...}, "options": [...]}.
    pending = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            # "The user's latest conversation" for a message without conversation_id.
            models.Index(fields=["owner", "-updated_at"], name="conversation_owner_recent_idx"),
        ]

    def __str__(self) -> str:
        return f"conversation {self.id}"


class MessageRole(models.TextChoices):
    USER = "user", "User"
    ASSISTANT = "assistant", "Assistant"


class ChatMessage(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_messages"
    )
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    role = models.CharField(max_length=10, choices=MessageRole.choices)
    text = models.TextField()
    # The tool calls this reply made: [{"tool", "arguments", "ok", "result" | "error"}].
    actions = models.JSONField(default=list, blank=True)
    # What the reply asks, if anything: {"kind", "prompt", "options": [...]}.
    question = models.JSONField(null=True, blank=True)
    # "local", "model", "reminder" (a proactive message), or "" for the user's own.
    engine = models.CharField(max_length=20, blank=True, default="")
    # The event a proactive message answers (reminder.triggered): unique, so a
    # re-dispatched event adds one message.
    source_event_id = models.UUIDField(null=True, blank=True, unique=True)
    # Set by the services, strictly after the conversation's previous message,
    # so history order is the order things were said even within a clock tick.
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(role__in=["user", "assistant"]), name="chatmessage_valid_role"
            ),
        ]
        indexes = [
            # History pages, newest first, for one user.
            models.Index(fields=["owner", "-created_at", "-id"], name="chatmessage_owner_recent_idx"),
            models.Index(fields=["conversation", "created_at"], name="chatmessage_conversation_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.role}: {self.text[:40]}"


class TokenScope(models.TextChoices):
    READ = "read", "Read"
    WRITE = "write", "Read and write"


class PersonalAccessToken(models.Model):
    """A long-lived bearer token for integrations (the MCP server, scripts).

    Only a SHA-256 of the token is stored; the token itself is shown once, on
    creation. ``password_fingerprint`` ties the token to the password it was
    made under: a changed password makes every older token fail, however the
    password was changed (API, admin, ``changepassword``).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="personal_access_tokens"
    )
    name = models.CharField(max_length=100)
    # The first characters of the token, shown in lists so a user can tell tokens apart.
    prefix = models.CharField(max_length=16)
    token_hash = models.CharField(max_length=64, unique=True)
    scope = models.CharField(max_length=10, choices=TokenScope.choices, default=TokenScope.READ)
    password_fingerprint = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(scope__in=["read", "write"]), name="pat_valid_scope"),
        ]
        indexes = [models.Index(fields=["owner", "-created_at"], name="pat_owner_created_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
