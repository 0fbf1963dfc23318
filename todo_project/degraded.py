"""Degraded mode: a dependency that is not the source of truth is away, and we carry on.

PostgreSQL holds every fact; Redis carries the rate-limit buckets, the Celery
queue and the Channels layer. When Redis is away a request still answers:
the throttle lets it through (fails open), the dispatch enqueue is left to the
sweep, a socket push is dropped (clients resync). Each such step calls
``note_degraded(component)``: a warning in the log (at most one per component
every ``LOG_EVERY_SECONDS``, with the count since the last one) and a
per-process counter exported at ``/metrics`` as
``taskbeat_degraded_operations_total{component=…}``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter

logger = logging.getLogger(__name__)

LOG_EVERY_SECONDS = 10.0

_lock = threading.Lock()
_counts: Counter[str] = Counter()
_unlogged: Counter[str] = Counter()
_last_logged: dict[str, float] = {}


def note_degraded(component: str, exc: BaseException) -> None:
    """Count one operation done in degraded mode and log it (rate-limited)."""
    now = time.monotonic()
    with _lock:
        _counts[component] += 1
        _unlogged[component] += 1
        if now - _last_logged.get(component, -LOG_EVERY_SECONDS) < LOG_EVERY_SECONDS:
            return
        _last_logged[component] = now
        count, _unlogged[component] = _unlogged[component], 0
    logger.warning(
        "degraded: %s skipped %d time(s) since the last report: %s: %s",
        component,
        count,
        exc.__class__.__name__,
        exc,
    )


def degraded_counts() -> dict[str, int]:
    with _lock:
        return dict(_counts)
