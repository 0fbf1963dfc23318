from __future__ import annotations

import pytest
from django.contrib.admin.sites import site

from notifications_app.admin import NotificationAdmin
from notifications_app.models import Notification

pytestmark = pytest.mark.django_db


def test_an_operator_sees_failed_deliveries_and_can_retry_them(
    alice, alice_client, sendgrid, fire_reminder, admin_client
):
    sendgrid.statuses = [400]
    reminder = fire_reminder(alice)
    failed = Notification.objects.get(reminder=reminder, channel="email")
    assert failed.status == "failed"

    page = admin_client.get("/admin/notifications_app/notification/?status__exact=failed")
    assert page.status_code == 200
    assert str(failed.id) in page.content.decode()

    response = admin_client.post(
        "/admin/notifications_app/notification/",
        {"action": "retry_failed", "_selected_action": [str(failed.id)]},
    )
    assert response.status_code == 302
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == ("pending", 0)
    assert isinstance(site._registry[Notification], NotificationAdmin)
