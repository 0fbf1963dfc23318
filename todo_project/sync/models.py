"""Idempotency keys for mutating API calls (offline clients retry writes)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class IdempotencyKey(models.Model):
    """The first response to a mutating request carrying ``Idempotency-Key``.

    The row is claimed (``INSERT … ON CONFLICT DO NOTHING``) before the view
    runs, so two concurrent requests with one key cannot both apply; the
    response is filled in when the view returns.
    """

    class Status(models.TextChoices):
        PROCESSING = "processing", "Processing"
        COMPLETED = "completed", "Completed"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.UUIDField()
    # sha256 of method, path and body: the same key with another request is refused.
    fingerprint = models.CharField(max_length=64)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PROCESSING)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True, default="")
    response_headers = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="sync_idempotency_user_key_unique"),
        ]
        indexes = [
            # The hourly purge of keys past IDEMPOTENCY_KEY_TTL_HOURS.
            models.Index(fields=["created_at"], name="sync_idempotency_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.key} user={self.user_id} {self.status}"
