"""gunicorn settings for the `web` process (HTTP: API, admin, static files)."""

import os
import shutil
from pathlib import Path

bind = [os.environ.get("WEB_BIND", "0.0.0.0:8000")]
# The metrics listener: same app, but /metrics answers here without a token and
# the Ingress never routes to it (todo_project/metrics.py, docs/operations.md).
_metrics_port = int(os.environ.get("METRICS_PORT", "0") or 0)
if _metrics_port:
    bind.append(f"0.0.0.0:{_metrics_port}")
workers = int(os.environ.get("WEB_WORKERS", "2"))
# Threads share connections through psycopg's pool (DATABASE_POOL).
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "4"))
timeout = int(os.environ.get("WEB_TIMEOUT", "30"))
graceful_timeout = 20
# Trust X-Forwarded-* only from the ingress (comma list of addresses).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = "-"
# Worker heartbeat files in /tmp: the root filesystem is read-only in the image.
worker_tmp_dir = os.environ.get("WEB_WORKER_TMP_DIR", "/tmp")  # noqa: S108 - an emptyDir in Kubernetes


# prometheus-client's multiprocess mode (PROMETHEUS_MULTIPROC_DIR, set in the
# image): each worker writes its metrics to files there and /metrics adds them up.
_multiproc_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")


def on_starting(server):
    # Metric files left by a previous master would be summed in.
    if _multiproc_dir:
        shutil.rmtree(_multiproc_dir, ignore_errors=True)
        Path(_multiproc_dir).mkdir(parents=True, exist_ok=True)


def child_exit(server, worker):
    if _multiproc_dir:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


# gunicorn's own log lines (start-up, worker exits, the access log) in the
# same format as the application's: JSON lines with LOG_FORMAT=json (the
# default with DEBUG off), gunicorn's text otherwise.
_debug = os.environ.get("DEBUG", "false").strip().lower() in {"1", "true", "yes", "on"}
if os.environ.get("LOG_FORMAT", "plain" if _debug else "json") == "json":
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "todo_project.logs.JsonFormatter"}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
        "loggers": {
            "gunicorn.error": {"handlers": ["console"], "level": "INFO", "propagate": False},
            "gunicorn.access": {"handlers": ["console"], "level": "INFO", "propagate": False},
        },
        "root": {"handlers": ["console"], "level": "INFO"},
    }
