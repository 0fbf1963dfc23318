"""Input and output shapes of the Web Push endpoints (the contract the web app codes against)."""

from __future__ import annotations

from rest_framework import serializers

from notifications_app.models import PushSubscription


class PushKeyOutput(serializers.Serializer):
    public_key = serializers.CharField(
        help_text="The VAPID public key, an uncompressed P-256 point in unpadded base64url: the "
        "applicationServerKey of pushManager.subscribe(). Empty when push is not available."
    )
    available = serializers.BooleanField(help_text="Whether this server can send Web Push at all.")


class PushKeysInput(serializers.Serializer):
    # Lengths are checked after decoding (services); these bound the text.
    p256dh = serializers.CharField(max_length=100, trim_whitespace=True)
    auth = serializers.CharField(max_length=50, trim_whitespace=True)


class PushSubscriptionInput(serializers.Serializer):
    """``PushSubscription.toJSON()`` (``expirationTime`` is accepted and ignored) plus ``user_agent``."""

    endpoint = serializers.CharField(max_length=2000)
    keys = PushKeysInput()
    user_agent = serializers.CharField(
        max_length=1000, required=False, allow_blank=True, help_text="Kept to its first 300 characters."
    )


class PushSubscriptionDeleteInput(serializers.Serializer):
    endpoint = serializers.CharField(max_length=2000)


class PushSubscriptionOutput(serializers.ModelSerializer):
    class Meta:
        model = PushSubscription
        fields = ["id", "endpoint", "user_agent", "created_at"]
