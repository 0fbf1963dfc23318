"""Tasks (spec §8.1)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.db import models


class Priority(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


# Sorting by priority means high > medium > low, not alphabetical.
PRIORITY_RANK = {Priority.LOW: 1, Priority.MEDIUM: 2, Priority.HIGH: 3}

MAX_TAGS = 20
MAX_TAG_LENGTH = 50
MAX_TITLE_LENGTH = 255
MAX_DESCRIPTION_LENGTH = 5000

# The expression the full-text GIN index is built on; queries must use the
# very same expression for PostgreSQL to pick the index.
SEARCH_VECTOR = SearchVector("title", "description", config="english")


class Task(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tasks")
    title = models.CharField(max_length=MAX_TITLE_LENGTH)
    description = models.TextField(blank=True, default="")
    is_completed = models.BooleanField(default=False)
    completed_at = models.DateTimeField(null=True, blank=True)
    # Legacy date-only due date: a date stays a date (FR-DD-002).
    due_date = models.DateField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    remind_at = models.DateTimeField(null=True, blank=True)
    is_recurring = models.BooleanField(default=False)
    recurrence_rule = models.CharField(max_length=1000, blank=True, default="")
    priority = models.CharField(max_length=20, choices=Priority.choices, default=Priority.MEDIUM)
    tags = models.JSONField(default=list, blank=True)
    # Lower-cased tags for case-insensitive matching; ``tags`` keeps the
    # original casing for display. Maintained by the services.
    tag_keys = models.JSONField(default=list, blank=True, editable=False)
    position = models.IntegerField(default=0)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(priority__in=["low", "medium", "high"]), name="task_valid_priority"
            ),
            models.CheckConstraint(
                condition=models.Q(is_completed=False) | models.Q(completed_at__isnull=False),
                name="task_completed_has_time",
            ),
        ]
        indexes = [
            models.Index(fields=["owner", "position"], name="task_owner_position_idx"),
            models.Index(fields=["owner", "created_at"], name="task_owner_created_idx"),
            models.Index(
                fields=["owner", "due_at"],
                name="task_owner_due_at_idx",
                condition=models.Q(due_at__isnull=False),
            ),
            models.Index(
                fields=["remind_at"], name="task_remind_at_idx", condition=models.Q(remind_at__isnull=False)
            ),
            models.Index(fields=["owner", "priority"], name="task_owner_priority_idx"),
            models.Index(fields=["owner"], name="task_recurring_idx", condition=models.Q(is_recurring=True)),
            # Tag filters use jsonb containment (@>) on a lower-cased copy; see tag_keys.
            GinIndex(fields=["tag_keys"], name="task_tag_keys_gin"),
            GinIndex(SEARCH_VECTOR, name="task_fulltext_gin"),
        ]

    def __str__(self) -> str:
        return self.title
