"""Notifications and per-user delivery preferences (seeds 001 "notifications")."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

# The channel vocabulary lives with reminders (the lower layer names channels in
# a reminder's override); notifications deliver on them. Re-exported here.
from reminders_app.models import ALL_CHANNELS as ALL_CHANNELS
from reminders_app.models import Channel as Channel


class NotificationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class NotificationKind(models.TextChoices):
    REMINDER = "reminder", "Reminder"
    # In-app notice to the owner that their webhook endpoint was disabled.
    WEBHOOK_DISABLED = "webhook_disabled", "Webhook disabled"
    # Account mails asked for by todo_project.accounts through events; the
    # link (with its token) is made when the mail is sent, never stored.
    PASSWORD_RESET = "password_reset", "Password reset"
    EMAIL_VERIFICATION = "email_verification", "E-mail verification"


class NotificationPreference(models.Model):
    """One row per user, created on first read with the defaults below."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preference"
    )
    in_app_enabled = models.BooleanField(default=True)
    email_enabled = models.BooleanField(default=True)
    # Blank = the account's email address. Reminder mail goes to it only once
    # it is verified (todo_project.accounts EmailVerification).
    email_address = models.EmailField(blank=True, default="")
    webhook_enabled = models.BooleanField(default=False)
    webhook_url = models.URLField(max_length=2000, blank=True, default="")
    # Standard Webhooks secret ("whsec_<base64>"); shown to the user once.
    webhook_secret = models.CharField(max_length=100, blank=True, default="")
    # The secret a rotation replaced: deliveries are signed with it too until
    # ``webhook_previous_secret_until`` (WEBHOOK_SECRET_ROTATION_SECONDS), so a
    # receiver can switch secrets without rejecting any delivery.
    webhook_previous_secret = models.CharField(max_length=100, blank=True, default="", db_default="")
    webhook_previous_secret_until = models.DateTimeField(null=True, blank=True)
    webhook_disabled_at = models.DateTimeField(null=True, blank=True)
    webhook_disabled_reason = models.CharField(max_length=300, blank=True, default="")
    # Web Push to every subscribed browser; delivers only once one subscribes.
    # db_default too: pods of the previous release insert rows without the column.
    push_enabled = models.BooleanField(default=True, db_default=True)
    # Local times in the user's zone; deliveries other than in-app wait until
    # the end. Start > end spans midnight (22:00–07:00).
    quiet_hours_start = models.TimeField(null=True, blank=True)
    quiet_hours_end = models.TimeField(null=True, blank=True)
    # Minutes before due_at for the automatic reminder on timed tasks; null = off.
    default_reminder_minutes = models.PositiveIntegerField(null=True, blank=True)
    # FR-PR-005 priority rules (extra earlier reminder for high, halved lead for low).
    priority_boost_enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Not a column: whether the user has a subscribed browser, when the query
    # that read the row said so (notifications_app.selectors); None = unknown.
    push_subscribed: bool | None = None

    def __str__(self) -> str:
        return f"preferences of {self.user}"


class PushSubscription(models.Model):
    """One browser's Push API subscription (``PushSubscription.toJSON()``), RFC 8030/8291.

    The endpoint is a capability URL at the browser vendor's push service:
    whoever knows it can queue messages for that browser, so it is kept out of
    events, logs and the admin's list. It is unique across users: a browser
    profile has one subscription, and when another account subscribes in it,
    the subscription moves (the earlier account's reminders stop going to a
    browser someone else now uses).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="push_subscriptions"
    )
    endpoint = models.CharField(max_length=2000, unique=True)
    # The browser's P-256 ECDH public key (65-byte uncompressed point) and the
    # 16-byte auth secret, both unpadded base64url as the browser gives them.
    p256dh = models.CharField(max_length=100)
    auth = models.CharField(max_length=50)
    user_agent = models.CharField(max_length=300, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "-created_at"], name="push_subscription_user_idx")]

    def __str__(self) -> str:
        return f"push subscription {self.id} of user {self.user_id}"


class Notification(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    reminder = models.ForeignKey(
        "reminders_app.Reminder",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="notifications",
    )
    task_ref = models.UUIDField(null=True, blank=True)
    kind = models.CharField(
        max_length=30, choices=NotificationKind.choices, default=NotificationKind.REMINDER
    )
    channel = models.CharField(max_length=20, choices=Channel.choices)
    # The reminder time this notification is for: a snoozed reminder fires
    # again at a new time and gets new notifications.
    occurrence_at = models.DateTimeField()
    title = models.CharField(max_length=300)
    body = models.TextField(blank=True, default="")
    # Email address or webhook URL at creation time (push: the service's origin).
    recipient = models.CharField(max_length=2000, blank=True, default="")
    # Push: the PushSubscription (browser) it goes to. A reference, not a
    # foreign key, like task_ref: removing a subscription must not rewrite
    # (and lock) every notification ever sent to it; a pending one whose
    # browser is gone fails when its turn comes.
    push_subscription_ref = models.UUIDField(null=True, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=20, choices=NotificationStatus.choices, default=NotificationStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    # Not before this time (backoff, quiet hours).
    next_attempt_at = models.DateTimeField()
    # Lease of the worker delivering it; past it, the sweep may retry.
    claimed_until = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # The same reminder occurrence never produces two notifications on
            # one channel, or (push) two for one browser.
            models.UniqueConstraint(
                fields=["reminder", "occurrence_at", "channel"],
                condition=models.Q(reminder__isnull=False) & ~models.Q(channel="push"),
                name="notification_once_per_occurrence_channel",
            ),
            models.UniqueConstraint(
                fields=["reminder", "occurrence_at", "push_subscription_ref"],
                condition=models.Q(reminder__isnull=False, push_subscription_ref__isnull=False),
                name="notification_push_once_per_occurrence_browser",
            ),
            models.CheckConstraint(
                condition=models.Q(channel__in=["in_app", "email", "webhook", "push"]),
                name="notification_valid_channel",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=["pending", "sent", "failed"]),
                name="notification_valid_status",
            ),
        ]
        indexes = [
            # The delivery sweep: pending rows only.
            models.Index(
                fields=["next_attempt_at"],
                name="notification_pending_idx",
                condition=models.Q(status="pending"),
            ),
            # GET /api/notifications (in-app inbox) and unread-count.
            models.Index(
                fields=["user", "-created_at"],
                name="notification_inbox_idx",
                condition=models.Q(channel="in_app"),
            ),
            models.Index(
                fields=["user"],
                name="notification_unread_idx",
                condition=models.Q(channel="in_app", read_at__isnull=True),
            ),
            models.Index(fields=["status", "channel"], name="notification_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} notification {self.id} ({self.status})"
