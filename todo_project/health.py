"""Liveness and readiness probes."""

from __future__ import annotations

from collections.abc import Callable

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache

# Each dependency check gives up after this long, so /ready answers within a
# probe's usual 1 s timeout while PostgreSQL or Redis is down or unreachable
# (it used to wait out the pool timeout and answer 200 afterwards).
READY_CHECK_TIMEOUT_SECONDS = 0.4


@never_cache
def health(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers. Touches no dependency on purpose."""
    return JsonResponse({"status": "ok"})


def _check_postgres() -> None:
    pool = getattr(connection, "pool", None)
    if pool is None:  # DATABASE_POOL off: a connection of its own, libpq's timeout (2 s at least)
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return
    # Straight from the pool with a short wait: the request's own connection
    # would wait DATABASE_POOL_TIMEOUT. The pool checks a connection before
    # handing it out (CONN_HEALTH_CHECKS), so a dead one is not counted ready.
    pool.open()  # no-op once open; opening does not wait for connections
    conn = pool.getconn(timeout=READY_CHECK_TIMEOUT_SECONDS)
    try:
        conn.execute("SELECT 1")
    finally:
        pool.putconn(conn)


def _check_redis() -> None:
    client = redis.Redis.from_url(
        settings.REDIS_URL,
        socket_connect_timeout=READY_CHECK_TIMEOUT_SECONDS,
        socket_timeout=READY_CHECK_TIMEOUT_SECONDS,
    )
    try:
        client.ping()
    finally:
        client.close()


@never_cache
def ready(request: HttpRequest) -> JsonResponse:
    """Readiness: PostgreSQL and Redis answer; 503 naming each that does not."""
    checks = {"postgres": _check_postgres, "redis": _check_redis}
    results: dict[str, str] = {}
    for name, check in checks.items():
        try:
            check()
            results[name] = "ok"
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            results[name] = f"error: {exc.__class__.__name__}: {exc}"
    failed = [name for name, result in results.items() if result != "ok"]
    body: dict[str, object] = {"status": "ok" if not failed else "unavailable", "checks": results}
    if failed:
        body["failed"] = failed
    return JsonResponse(body, status=503 if failed else 200)


class OperationalEndpointsMiddleware:
    """First in MIDDLEWARE: probes and the metrics listener, answered before host validation.

    The kubelet probes a pod by its IP (``Host: 10.1.2.3:8000``) and Prometheus
    scrapes ``pod-ip:9100``; neither name is in ALLOWED_HOSTS, so Django's
    CommonMiddleware would answer 400 (DisallowedHost) and the pod would never
    be ready. These answers do not depend on the host, so skipping the check is
    safe. Everything that arrives on the metrics port other than /metrics is 404.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from todo_project.metrics import metrics_view, on_metrics_port

        if on_metrics_port(request):
            if request.path == "/metrics":
                return metrics_view(request)
            return HttpResponse("not found\n", status=404, content_type="text/plain")
        if request.path == "/health":
            return health(request)
        if request.path == "/ready":
            return ready(request)
        return self.get_response(request)
