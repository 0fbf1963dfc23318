from __future__ import annotations

from django.contrib import admin

from assistant_app.models import ChatMessage, Conversation, PersonalAccessToken


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = ("id", "owner", "created_at", "updated_at")
    search_fields = ("=id", "owner__username")
    raw_id_fields = ("owner",)
    readonly_fields = ("context", "pending")


@admin.register(ChatMessage)
class ChatMessageAdmin(admin.ModelAdmin):
    list_display = ("created_at", "owner", "role", "engine", "text")
    list_filter = ("role", "engine")
    search_fields = ("=id", "owner__username", "=conversation__id")
    raw_id_fields = ("owner", "conversation")
    ordering = ("-created_at", "-id")


@admin.register(PersonalAccessToken)
class PersonalAccessTokenAdmin(admin.ModelAdmin):
    """Tokens are made by their owner through the API (shown once); here they can be looked at and revoked."""

    list_display = ("name", "owner", "prefix", "scope", "created_at", "last_used_at", "revoked_at")
    list_filter = ("scope",)
    search_fields = ("name", "owner__username", "prefix")
    raw_id_fields = ("owner",)
    readonly_fields = ("token_hash", "password_fingerprint", "prefix", "created_at", "last_used_at")

    def has_add_permission(self, request):  # noqa: ANN001 - Django's signature
        return False
