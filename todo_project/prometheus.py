"""Process metrics (counters and histograms kept in memory) and their exporters.

Two kinds of metrics reach Prometheus:

* **Database state** (outbox backlog, pending reminders, notification totals,
  unapplied migrations): collectors in ``<app>/metrics.py`` that query
  PostgreSQL at scrape time, served by the ``web`` process only
  (``todo_project/metrics.py``), so a backlog is counted once, not per pod.
* **What a process did** (HTTP requests via django-prometheus, Celery tasks,
  events recorded, reminder firing lag, Kafka publishes, WebSocket
  connections): the objects below. gunicorn workers and Celery's prefork
  children are separate processes, so with ``PROMETHEUS_MULTIPROC_DIR`` set
  (the image sets it) each writes its values to files there and the exporter
  adds them up (prometheus-client's multiprocess mode).

Every process serves its metrics on ``METRICS_PORT`` (0 = off): gunicorn binds
the port as a second listener and answers ``/metrics`` there; uvicorn (ws),
Celery worker/beat and the bridge start prometheus-client's HTTP server on it.
The port is never routed by the Ingress (docs/operations.md, "Metrics").
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, multiprocess
from prometheus_client.metrics_core import Metric

logger = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Multiprocess mode writes a file per metric and process from the first metric
# defined below on, so the directory (under the emptyDir /tmp) must exist first.
if os.environ.get(MULTIPROC_ENV):
    Path(os.environ[MULTIPROC_ENV]).mkdir(parents=True, exist_ok=True)

# --- What the processes count ------------------------------------------------
EVENTS_RECORDED = Counter(
    "taskbeat_events_recorded_total",
    "Domain events committed to the outbox, by CloudEvents type (task.created, task.completed, …).",
    ["type"],
)
REMINDER_LAG = Histogram(
    "taskbeat_reminder_lag_seconds",
    "Reminder firing lag (fired - scheduled) of each reminder.triggered event.",
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 900),
)
NOTIFICATIONS = Counter(
    "taskbeat_notification_deliveries_total",
    "Notification deliveries by channel and outcome (sent, failed: all retries spent).",
    ["channel", "outcome"],
)
KAFKA_PUBLISHED = Counter(
    "taskbeat_kafka_published_total",
    "Events acknowledged by Kafka, by logical topic (dead-lettered ones count under dlq-events).",
    ["topic"],
)
WS_CONNECTIONS = Gauge(
    "taskbeat_websocket_connections",
    "Open WebSocket connections of this process.",
    multiprocess_mode="livesum",
)
WS_RESYNCS = Counter(
    "taskbeat_websocket_resyncs_total",
    "Resync pages served to clients that missed events (WebSocket resync and GET /api/sync).",
)
WS_LAYER_LOSSES = Counter(
    "taskbeat_websocket_layer_losses_total",
    "Times a ws process found the channel layer away or without its groups (its sockets then close 1012).",
)
CELERY_TASKS = Counter(
    "taskbeat_celery_tasks_total",
    "Celery tasks finished, by task name and state (succeeded, failed, retried).",
    ["task", "state"],
)
CELERY_RUNTIME = Histogram(
    "taskbeat_celery_task_runtime_seconds",
    "Time a Celery task ran.",
    ["task"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
CELERY_QUEUE_WAIT = Histogram(
    "taskbeat_celery_task_queue_wait_seconds",
    "Time from publishing a Celery task to a worker starting it.",
    ["task"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
CELERY_WORKER_UP = Gauge(
    "taskbeat_celery_worker_up",
    "1 while a Celery worker's main process runs.",
    multiprocess_mode="liveall",
)
BEAT_LAST_SEND = Gauge(
    "taskbeat_beat_last_send_timestamp_seconds",
    "When this beat last sent a scheduled task (its heartbeat: the reminder scan runs every few seconds).",
    multiprocess_mode="max",
)


def observe_committed_events(events: list[Any]) -> None:
    """Count events after their transaction committed (called from the outbox)."""
    for event in events:
        EVENTS_RECORDED.labels(event.type).inc()
        data: Mapping[str, Any] = event.data if isinstance(event.data, Mapping) else {}
        if event.type == "reminder.triggered" and isinstance(data.get("lag_seconds"), int | float):
            REMINDER_LAG.observe(max(0.0, float(data["lag_seconds"])))
        elif event.type in ("notification.sent", "notification.failed"):
            outcome = event.type.rsplit(".", 1)[1]
            NOTIFICATIONS.labels(str(data.get("channel", "unknown")), outcome).inc()


# --- Exporting ------------------------------------------------------------------
def multiprocess_enabled() -> bool:
    return bool(os.environ.get(MULTIPROC_ENV))


def prepare_multiprocess_dir() -> None:
    """Remove other processes' files (a restarted container's emptyDir keeps them).

    Call once in a process tree's parent, before children start. This
    process's own files stay: its metrics were created at import and keep
    writing to them (``<kind>_<pid>.db``).
    """
    directory = os.environ.get(MULTIPROC_ENV)
    if not directory:
        return
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    own = f"_{os.getpid()}.db"
    for child in path.iterdir():
        if child.is_dir():
            shutil.rmtree(child, ignore_errors=True)
        elif not child.name.endswith(own):
            child.unlink(missing_ok=True)


def mark_process_dead(pid: int) -> None:
    if multiprocess_enabled():
        multiprocess.mark_process_dead(pid)


class ProcessMetrics:
    """Collects from the default registry (single process) or the multiprocess files."""

    def collect(self) -> Iterator[Metric]:
        if multiprocess_enabled():
            registry = CollectorRegistry(auto_describe=False)
            multiprocess.MultiProcessCollector(registry)
            yield from registry.collect()
        else:
            yield from REGISTRY.collect()


def process_registry() -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ProcessMetrics())
    return registry


_server_lock = threading.Lock()
_server_started = False


def start_metrics_server(port: int, *, prepare: bool = True) -> bool:
    """Serve this process tree's metrics on ``port`` (0: off). Once per process; True when started."""
    global _server_started
    if not port:
        return False
    with _server_lock:
        if _server_started:
            return False
        if prepare:
            prepare_multiprocess_dir()
        from prometheus_client import start_http_server

        start_http_server(port, registry=process_registry())
        _server_started = True
    logger.info("metrics on :%d/metrics", port)
    return True


