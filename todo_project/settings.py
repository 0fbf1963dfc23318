"""Taskbeat settings. Every value comes from the environment (see .env.example).

Production differs from development by values, not code: with DEBUG off the
process refuses to start on an insecure secret or missing keys.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import schedule
from django.core.exceptions import ImproperlyConfigured

from todo_project.env import env_bool, env_float, env_int, env_int_list, env_list, env_str
from todo_project.keys import (
    load_or_create_local_keypair,
    load_or_create_local_vapid_key,
    vapid_private_key,
    vapid_public_key,
)
from todo_project.proxies import parse_networks

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("TASKBEAT_DATA_DIR", str(BASE_DIR / ".data")))
# The beat schedule and development keys live here; in the image it is under
# the emptyDir /tmp, which starts empty.
DATA_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG", False)

_INSECURE_SECRET_PREFIX = "django-insecure-"  # noqa: S105 - a prefix we refuse, not a secret
SECRET_KEY = env_str("SECRET_KEY") or ""
_missing: list[str] = []
if not DEBUG:
    if not SECRET_KEY or SECRET_KEY.startswith(_INSECURE_SECRET_PREFIX) or len(SECRET_KEY) < 32:
        _missing.append("SECRET_KEY (at least 32 characters, not a django-insecure- default)")
elif not SECRET_KEY:
    SECRET_KEY = _INSECURE_SECRET_PREFIX + "local-development-only-key-0123456789"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# Browser origins, besides the site's own and CSRF_TRUSTED_ORIGINS, that may call
# /mcp (a web-based MCP client hosted elsewhere). docs/assistant.md, "Security".
MCP_ALLOWED_ORIGINS = env_list("MCP_ALLOWED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    # Swagger UI and ReDoc from our own static files, not a CDN.
    "drf_spectacular_sidecar",
    "csp",
    "channels",
    "django_prometheus",
    "todo_project",
    "todo_project.accounts",
    "todo_project.events",
    "todo_project.sync",
    "tasks_app",
    "reminders_app",
    "notifications_app",
    "audit_app",
    "assistant_app",
]

MIDDLEWARE = [
    # First: X-Forwarded-Proto counts only from FORWARDED_ALLOW_IPS (the
    # SecurityMiddleware's SSL redirect already asks request.is_secure()).
    "todo_project.proxies.ForwardedProtoMiddleware",
    # django-prometheus: outermost pair, so every request and response is counted.
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Probes and the metrics port, before host validation in CommonMiddleware
    # (see its docstring); still under the security headers, CSP and the SSL redirect.
    "todo_project.health.OperationalEndpointsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Admin pages in the staff user's own time zone (todo_project/admin_site.py).
    "todo_project.admin_site.AdminTimezoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "todo_project.events.context.RequestContextMiddleware",
    # Inside the request context: a NUL byte in the query string is a 400,
    # an unhandled exception a JSON 500 carrying the request id.
    "todo_project.inputs.RejectNulQueryMiddleware",
    "todo_project.errors.UnhandledErrorMiddleware",
    # Innermost, so a replayed response still gets X-Request-ID and the claim
    # wraps exactly the view (see todo_project/sync/middleware.py).
    "todo_project.sync.middleware.IdempotencyMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "todo_project.urls"
WSGI_APPLICATION = "todo_project.wsgi.application"
ASGI_APPLICATION = "todo_project.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

# --- Database: PostgreSQL only -------------------------------------------
DATABASE_URL = env_str("DATABASE_URL")
if not DATABASE_URL:
    raise ImproperlyConfigured(
        "DATABASE_URL is not set. Use scripts/run.sh or scripts/test.sh, which start an "
        "embedded PostgreSQL when it is unset, or point it at a PostgreSQL server."
    )
# CONN_HEALTH_CHECKS: a connection is checked (an empty query) before a request
# uses it, so after a PostgreSQL restart the pool drops its dead connections
# instead of handing one to the first request (which then failed).
_db = dj_database_url.parse(DATABASE_URL, conn_max_age=0, conn_health_checks=True)
if _db["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("DATABASE_URL must point at PostgreSQL (postgres://...)")
# libpq's connect timeout (whole seconds, at least 2): an unreachable server
# fails a new connection after this instead of the kernel's minutes.
_db.setdefault("OPTIONS", {})["connect_timeout"] = env_int("DATABASE_CONNECT_TIMEOUT", 2, minimum=2)
# psycopg's pool shares connections between threads (gunicorn gthread, the ASGI
# server's sync_to_async threads); persistent per-thread connections exhausted
# PostgreSQL's connection limit under ASGI in our measurements.
if env_bool("DATABASE_POOL", True):
    _db.setdefault("OPTIONS", {})["pool"] = {
        "min_size": env_int("DATABASE_POOL_MIN_SIZE", 1, minimum=0),
        "max_size": env_int("DATABASE_POOL_MAX_SIZE", 10, minimum=1),
        # How long a request waits for a pooled connection. With PostgreSQL
        # down, this is how long a request takes to answer 503
        # (docs/operations.md); 2 s also bounds a wait when the pool is busy.
        "timeout": env_float("DATABASE_POOL_TIMEOUT", 2.0),
    }
# PgBouncer in transaction mode hands each transaction to any server
# connection, so nothing may outlive one: no server-side cursors (Django's
# .iterator()) and no prepared statements (psycopg prepares a query after 5 runs).
DATABASE_PGBOUNCER = env_bool("DATABASE_PGBOUNCER", False)
if DATABASE_PGBOUNCER:
    _db["DISABLE_SERVER_SIDE_CURSORS"] = True
    _db.setdefault("OPTIONS", {})["prepare_threshold"] = None
# django-prometheus's wrapper of the same backend: query, error and connection counters.
_db["ENGINE"] = "django_prometheus.db.backends.postgresql"
_db_test_name = env_str("DATABASE_TEST_NAME")
if _db_test_name:
    _db["TEST"] = {"NAME": _db_test_name}
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: Celery broker and Channels layer -----------------------------
REDIS_URL: str = env_str("REDIS_URL") or ""
if not REDIS_URL:
    raise ImproperlyConfigured(
        "REDIS_URL is not set. Use scripts/run.sh or scripts/test.sh, which start an "
        "embedded Redis when it is unset, or point it at a Redis server."
    )
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A task unacknowledged for this long is redelivered by Redis; it must be
# longer than the longest task (notification retries use countdown, not sleep).
# Delivery does not depend on redelivery: the row state (outbox leases, notification
# leases, pending reminders) is the truth and the sweeps re-enqueue whatever a
# killed worker held, so a redelivered message finds its work done.
# REDIS_SOCKET_TIMEOUT bounds a publish (the on-commit dispatch enqueue) when
# Redis is away: the request does not wait for it, the sweep dispatches later.
REDIS_SOCKET_TIMEOUT = env_float("REDIS_SOCKET_TIMEOUT", 1.0)
# Ack emulation is off: with it on, a worker whose Redis went away while it
# held an unacknowledged (acks_late) message died trying to restore it on the
# dead connection (kombu's Redis QoS, "Unrecoverable error: 'NoneType' object
# has no attribute 'hostname'"; found by the fault suite's chaos run) and
# never came back. Nothing needs it: a message a killed worker held is lost,
# and the sweeps redo its work from row state.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "ack_emulation": env_bool("CELERY_ACK_EMULATION", False),
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600, minimum=60),
    "socket_connect_timeout": REDIS_SOCKET_TIMEOUT,
}
# One quick retry of a publish, not kombu's default of three; a lost enqueue is
# the sweep's (EVENTS_SWEEP_GRACE_SECONDS).
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}
CELERY_BROKER_CONNECTION_TIMEOUT = REDIS_SOCKET_TIMEOUT
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Keep LOGGING below (JSON lines in production) instead of Celery's own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# print() and tracebacks stay on stderr instead of one log record per write() call.
CELERY_WORKER_REDIRECT_STDOUTS = False
# Task events for monitoring tools (flower, exporters); cheap with Redis.
CELERY_WORKER_SEND_TASK_EVENTS = True
# Not the "task-sent" event: the web process would publish it on every write
# (each hands its events to the dispatcher on commit), a second Redis publish
# and client per request — measured 0.9–1.7 ms → 0.4–0.95 ms per enqueue
# (median, load ≈ 5). Workers still report received/started/succeeded.
CELERY_TASK_SEND_SENT_EVENT = False
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
REMINDER_SCAN_SECONDS = env_int("REMINDER_SCAN_SECONDS", 5, minimum=1)
RECURRENCE_REPAIR_SECONDS = env_int("RECURRENCE_REPAIR_SECONDS", 3600, minimum=60)
# Crash recovery (docs/operations.md): a killed worker's outbox events are
# taken again when their lease runs out, by the sweep; so the time to recover
# is at most the lease plus one sweep period. A lease must outlast one
# dispatch of a batch (handlers make no network calls; a batch of 500 takes
# well under a second); one that runs out early costs a wasted second
# dispatch, never a repeated handler (each handler run is claimed once).
EVENTS_DISPATCH_LEASE_SECONDS = env_int("EVENTS_DISPATCH_LEASE_SECONDS", 10, minimum=5)
EVENTS_SWEEP_SECONDS = env_int("EVENTS_SWEEP_SECONDS", 5, minimum=1)
# Events whose on-commit enqueue was lost (Redis away, worker killed before
# it leased them) are dispatched by the sweep this long after they were recorded.
EVENTS_SWEEP_GRACE_SECONDS = env_int("EVENTS_SWEEP_GRACE_SECONDS", 10, minimum=1)
# The waits between a failing event handler's attempts (the spec's §9.3: 1 s,
# 5 s, 30 s, 5 min); after the last one the event is marked dispatch failed.
# Configurable so the fault suite can run a whole schedule in seconds.
EVENTS_RETRY_SECONDS = env_int_list("EVENTS_RETRY_SECONDS", (1, 5, 30, 300), minimum=1)
NOTIFICATION_SWEEP_SECONDS = env_int("NOTIFICATION_SWEEP_SECONDS", 5, minimum=1)
# Imports (docs/portability.md "Large imports"): an upload above IMPORT_ASYNC_BYTES
# becomes a job a worker runs (202 + GET /api/import/jobs/{id}); smaller ones run
# in the request unless the client asks for ?async=true. A running job's lease is
# renewed with each progress write; the sweep re-queues a job whose lease ran out
# (its worker died: its one transaction rolled back) up to IMPORT_JOB_MAX_ATTEMPTS.
IMPORT_ASYNC_BYTES = env_int("IMPORT_ASYNC_BYTES", 256 * 1024, minimum=0)
IMPORT_JOB_LEASE_SECONDS = env_int("IMPORT_JOB_LEASE_SECONDS", 60, minimum=10)
IMPORT_JOB_MAX_ATTEMPTS = env_int("IMPORT_JOB_MAX_ATTEMPTS", 3, minimum=1)
IMPORT_JOBS_SWEEP_SECONDS = env_int("IMPORT_JOBS_SWEEP_SECONDS", 30, minimum=1)
# One schedule, made of sweeps over database state that are harmless when run
# twice or missed; ``expires`` keeps an outage from piling up stale runs.
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    # Recurring series with no open occurrence (the worker was down when one
    # was completed) get their next one; look-ahead series are filled. Hourly;
    # series rows are claimed with SKIP LOCKED and inserts hit a unique
    # constraint, so a doubled or missed run is harmless.
    "recurrence-repair": {
        "task": "tasks_app.tasks.series_repair_task",
        "schedule": schedule(timedelta(seconds=RECURRENCE_REPAIR_SECONDS)),
        "options": {"expires": RECURRENCE_REPAIR_SECONDS},
    },
    # Delete Idempotency-Key rows older than IDEMPOTENCY_KEY_TTL_HOURS. Hourly;
    # a plain DELETE by age, so a doubled or missed run is harmless.
    "sync-idempotency-purge": {
        "task": "todo_project.sync.tasks.idempotency_keys_purge_task",
        "schedule": schedule(timedelta(hours=1)),
        "options": {"expires": 3600},
    },
    # Delete refresh-token rows (outstanding/blacklisted) past their expiry;
    # they are refused on their exp claim anyway. Daily; a delete by age.
    "accounts-expired-tokens-purge": {
        "task": "todo_project.accounts.tasks.expired_tokens_purge_task",
        "schedule": schedule(timedelta(hours=24)),
        "options": {"expires": 24 * 3600},
    },
    # Delete audit entries older than AUDIT_RETENTION_DAYS in batches. Hourly,
    # so each run is small; a delete by age, so a doubled or missed run is harmless.
    "audit-retention-purge": {
        "task": "audit_app.tasks.audit_purge_task",
        "schedule": schedule(timedelta(hours=1)),
        "options": {"expires": 3600},
    },
    # Dispatch committed events whose on-commit enqueue never ran (Redis down
    # at commit, worker killed) and make the retries of failed handlers once
    # their backoff has passed. Every 5 s, so the 1 s / 5 s retry delays hold
    # roughly; an indexed query over undispatched rows only; idempotent.
    "events-dispatch-sweep": {
        "task": "todo_project.events.tasks.dispatch_sweep_task",
        "schedule": schedule(timedelta(seconds=EVENTS_SWEEP_SECONDS)),
        "options": {"expires": EVENTS_SWEEP_SECONDS},
    },
    # Delete outbox rows past OUTBOX_RETENTION_HOURS (dispatched and, with
    # Kafka configured, published). Hourly; deletes in batches; idempotent.
    "events-outbox-purge": {
        "task": "todo_project.events.tasks.outbox_purge_task",
        "schedule": schedule(timedelta(hours=1)),
        "options": {"expires": 3600},
    },
    # Fire due reminders (reminders_app): claims pending rows with fire_at <= now
    # via SKIP LOCKED, so two beats or overlapping runs never fire one twice.
    # Every REMINDER_SCAN_SECONDS; expires = the interval so a backlog of stale
    # scans never piles up behind an outage (the next scan catches up anyway).
    "reminders-scan": {
        "task": "reminders_app.tasks.reminders_scan_task",
        "schedule": schedule(timedelta(seconds=REMINDER_SCAN_SECONDS)),
        "options": {"expires": REMINDER_SCAN_SECONDS},
    },
    # Re-enqueue notification deliveries that are due (backoff elapsed, quiet
    # hours over) or whose worker died mid-send (lease expired). Every 15 s;
    # delivery claims the row conditionally, so a doubled sweep is harmless.
    # Import jobs whose worker died (lease run out) go back to the queue, or fail
    # after IMPORT_JOB_MAX_ATTEMPTS; queued jobs never picked up are enqueued again.
    # Every IMPORT_JOBS_SWEEP_SECONDS; a job is claimed by a conditional UPDATE, so a
    # doubled sweep or a doubled message is harmless, a missed one only later.
    "import-jobs-sweep": {
        "task": "tasks_app.tasks.import_jobs_sweep_task",
        "schedule": schedule(timedelta(seconds=IMPORT_JOBS_SWEEP_SECONDS)),
        "options": {"expires": IMPORT_JOBS_SWEEP_SECONDS},
    },
    "notifications-delivery-sweep": {
        "task": "notifications_app.tasks.notifications_sweep_task",
        "schedule": schedule(timedelta(seconds=NOTIFICATION_SWEEP_SECONDS)),
        "options": {"expires": NOTIFICATION_SWEEP_SECONDS},
    },
}

CHANNEL_LAYERS = {
    "default": {
        # channels-redis's layer, noting the pushes it drops (over capacity,
        # expired) so the ws process can tell those sockets to resync.
        "BACKEND": "todo_project.sync.layer.RecordingChannelLayer",
        "CONFIG": {
            # redis-py 8 defaults to a 5 s socket timeout and 100 pooled
            # connections. The layer's blocking pop also waits 5 s, so the read
            # timed out and killed consumers; and each connect's group_add holds
            # a connection, so a burst of connects ran out (both seen in
            # benchmarks/websocket).
            "hosts": [
                {
                    "address": REDIS_URL,
                    "socket_timeout": env_float("CHANNEL_LAYER_SOCKET_TIMEOUT", 30.0),
                    "max_connections": env_int("CHANNEL_LAYER_MAX_CONNECTIONS", 1000, minimum=10),
                }
            ],
            "capacity": env_int("CHANNEL_LAYER_CAPACITY", 1000, minimum=10),
            "expiry": 60,
        },
    }
}

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "taskbeat",
    }
}

# --- Kafka (optional at run time) ----------------------------------------
KAFKA_BOOTSTRAP_SERVERS = env_str("KAFKA_BOOTSTRAP_SERVERS")
KAFKA_TOPIC_PREFIX = env_str("KAFKA_TOPIC_PREFIX", "") or ""
EVENT_SOURCE_PREFIX = env_str("EVENT_SOURCE_PREFIX", "/taskbeat") or "/taskbeat"
OUTBOX_RETENTION_HOURS = env_int("OUTBOX_RETENTION_HOURS", 168, minimum=1)
# Topic names (before the prefix); partitions and retention follow spec §5.1.
KAFKA_TOPICS = {
    "task-events": env_str("KAFKA_TOPIC_TASK_EVENTS", "task-events"),
    "reminder-events": env_str("KAFKA_TOPIC_REMINDER_EVENTS", "reminder-events"),
    "notification-events": env_str("KAFKA_TOPIC_NOTIFICATION_EVENTS", "notification-events"),
    "audit-events": env_str("KAFKA_TOPIC_AUDIT_EVENTS", "audit-events"),
    "dlq-events": env_str("KAFKA_TOPIC_DLQ_EVENTS", "dlq-events"),
    "chat-events": env_str("KAFKA_TOPIC_CHAT_EVENTS", "chat-events"),
}
# -1 = the broker's default.replication.factor (the spec's production value is 3).
KAFKA_REPLICATION_FACTOR = env_int("KAFKA_REPLICATION_FACTOR", -1, minimum=-1)
# How long one delivery may take before the bridge resends (spec §9.4: 10 s).
KAFKA_DELIVERY_TIMEOUT_MS = env_int("KAFKA_DELIVERY_TIMEOUT_MS", 10000, minimum=100)
KAFKA_MESSAGE_MAX_BYTES = env_int("KAFKA_MESSAGE_MAX_BYTES", 1000000, minimum=1000)
KAFKA_BRIDGE_BATCH_SIZE = env_int("KAFKA_BRIDGE_BATCH_SIZE", 5000, minimum=1)
KAFKA_SECURITY_PROTOCOL = env_str("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT")
KAFKA_SASL_MECHANISM = env_str("KAFKA_SASL_MECHANISM")
KAFKA_SASL_USERNAME = env_str("KAFKA_SASL_USERNAME")
KAFKA_SASL_PASSWORD = env_str("KAFKA_SASL_PASSWORD")
# /metrics (issue 11 item 10, docs/operations.md "Metrics"): every process serves
# it on METRICS_PORT (0 = no metrics listener), a port the Ingress never routes.
# On the public port it needs "Authorization: Bearer METRICS_TOKEN" when a token
# is set; with no token it is open with DEBUG on and a 404 with DEBUG off.
METRICS_PORT = env_int("METRICS_PORT", 0, minimum=0)
METRICS_TOKEN = env_str("METRICS_TOKEN")
PROMETHEUS_EXPORT_MIGRATIONS = False  # counted at scrape time instead (todo_project/metrics.py)
# OpenTelemetry traces over OTLP/HTTP (todo_project/tracing.py); unset = tracing fully off.
OTEL_EXPORTER_OTLP_ENDPOINT = env_str("OTEL_EXPORTER_OTLP_ENDPOINT")
OTEL_SERVICE_NAME = env_str("OTEL_SERVICE_NAME", "taskbeat") or "taskbeat"
# Audit entries are kept this long (FR-AL-005: 90 days minimum), then purged by beat.
AUDIT_RETENTION_DAYS = env_int("AUDIT_RETENTION_DAYS", 90, minimum=90)

# --- Real-time sync (todo_project/sync, todo_project/sync/consumers.py) ------------
# Retried writes with the same Idempotency-Key within this window replay the first response.
IDEMPOTENCY_KEY_TTL_HOURS = env_int("IDEMPOTENCY_KEY_TTL_HOURS", 24, minimum=24)
# A claimed key whose request never finished (process killed) is reclaimable after this.
IDEMPOTENCY_LOCK_SECONDS = env_int("IDEMPOTENCY_LOCK_SECONDS", 60, minimum=1)
# Frames a connection may have waiting for a slow client before it is told resync.required.
WS_SEND_QUEUE_SIZE = env_int("WS_SEND_QUEUE_SIZE", 256, minimum=1)
# The client should send {"type":"ping"} this often; silence for WS_IDLE_TIMEOUT_SECONDS closes (4408).
WS_HEARTBEAT_SECONDS = env_int("WS_HEARTBEAT_SECONDS", 25, minimum=1)
WS_IDLE_TIMEOUT_SECONDS = env_int("WS_IDLE_TIMEOUT_SECONDS", 75, minimum=1)
# Each ws process probes the channel layer this often; a probe lost (Redis away, or
# restarted without the groups) closes its sockets with 1012 once it is back (0: off).
WS_LAYER_CHECK_SECONDS = env_float("WS_LAYER_CHECK_SECONDS", 5.0)
# Skip pushes to users with no open socket (todo_project/sync/presence.py).
# Off: every event goes to the channel layer, as before presence (a kill switch).
SYNC_PRESENCE = env_bool("SYNC_PRESENCE", True)
# Events per resync answer (WebSocket) and the largest page of GET /api/sync.
SYNC_RESYNC_BATCH = env_int("SYNC_RESYNC_BATCH", 500, minimum=1)

# --- Reminders and notification delivery (reminders_app, notifications_app) ---
REMINDER_SCAN_BATCH_SIZE = env_int("REMINDER_SCAN_BATCH_SIZE", 500, minimum=1)
# Claimers per scan when a batch comes back full: the beat's scan enqueues this
# many more minus one, each draining its own SKIP LOCKED batches in its own
# worker process (1: one claimer, as before). Useful up to the worker's concurrency.
REMINDER_SCAN_CLAIMERS = env_int("REMINDER_SCAN_CLAIMERS", 1, minimum=1)
# A queue of its own for the scan (e.g. "reminders"; empty: the default queue).
# On the default queue a scan waits behind every dispatch task already queued,
# and expires there when the dispatch backlog is longer than the scan period;
# with its own queue, run a worker on it (``celery worker -Q reminders``).
REMINDER_SCAN_QUEUE = env_str("REMINDER_SCAN_QUEUE", "") or ""
if REMINDER_SCAN_QUEUE:
    CELERY_TASK_ROUTES = {"reminders_app.tasks.reminders_scan_task": {"queue": REMINDER_SCAN_QUEUE}}
# Absolute links in emails and webhook bodies point here.
PUBLIC_BASE_URL = (env_str("PUBLIC_BASE_URL", "http://localhost:8000") or "").rstrip("/")
# No key = the email channel is off (one log line, not an error per reminder).
SENDGRID_API_KEY = env_str("SENDGRID_API_KEY")
SENDGRID_API_HOST = env_str("SENDGRID_API_HOST", "https://api.sendgrid.com")
SENDGRID_FROM_EMAIL = env_str("SENDGRID_FROM_EMAIL", "reminders@taskbeat.local")
SENDGRID_TIMEOUT_SECONDS = env_float("SENDGRID_TIMEOUT_SECONDS", 10.0)
WEBHOOK_TIMEOUT_SECONDS = env_float("WEBHOOK_TIMEOUT_SECONDS", 10.0)

# Web Push (docs/notifications.md "Web Push"): VAPID (RFC 8292) signs every
# request to a push service; the key pair is the server's identity to every
# browser subscribed with its public key, so rotating it orphans all
# subscriptions. Like e-mail without SendGrid, push is simply off without a
# key, unless WEB_PUSH_ENABLED=true asks for it: then production refuses to
# start without one. With DEBUG on a key is generated under TASKBEAT_DATA_DIR.
_vapid_private_text = env_str("VAPID_PRIVATE_KEY") or ""
WEB_PUSH_ENABLED = env_bool("WEB_PUSH_ENABLED", DEBUG or bool(_vapid_private_text))
VAPID_SUBJECT = env_str("VAPID_SUBJECT") or (f"mailto:{SENDGRID_FROM_EMAIL}" if DEBUG else "")
VAPID_PRIVATE_KEY = ""
VAPID_PUBLIC_KEY = ""
if WEB_PUSH_ENABLED:
    if not _vapid_private_text and DEBUG:
        _vapid_private_text = load_or_create_local_vapid_key(DATA_DIR / "vapid")
    if not _vapid_private_text or not VAPID_SUBJECT:
        _missing.append("VAPID_PRIVATE_KEY and VAPID_SUBJECT (or WEB_PUSH_ENABLED=false)")
    else:
        try:
            _vapid_key = vapid_private_key(_vapid_private_text)
        except ValueError as exc:
            raise ImproperlyConfigured(
                f"VAPID_PRIVATE_KEY is not a P-256 key (PEM or base64url): {exc}"
            ) from exc
        VAPID_PRIVATE_KEY = _vapid_private_text
        VAPID_PUBLIC_KEY = vapid_public_key(_vapid_key)
        _configured_public = (env_str("VAPID_PUBLIC_KEY") or "").strip().rstrip("=")
        if _configured_public and _configured_public != VAPID_PUBLIC_KEY:
            raise ImproperlyConfigured("VAPID_PUBLIC_KEY does not belong to VAPID_PRIVATE_KEY.")
        if not VAPID_SUBJECT.startswith(("mailto:", "https://")):
            raise ImproperlyConfigured(
                "VAPID_SUBJECT must be a mailto: or https: URI (RFC 8292 section 2.1)."
            )
WEB_PUSH_TIMEOUT_SECONDS = env_float("WEB_PUSH_TIMEOUT_SECONDS", 10.0)
# How long a push service keeps a reminder for a browser that is offline (the
# TTL header); past it the reminder is only in the inbox.
WEB_PUSH_TTL_SECONDS = env_int("WEB_PUSH_TTL_SECONDS", 12 * 3600, minimum=0)
WEB_PUSH_MAX_SUBSCRIPTIONS = env_int("WEB_PUSH_MAX_SUBSCRIPTIONS", 20, minimum=1)

# The assistant (assistant_app, docs/assistant.md). The model engine is off
# unless both ASSISTANT_MODEL and OPENAI_BASE_URL are set; any failure of it
# falls back to the local engine.
ASSISTANT_MODEL = env_str("ASSISTANT_MODEL", "") or ""
OPENAI_BASE_URL = env_str("OPENAI_BASE_URL", "") or ""
OPENAI_API_KEY = env_str("OPENAI_API_KEY", "") or ""
ASSISTANT_MODEL_TIMEOUT_SECONDS = env_float("ASSISTANT_MODEL_TIMEOUT_SECONDS", 20.0)
ASSISTANT_MODEL_RETRIES = env_int("ASSISTANT_MODEL_RETRIES", 1, minimum=0)
ASSISTANT_MODEL_MAX_TOOL_ROUNDS = env_int("ASSISTANT_MODEL_MAX_TOOL_ROUNDS", 5, minimum=1)
ASSISTANT_MODEL_HISTORY = env_int("ASSISTANT_MODEL_HISTORY", 20, minimum=0)
# SSRF guard: webhook URLs resolving to private/loopback/link-local addresses
# are refused unless this is on (tests, local development only).
WEBHOOK_ALLOW_PRIVATE_NETWORKS = env_bool("WEBHOOK_ALLOW_PRIVATE_NETWORKS", False)
# A worker claiming a delivery holds it this long; past it, the sweep retries.
# It must outlast one send (the provider timeouts above), or a slow send that
# still succeeds would be sent twice.
NOTIFICATION_LEASE_SECONDS = env_int("NOTIFICATION_LEASE_SECONDS", 15, minimum=5)
# The waits between a failing e-mail/webhook/push delivery's attempts (a
# receiver's longer Retry-After wins); after the last one it is failed.
NOTIFICATION_RETRY_SECONDS = env_int_list("NOTIFICATION_RETRY_SECONDS", (1, 5, 30, 300), minimum=1)
# After a webhook secret rotation, deliveries carry a signature with the old
# secret too for this long, so a receiver can switch over without failing any.
WEBHOOK_SECRET_ROTATION_SECONDS = env_int("WEBHOOK_SECRET_ROTATION_SECONDS", 86400, minimum=0)
if (
    NOTIFICATION_LEASE_SECONDS
    <= max(SENDGRID_TIMEOUT_SECONDS, WEBHOOK_TIMEOUT_SECONDS, WEB_PUSH_TIMEOUT_SECONDS) + 2
):
    raise ImproperlyConfigured(
        "NOTIFICATION_LEASE_SECONDS must exceed SENDGRID_TIMEOUT_SECONDS, WEBHOOK_TIMEOUT_SECONDS and "
        "WEB_PUSH_TIMEOUT_SECONDS by more than 2 s (a send still running when its lease ends would "
        "be sent again)."
    )

# --- Auth ------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

JWT_PRIVATE_KEY: str = env_str("JWT_PRIVATE_KEY") or ""
JWT_PUBLIC_KEY: str = env_str("JWT_PUBLIC_KEY") or ""
if not (JWT_PRIVATE_KEY and JWT_PUBLIC_KEY):
    if DEBUG:
        JWT_PRIVATE_KEY, JWT_PUBLIC_KEY = load_or_create_local_keypair(DATA_DIR / "jwt")
    else:
        _missing.append("JWT_PRIVATE_KEY and JWT_PUBLIC_KEY (PEM, or *_FILE paths)")
JWT_ISSUER = env_str("JWT_ISSUER", "taskbeat")
JWT_AUDIENCE = env_str("JWT_AUDIENCE", "taskbeat-api")
# API requests trust the access token for who the caller is; whether the account
# still exists and is active is re-read from the database at most this often per
# user and process (0: on every request). See todo_project/accounts/authentication.py.
JWT_USER_CHECK_SECONDS = env_int("JWT_USER_CHECK_SECONDS", 30, minimum=0)
# Per-account login delay (todo_project/accounts/lockout.py): this many failures
# are free, then each attempt waits 1 s, 2 s, 4 s, … up to the maximum.
LOGIN_FREE_FAILURES = env_int("LOGIN_FREE_FAILURES", 5, minimum=1)
LOGIN_LOCKOUT_MAX_SECONDS = env_int("LOGIN_LOCKOUT_MAX_SECONDS", 300, minimum=1)
# Password-reset and verification mails per account and kind (N/period); more
# requests are accepted but send nothing, so strangers cannot mail-bomb a user.
ACCOUNT_EMAIL_RATE = env_str("ACCOUNT_EMAIL_RATE", "3/hour") or "3/hour"
# Lifetime of a password-reset link (Django's PASSWORD_RESET_TIMEOUT) and of an
# e-mail verification link.
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_TIMEOUT_SECONDS", 3600, minimum=60)
EMAIL_VERIFICATION_TTL_SECONDS = env_int("EMAIL_VERIFICATION_TTL_SECONDS", 3 * 24 * 3600, minimum=60)

SIMPLE_JWT = {
    "ALGORITHM": "RS256",
    "SIGNING_KEY": JWT_PRIVATE_KEY,
    "VERIFYING_KEY": JWT_PUBLIC_KEY,
    "ISSUER": JWT_ISSUER,
    "AUDIENCE": JWT_AUDIENCE,
    "ACCESS_TOKEN_LIFETIME": timedelta(seconds=env_int("JWT_ACCESS_TTL_SECONDS", 900, minimum=10)),
    "REFRESH_TOKEN_LIFETIME": timedelta(
        seconds=env_int("JWT_REFRESH_TTL_SECONDS", 14 * 24 * 3600, minimum=60)
    ),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "AUTH_HEADER_TYPES": ("Bearer",),
    "LEEWAY": 5,
}

if _missing:
    raise ImproperlyConfigured(
        "Refusing to start with DEBUG off: set " + "; ".join(_missing) + ". See .env.example."
    )

# --- REST framework --------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Personal access tokens (tbp_…) first: the JWT class would refuse them as bad JWTs.
        "assistant_app.authentication.PersonalAccessTokenAuthentication",
        "todo_project.accounts.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    # JSON that is too deeply nested or carries a NUL character is a 400.
    "DEFAULT_PARSER_CLASSES": ["todo_project.inputs.JSONParser"],
    # DRF's anon/user throttles with a one-round-trip Redis bucket (GCRA)
    # instead of a timestamp list per client in the cache: todo_project/throttling.py.
    "DEFAULT_THROTTLE_CLASSES": [
        "todo_project.throttling.AnonRateThrottle",
        "todo_project.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_str("THROTTLE_ANON_RATE", "60/min"),
        "user": env_str("THROTTLE_USER_RATE", "1200/min"),
        "auth": env_str("THROTTLE_AUTH_RATE", "20/min"),
    },
    "EXCEPTION_HANDLER": "todo_project.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "todo_project.pagination.PagePagination",
    "PAGE_SIZE": 20,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # Anonymous throttles key on the client address. With NUM_PROXIES unset DRF
    # would trust any X-Forwarded-For a client sends; 0 means REMOTE_ADDR, and
    # behind an ingress set it to the number of trusted proxies.
    "NUM_PROXIES": env_int("NUM_PROXIES", 0, minimum=0),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Taskbeat API",
    "DESCRIPTION": "Tasks, recurrence, reminders and notifications; see README.md.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Served by whitenoise from drf-spectacular-sidecar's files (pinned in
    # requirements.txt): the docs work offline and load no third-party script.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "PriorityEnum": "tasks_app.models.Priority.choices",
        # A token's scope (read/write), apart from a series edit's scope (this/future).
        "TokenScopeEnum": "assistant_app.models.TokenScope.values",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "todo_project.sync.schema.add_idempotency_key_header",
        "todo_project.openapi.add_error_responses",
    ],
}

# --- Internationalisation and time ----------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files ------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG
# The web app's build (frontend/dist, made by `scripts/run.sh`): WhiteNoise
# serves its files from the site root, todo_project/web.py its index.html for
# every app route.
FRONTEND_DIST_DIR = BASE_DIR / "frontend" / "dist"
WHITENOISE_ROOT = FRONTEND_DIST_DIR if FRONTEND_DIST_DIR.is_dir() else None
# Vite puts a content hash in every name under /assets/: cache those for a year.
WHITENOISE_IMMUTABLE_FILE_TEST = r"^/assets/"

# --- Security headers ----------------------------------------------------------
# Interactive API docs (/api/docs/, /api/redoc/) and the schema (/api/schema/);
# off answers 404 for all three.
API_DOCS_ENABLED = env_bool("API_DOCS_ENABLED", True)

# Content-Security-Policy (django-csp). Scripts only from our own origin (no
# inline script, no eval): the admin, the API docs (Swagger UI's split view,
# ReDoc) and a same-origin single-page app built by Vite all load theirs
# from /static/ or /assets/. Inline *styles* stay allowed: Swagger UI, ReDoc
# and the admin set style attributes. 'self' in connect-src covers ws:/wss:
# to the same host in CSP Level 3 browsers; CSP_CONNECT_SRC adds origins
# (e.g. a separate API or WebSocket host: wss://ws.example.com).
_CSP_DIRECTIVES: dict[str, list[str]] = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'", "data:"],
    "connect-src": ["'self'", *env_list("CSP_CONNECT_SRC", [])],
    # ReDoc runs its search in a worker made from a blob: URL.
    "worker-src": ["'self'", "blob:"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}
if _csp_report_uri := env_str("CSP_REPORT_URI", ""):
    _CSP_DIRECTIVES["report-uri"] = [_csp_report_uri]
# CSP_REPORT_ONLY=true sends the same policy as Content-Security-Policy-Report-Only.
if env_bool("CSP_REPORT_ONLY", False):
    CONTENT_SECURITY_POLICY_REPORT_ONLY = {"DIRECTIVES": _CSP_DIRECTIVES}
else:
    CONTENT_SECURITY_POLICY = {"DIRECTIVES": _CSP_DIRECTIVES}

SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
# The kubelet's probes and Prometheus reach the pod directly over plain HTTP:
# redirecting them to https would fail every probe once the redirect is on.
SECURE_REDIRECT_EXEMPT = [r"^(health|ready|metrics)$"]
# Believed only from the trusted proxies (todo_project/proxies.py), the same
# FORWARDED_ALLOW_IPS list gunicorn and uvicorn read. Addresses or networks.
FORWARDED_ALLOW_IPS = env_list("FORWARDED_ALLOW_IPS", ["127.0.0.1", "::1"])
parse_networks(FORWARDED_ALLOW_IPS)  # fail at start-up on a bad entry
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# One line per log record: JSON in production (LOG_FORMAT=json, the default with
# DEBUG off), readable text in development. Both carry the request id of the
# request, event or task being handled (todo_project/logs.py).
LOG_FORMAT = env_str("LOG_FORMAT", "plain" if DEBUG else "json")
if LOG_FORMAT not in ("json", "plain"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be json or plain, got {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "todo_project.logs.ContextFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "todo_project.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["context"]}
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
