"""Celery tasks of notifications_app (thin; the work is in services)."""

from __future__ import annotations

from celery import shared_task

from notifications_app import services


# acks_late: a worker killed mid-delivery has the message redelivered; the
# row's lease and status make the redelivery harmless.
@shared_task(acks_late=True)
def notification_deliver_task(notification_id: str) -> None:
    """Deliver one email/webhook/push notification; schedules its own retry after a transient failure."""
    countdown = services.notification_deliver(notification_id=notification_id)
    if countdown is not None:
        notification_deliver_task.apply_async((notification_id,), countdown=countdown)


@shared_task
def notifications_sweep_task() -> int:
    """Enqueue due deliveries: after quiet hours, lost enqueues, expired leases (beat)."""
    return services.notifications_sweep()
