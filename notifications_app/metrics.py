"""Prometheus collector for notification delivery, read from PostgreSQL at scrape time.

Register once on the /metrics registry (todo_project/metrics.py)::

    from notifications_app.metrics import NotificationCollector
    registry.register(NotificationCollector())
"""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Count
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from notifications_app.models import Notification, NotificationPreference


class NotificationCollector(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "taskbeat_notifications",
            "Notifications by channel and delivery status (failed ones stay until an operator acts).",
            labels=["channel", "status"],
        )
        rows = Notification.objects.values("channel", "status").annotate(n=Count("id")).order_by()
        for row in rows:
            family.add_metric([row["channel"], row["status"]], row["n"])
        yield family
        yield GaugeMetricFamily(
            "taskbeat_webhooks_disabled",
            "Webhook endpoints disabled after 410 or exhausted retries.",
            value=NotificationPreference.objects.filter(webhook_disabled_at__isnull=False).count(),
        )
