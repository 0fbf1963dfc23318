"""The audit log (spec §2.7, FR-AL-001…007): one entry per domain event."""

from __future__ import annotations

from django.db import models


class ActorType(models.TextChoices):
    USER = "user", "User"  # the user acted (API request, login)
    SYSTEM = "system", "System"  # Taskbeat acted on the user's data (beat, worker)
    ANONYMOUS = "anonymous", "Anonymous"  # an unauthenticated caller (failed login)


class AuditLog(models.Model):
    """Written only by the ``*`` event handler (``audit_app.handlers``).

    ``event_id`` is the outbox event's (CloudEvent) id: unique, so a
    re-dispatched event never makes a second entry. ``actor_id`` is the user
    the event belongs to (its partition key), which makes it that user's feed.
    """

    event_id = models.UUIDField(unique=True, editable=False)
    action = models.CharField(max_length=100)
    actor_type = models.CharField(max_length=20, choices=ActorType.choices)
    # A plain id, not a foreign key: the trail outlives the user it names.
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_email = models.CharField(max_length=254, blank=True)
    resource_type = models.CharField(max_length=50, blank=True)
    resource_id = models.CharField(max_length=100, blank=True)
    timestamp = models.DateTimeField()
    metadata = models.JSONField(default=dict, blank=True)
    source = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-timestamp", "-id"]
        indexes = [
            # GET /api/audit: one user's entries, newest first.
            models.Index(fields=["actor_id", "-timestamp", "-id"], name="audit_actor_time_idx"),
            # The retention purge and the admin's date drill-down.
            models.Index(fields=["timestamp"], name="audit_timestamp_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.resource_type}:{self.resource_id} by {self.actor_type}:{self.actor_id}"
