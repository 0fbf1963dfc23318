"""The Prometheus endpoint ``/metrics`` of the web process.

It serves two kinds of numbers: database state computed from PostgreSQL at
scrape time (nothing lost on restart; apps add ``prometheus_client``
``Collector`` subclasses in ``<app>/metrics.py``, each registered once, here,
on first scrape), and what the web process itself counted (django-prometheus
HTTP and database metrics and the counters of ``todo_project/prometheus.py``,
summed over gunicorn's workers in multiprocess mode).

Who may read it (issue 11, item 10): the endpoint is meant for the separate,
non-public metrics port (``METRICS_PORT``, 9100 in the image and the chart),
which gunicorn binds next to the public one and which the Ingress never
routes. On any other port it answers only a request carrying
``Authorization: Bearer <METRICS_TOKEN>`` when a token is set; without a token
it is open with DEBUG on (development) and a 404 with DEBUG off.
"""

from __future__ import annotations

import hmac
import inspect
import threading
from collections.abc import Iterator
from importlib import import_module
from typing import cast

from django.apps import apps
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from todo_project.degraded import degraded_counts
from todo_project.events.selectors import kafka_enabled, outbox_stats
from todo_project.prometheus import ProcessMetrics


class OutboxCollector(Collector):
    """The event backbone: outbox backlog, dispatch and dead letters."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        stats = outbox_stats()
        yield GaugeMetricFamily(
            "taskbeat_outbox_unpublished_events",
            "Outbox events not yet acknowledged by Kafka (the bridge's backlog).",
            value=stats.unpublished,
        )
        yield GaugeMetricFamily(
            "taskbeat_outbox_oldest_unpublished_age_seconds",
            "Age of the oldest event not yet acknowledged by Kafka (0 when none).",
            value=stats.age_seconds(stats.oldest_unpublished_at),
        )
        yield GaugeMetricFamily(
            "taskbeat_outbox_undispatched_events",
            "Events whose handlers have not run yet (pending or retrying).",
            value=stats.undispatched,
        )
        yield GaugeMetricFamily(
            "taskbeat_outbox_oldest_undispatched_age_seconds",
            "Age of the oldest event whose handlers have not run yet (0 when none).",
            value=stats.age_seconds(stats.oldest_undispatched_at),
        )
        yield GaugeMetricFamily(
            "taskbeat_outbox_dispatch_failed_events",
            "Events whose handlers failed every attempt; re-dispatch them from the admin.",
            value=stats.dispatch_failed,
        )
        yield GaugeMetricFamily(
            "taskbeat_outbox_dead_lettered_events",
            "Events sent to the dead-letter topic instead of their own (still retained).",
            value=stats.dead_lettered,
        )
        yield GaugeMetricFamily(
            "taskbeat_kafka_bridge_enabled",
            "1 when KAFKA_BOOTSTRAP_SERVERS is set (otherwise the unpublished backlog is expected).",
            value=1 if kafka_enabled() else 0,
        )


class MigrationsCollector(Collector):
    """Migrations the code has that the database has not applied (the migrate hook did not run)."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from django.db import connection
        from django.db.migrations.executor import MigrationExecutor

        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        yield GaugeMetricFamily(
            "taskbeat_migrations_unapplied",
            "Migrations not applied to the database; non-zero after a deploy means the migrate Job failed.",
            value=len(plan),
        )


class CeleryQueueCollector(Collector):
    """Messages waiting in the Celery queue in Redis (the broker's list length)."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        import redis

        family = GaugeMetricFamily(
            "taskbeat_celery_queue_length", "Celery messages waiting in the broker.", labels=["queue"]
        )
        client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_connect_timeout=2, socket_timeout=2)
        try:
            family.add_metric(["celery"], client.llen("celery"))
        except redis.RedisError:
            pass  # /ready reports Redis; an empty family here leaves the alert on `up` and readiness
        finally:
            client.close()
        yield family


class DegradedCollector(Collector):
    """Operations this process did in degraded mode (Redis away): see todo_project/degraded.py.

    Counted in memory, per process (the one exception to database-state
    metrics here): a gunicorn worker reports its own count.
    """

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily(
            "taskbeat_degraded_operations",
            "Operations skipped because a dependency was away (throttle failed open, enqueue left "
            "to the sweep), in this process since it started.",
            labels=["component"],
        )
        for component, count in sorted(degraded_counts().items()):
            family.add_metric([component], count)
        yield family


_registry: CollectorRegistry | None = None
_registry_lock = threading.Lock()


def app_collectors() -> list[Collector]:
    """One instance of every Collector subclass defined in an installed app's ``metrics`` module."""
    found: list[Collector] = []
    for config in apps.get_app_configs():
        try:
            module = import_module(f"{config.name}.metrics")
        except ModuleNotFoundError as exc:
            if exc.name != f"{config.name}.metrics":
                raise
            continue
        for _, cls in inspect.getmembers(module, inspect.isclass):
            # Collector is a typing Protocol (no issubclass): a class defined in
            # the module with a collect() method is a collector.
            if cls.__module__ == module.__name__ and callable(getattr(cls, "collect", None)):
                found.append(cast("Collector", cls()))
    return found


def registry() -> CollectorRegistry:
    global _registry
    with _registry_lock:
        if _registry is None:
            fresh = CollectorRegistry(auto_describe=False)
            for collector in app_collectors():
                fresh.register(collector)
            # What this process tree counted (all gunicorn workers in multiprocess mode).
            fresh.register(ProcessMetrics())
            _registry = fresh
        return _registry


def on_metrics_port(request: HttpRequest) -> bool:
    """True for a request that arrived on the metrics listener (the socket's port, not the Host header)."""
    port = settings.METRICS_PORT
    return bool(port) and request.META.get("SERVER_PORT") == str(port)


def _token_ok(request: HttpRequest, token: str) -> bool:
    header = request.headers.get("Authorization", "")
    return hmac.compare_digest(header.encode(), f"Bearer {token}".encode())


@never_cache
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    token = settings.METRICS_TOKEN
    if not on_metrics_port(request):
        if token:
            if not _token_ok(request, token):
                return HttpResponse("unauthorised\n", status=401, content_type="text/plain")
        elif not settings.DEBUG:
            # Public port, no token configured, production: as if there were no such page.
            return HttpResponse("not found\n", status=404, content_type="text/plain")
    return HttpResponse(generate_latest(registry()), content_type=CONTENT_TYPE_LATEST)
