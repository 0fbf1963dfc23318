"""Liveness and readiness probes."""

from __future__ import annotations

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
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
