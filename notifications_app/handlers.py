"""reminder.triggered → notifications (one per channel; idempotent);
account mail requests (todo_project.accounts) → an e-mail on the SendGrid path."""

from __future__ import annotations

from notifications_app import services
from todo_project.events.models import OutboxEvent
from todo_project.events.registry import handles


@handles("reminder.triggered")
def create_notifications_on_reminder_triggered(event: OutboxEvent) -> None:
    services.notifications_create_for_trigger(data=event.data)


@handles("user.password_reset_requested", "user.email_verification_requested")
def send_account_mail(event: OutboxEvent) -> None:
    """The accounts layer asks for a mail by event (it must not import this app)."""
    services.account_mail_create(event_id=str(event.id), event_type=event.type, data=event.data)
