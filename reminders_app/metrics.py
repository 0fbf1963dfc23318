"""Prometheus collector for reminders, read from PostgreSQL at scrape time.

Register once on the /metrics registry (todo_project/metrics.py)::

    from reminders_app.metrics import ReminderCollector
    registry.register(ReminderCollector())

Scraping reads the database, so the numbers are the same whichever process
is scraped (web, worker) and survive restarts.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from django.db import connection
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

# Lag quantiles are computed over reminders triggered in this window.
LAG_WINDOW = timedelta(minutes=15)
# A pending reminder this late means the scan is not keeping up (or beat is down).
OVERDUE_AFTER = timedelta(minutes=1)

_SQL = """
    SELECT
      (SELECT count(*) FROM reminders_app_reminder WHERE status = 'pending'),
      (SELECT count(*) FROM reminders_app_reminder WHERE status = 'pending' AND fire_at < %(overdue)s),
      count(*),
      percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM lag)),
      percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM lag)),
      percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM lag)),
      max(extract(epoch FROM lag))
    FROM reminders_app_reminder
    WHERE triggered_at >= %(since)s AND lag IS NOT NULL
"""


def reminder_stats() -> dict[str, float | int | None]:
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(_SQL, {"overdue": now - OVERDUE_AFTER, "since": now - LAG_WINDOW})
        pending, overdue, recent, p50, p95, p99, worst = cursor.fetchone()
    return {
        "pending": pending,
        "overdue": overdue,
        "triggered_recent": recent,
        "lag_p50": p50,
        "lag_p95": p95,
        "lag_p99": p99,
        "lag_max": worst,
    }


class ReminderCollector(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
        stats = reminder_stats()
        yield GaugeMetricFamily(
            "taskbeat_reminders_pending", "Reminders waiting to fire.", value=stats["pending"]
        )
        yield GaugeMetricFamily(
            "taskbeat_reminders_overdue",
            "Pending reminders more than a minute past their time (scan not keeping up).",
            value=stats["overdue"],
        )
        yield GaugeMetricFamily(
            "taskbeat_reminders_triggered_recent",
            "Reminders triggered in the last 15 minutes.",
            value=stats["triggered_recent"],
        )
        lag = GaugeMetricFamily(
            "taskbeat_reminder_firing_lag_seconds",
            "Firing lag (triggered - scheduled) over the last 15 minutes.",
            labels=["quantile"],
        )
        for label, key in (("0.5", "lag_p50"), ("0.95", "lag_p95"), ("0.99", "lag_p99"), ("1", "lag_max")):
            value = stats[key]
            if value is not None:
                lag.add_metric([label], float(value))
        yield lag