# --- Celery -------------------------------------------------------------------------
_PUBLISHED_HEADER = "taskbeat_published_at"


def connect_celery_signals() -> None:
    """Task counters and histograms, worker up, beat heartbeat, and the exporters."""
    from celery import signals

    started: dict[str, float] = {}

    @signals.before_task_publish.connect(weak=False)
    def _stamp(headers: dict[str, Any] | None = None, **_: Any) -> None:
        if headers is not None:
            headers[_PUBLISHED_HEADER] = time.time()

    @signals.task_prerun.connect(weak=False)
    def _prerun(task_id: str = "", task: Any = None, **_: Any) -> None:
        now = time.time()
        started[task_id] = time.monotonic()
        published = getattr(task.request, _PUBLISHED_HEADER, None) if task is not None else None
        if published is None and task is not None:
            published = (getattr(task.request, "headers", None) or {}).get(_PUBLISHED_HEADER)
        if isinstance(published, int | float):
            CELERY_QUEUE_WAIT.labels(task.name).observe(max(0.0, now - published))

    @signals.task_postrun.connect(weak=False)
    def _postrun(task_id: str = "", task: Any = None, state: str | None = None, **_: Any) -> None:
        began = started.pop(task_id, None)
        name = getattr(task, "name", "unknown")
        if began is not None:
            CELERY_RUNTIME.labels(name).observe(time.monotonic() - began)
        label = {"SUCCESS": "succeeded", "FAILURE": "failed", "RETRY": "retried"}.get(state or "", "other")
        CELERY_TASKS.labels(name, label).inc()

    @signals.worker_init.connect(weak=False)
    def _worker_init(**_: Any) -> None:
        # Main process, before the pool forks: children write to the emptied directory.
        from django.conf import settings

        start_metrics_server(settings.METRICS_PORT)
        CELERY_WORKER_UP.set(1)

    @signals.worker_process_shutdown.connect(weak=False)
    def _child_exit(pid: int | None = None, **_: Any) -> None:
        mark_process_dead(pid or os.getpid())

    in_beat = threading.Event()

    @signals.beat_init.connect(weak=False)
    def _beat_init(**_: Any) -> None:
        from django.conf import settings

        in_beat.set()
        start_metrics_server(settings.METRICS_PORT)
        BEAT_LAST_SEND.set(time.time())

    @signals.after_task_publish.connect(weak=False)
    def _beat_heartbeat(**_: Any) -> None:
        if in_beat.is_set():  # web and worker publish too; only beat's sends are its heartbeat
            BEAT_LAST_SEND.set(time.time())
