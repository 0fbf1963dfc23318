"""Assistant reads: chat history, tokens."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib.auth.models import User
from django.db.models import QuerySet

from assistant_app.models import ChatMessage, PersonalAccessToken


def chat_history(*, user: User, conversation_id: uuid.UUID | str | None = None) -> QuerySet[ChatMessage]:
    """The caller's messages, newest first (one conversation, or all of them)."""
    qs = ChatMessage.objects.filter(owner_id=user.pk)
    if conversation_id:
        qs = qs.filter(conversation_id=conversation_id)
    return qs.order_by("-created_at", "-id")


def pat_list(*, user: User) -> QuerySet[PersonalAccessToken]:
    return PersonalAccessToken.objects.filter(owner_id=user.pk).order_by("-created_at", "id")


def pat_to_dict(token: PersonalAccessToken) -> dict[str, Any]:
    def iso(value: Any) -> str | None:
        return value.isoformat().replace("+00:00", "Z") if value else None

    return {
        "id": str(token.pk),
        "name": token.name,
        "prefix": token.prefix,
        "scope": token.scope,
        "created_at": iso(token.created_at),
        "last_used_at": iso(token.last_used_at),
        "expires_at": iso(token.expires_at),
        "revoked_at": iso(token.revoked_at),
    }
