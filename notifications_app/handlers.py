"""reminder.triggered → notifications (one per channel; idempotent);
account mail requests (todo_project.accounts) → an e-mail on the SendGrid path."""

from __future__ import annotations

from notifications_app import services
from todo_project.events import types
from todo_project.events.models import OutboxEvent
from todo_project.events.registry import handles


@handles(
    types.REMINDER_TRIGGERED, name="notifications_app.handlers.create_notifications_on_reminder_triggered"
)
def create_notifications_on_reminder_triggered(event: OutboxEvent) -> None:
    services.notifications_create_for_trigger(data=event.data)


@handles(
    types.USER_PASSWORD_RESET_REQUESTED,
    types.USER_EMAIL_VERIFICATION_REQUESTED,
    name="notifications_app.handlers.send_account_mail",
)
def send_account_mail(event: OutboxEvent) -> None:
    """The accounts layer asks for a mail by event (it must not import this app)."""
    services.account_mail_create(event_id=str(event.id), event_type=event.type, data=event.data)
