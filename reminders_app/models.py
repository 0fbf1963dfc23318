"""Reminders (spec FR-DD-004…008, FR-PR-005; seeds 001 "reminders" table)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

MAX_REMINDERS_PER_TASK = 5


class Channel(models.TextChoices):
    """Delivery channels a reminder can name; notifications_app delivers on them."""

    IN_APP = "in_app", "In-app"
    EMAIL = "email", "Email"
    WEBHOOK = "webhook", "Webhook"
    # Web Push to the owner's subscribed browsers (notifications_app/push/).
    PUSH = "push", "Web Push"


ALL_CHANNELS = [Channel.IN_APP.value, Channel.EMAIL.value, Channel.WEBHOOK.value, Channel.PUSH.value]


class ReminderStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    TRIGGERED = "triggered", "Triggered"
    CANCELLED = "cancelled", "Cancelled"
    DISMISSED = "dismissed", "Dismissed"


class ReminderKind(models.TextChoices):
    # Created by the user through the reminder API.
    CUSTOM = "custom", "Custom"
    # Mirrors Task.remind_at (the simple single-reminder field).
    TASK_REMIND_AT = "task_remind_at", "Task remind_at"
    # The user's default reminder for timed tasks (a preference, off unless set).
    DEFAULT = "default", "Default"
    # FR-PR-005: the extra, earlier reminder of a high-priority task.
    PRIORITY_BOOST = "priority_boost", "Priority boost"


class CancelReason(models.TextChoices):
    USER = "user", "Deleted by the user"
    TASK_COMPLETED = "task_completed", "Task completed"
    TASK_DELETED = "task_deleted", "Task deleted"
    DUE_REMOVED = "due_removed", "Task lost its due time"
    REMIND_AT_CLEARED = "remind_at_cleared", "Task remind_at cleared"
    TIME_PASSED = "time_passed", "Moved into the past"
    NOT_APPLICABLE = "not_applicable", "Rule no longer applies"


# Cancellations the system undoes on its own when the cause goes away
# (re-opening a task, a due time set again, a preference switched back on).
RESTORABLE_REASONS = frozenset(
    {
        CancelReason.TASK_COMPLETED,
        CancelReason.DUE_REMOVED,
        CancelReason.REMIND_AT_CLEARED,
        CancelReason.NOT_APPLICABLE,
    }
)


class Reminder(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reminders")
    # Task deletion hard-deletes the task row; SET_NULL keeps the reminder (and
    # its cancellation) on record, ``task_ref`` keeps which task it was.
    task = models.ForeignKey(
        "tasks_app.Task", on_delete=models.SET_NULL, null=True, blank=True, related_name="reminders"
    )
    task_ref = models.UUIDField()
    kind = models.CharField(max_length=20, choices=ReminderKind.choices, default=ReminderKind.CUSTOM)
    # Relative reminders: minutes before the task's due_at; they move with it.
    # Absolute reminders have no offset.
    offset_minutes = models.PositiveIntegerField(null=True, blank=True)
    # The computed time before any snooze; a change of it re-arms the reminder.
    base_at = models.DateTimeField()
    # When the reminder fires next (base_at, or later after a snooze). UTC.
    fire_at = models.DateTimeField()
    status = models.CharField(max_length=20, choices=ReminderStatus.choices, default=ReminderStatus.PENDING)
    cancel_reason = models.CharField(max_length=30, choices=CancelReason.choices, blank=True, default="")
    # Per-reminder channel override (subset of in_app/email/webhook); null =
    # the owner's notification preferences decide.
    channels = models.JSONField(null=True, blank=True)
    # How many times the scan fired this reminder (a snoozed one fires again).
    attempts = models.PositiveIntegerField(default=0)
    triggered_at = models.DateTimeField(null=True, blank=True)
    # Firing lag of the last trigger: triggered_at - fire_at.
    lag = models.DurationField(null=True, blank=True)
    snoozed_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["fire_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["pending", "triggered", "cancelled", "dismissed"]),
                name="reminder_valid_status",
            ),
            # One automatic reminder of each kind per task; the sync updates it in place.
            models.UniqueConstraint(
                fields=["task_ref", "kind"],
                condition=~models.Q(kind="custom"),
                name="reminder_one_automatic_per_kind",
            ),
        ]
        indexes = [
            # The due-reminder scan: only pending rows are indexed, so its cost
            # follows the number of due rows, not of the history.
            models.Index(
                fields=["fire_at"], name="reminder_pending_fire_idx", condition=models.Q(status="pending")
            ),
            # The task event handlers' sync and the per-task list.
            models.Index(fields=["task_ref", "fire_at"], name="reminder_task_idx"),
            # GET /api/reminders?status=…
            models.Index(fields=["owner", "status", "fire_at"], name="reminder_owner_status_idx"),
        ]

    def __str__(self) -> str:
        return f"reminder {self.id} at {self.fire_at:%Y-%m-%d %H:%M} ({self.status})"

    @property
    def is_relative(self) -> bool:
        return self.offset_minutes is not None
