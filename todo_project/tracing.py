"""OpenTelemetry tracing: on when OTEL_EXPORTER_OTLP_ENDPOINT is set, fully off otherwise.

With an endpoint, every process exports spans over OTLP/HTTP
(``<endpoint>/v1/traces``) for Django requests, Celery tasks (the trace
context travels in the task headers, so a worker's spans join the request
that enqueued them), psycopg queries and Redis commands. The service name is
OTEL_SERVICE_NAME (the chart sets ``taskbeat-<process>``). Without an
endpoint nothing is imported, patched or exported.
"""

from __future__ import annotations

import logging
import threading

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_configured = False


def configure_tracing(*, endpoint: str | None, service_name: str) -> bool:
    """Install the tracer provider and the instrumentations once per process; True when tracing is on."""
    global _configured
    if not endpoint:
        return False
    with _lock:
        if _configured:
            return True
        from opentelemetry import trace
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.instrumentation.celery import CeleryInstrumentor
        from opentelemetry.instrumentation.django import DjangoInstrumentor
        from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
        from opentelemetry.instrumentation.redis import RedisInstrumentor
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
        # The batch processor's thread is restarted in forked children (gunicorn
        # workers, Celery's prefork pool) by the SDK's at-fork hook.
        provider.add_span_processor(
            BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint.rstrip("/") + "/v1/traces"))
        )
        trace.set_tracer_provider(provider)
        DjangoInstrumentor().instrument()
        _probes_first()
        CeleryInstrumentor().instrument()
        PsycopgInstrumentor().instrument()
        RedisInstrumentor().instrument()
        _configured = True
    logger.info("tracing to %s as %s", endpoint, service_name)
    return True


def _probes_first() -> None:
    """Put the tracing middleware right after the probes and the metrics listener.

    DjangoInstrumentor puts its middleware first, and it builds the request's
    absolute URI, which raises DisallowedHost for the kubelet's and
    Prometheus's ``Host: <pod IP>`` (see todo_project/health.py). Probes and
    scrapes are not worth a span anyway.
    """
    from django.conf import settings

    probes = "todo_project.health.OperationalEndpointsMiddleware"
    middleware = list(settings.MIDDLEWARE)
    tracing = [name for name in middleware if name.startswith("opentelemetry.")]
    if probes in middleware and tracing:
        for name in tracing:
            middleware.remove(name)
        at = middleware.index(probes) + 1
        middleware[at:at] = tracing
        settings.MIDDLEWARE = middleware
