"""Rate limits in one Redis round trip per request (GCRA, a leaky bucket).

DRF's ``SimpleRateThrottle`` keeps a list of request timestamps per client in
the cache: a read and a write (two round trips through Django's cache, with a
Redis client built per operation) and a pickled list that grows to the rate's
size (1,200 entries for the user rate). These throttles keep one number per
client instead — its *theoretical arrival time* (TAT) — and update it in a Lua
script, so a check is a single ``EVALSHA``:

- a rate ``N/period`` lets a client send a burst of up to ``N`` requests, then
  refills one request every ``period / N`` (so at most ``N`` per ``period`` in
  the long run; a client that waited a whole ``period`` has its full burst
  again);
- a refused request is not counted (as with DRF), and its ``wait()`` is exact:
  the seconds until the next request would be accepted, which DRF sends as
  ``Retry-After``;
- the key expires when the bucket is full again, so idle clients cost nothing.

**Redis away: the throttle fails open.** A check that cannot reach Redis
(refused, reset, or no answer within ``REDIS_SOCKET_TIMEOUT``) lets the request
through, logs a warning and counts it in
``taskbeat_degraded_operations_total{component="throttle"}`` (see
todo_project/degraded.py): PostgreSQL is the source of truth, and a user's
write must not fail because the rate-limit store is down.

The rates, scopes and keys are DRF's (``DEFAULT_THROTTLE_RATES``, the
``anon``/``user`` scopes, ``NUM_PROXIES`` for anonymous clients, keys
``throttle_<scope>_<ident>`` under the cache's key prefix), and the Redis is the
default cache's. Time comes from the application's clock, as in DRF.
"""

from __future__ import annotations

import functools
import time
from typing import Any

import redis
from django.conf import settings
from django.core.cache import cache
from rest_framework.request import Request
from rest_framework.throttling import AnonRateThrottle as DRFAnonRateThrottle
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.throttling import UserRateThrottle as DRFUserRateThrottle

from todo_project.degraded import note_degraded

# KEYS[1] the client's bucket; ARGV: now, emission interval, period (ms).
# Returns 0 when the request is accepted (and counted), else the milliseconds
# until one would be. ``slack`` absorbs floating-point rounding (a rate such
# as 7/min has an interval of 8571.43 ms, and the N-th request of a burst must
# not be refused for a rounding error); it is at most 1 ms.
_GCRA = """
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local period = tonumber(ARGV[3])
local slack = math.min(1, interval / 2)
-- A value that is no number (the pickled timestamp list DRF's throttle kept
-- under the same key before an upgrade) counts as an empty bucket.
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local new_tat = tat + interval
local wait = new_tat - period - now
if wait > slack then return math.ceil(wait) end
redis.call('SET', KEYS[1], string.format('%.17g', new_tat), 'PX', math.ceil(new_tat - now))
return 0
"""


@functools.cache
def _script(location: str) -> Any:
    # One client (and connection pool) per process, reused by every request;
    # redis-py's pool reconnects after a fork. Writes go to the first server,
    # as Django's RedisCache does.
    client = redis.Redis.from_url(
        location.split(",")[0].strip(),
        socket_connect_timeout=settings.REDIS_SOCKET_TIMEOUT,
        socket_timeout=settings.REDIS_SOCKET_TIMEOUT,
    )
    return client.register_script(_GCRA)


def _cache_location() -> str:
    location = settings.CACHES["default"]["LOCATION"]
    return location if isinstance(location, str) else location[0]


class GcraRateThrottle(SimpleRateThrottle):
    """``SimpleRateThrottle`` with the one-round-trip bucket above.

    Subclasses choose the scope and the key (``get_cache_key``) exactly as for
    DRF; ``get_rate``/``parse_rate`` are DRF's too.
    """

    timer = staticmethod(time.time)

    def allow_request(self, request: Request, view: Any) -> bool:
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        # Set from the rate by SimpleRateThrottle.__init__ (``rate`` is not None here).
        period_ms = self.duration * 1000  # type: ignore[attr-defined]
        interval_ms = period_ms / self.num_requests  # type: ignore[attr-defined]
        now_ms = self.timer() * 1000
        try:
            wait_ms = int(
                _script(_cache_location())(
                    keys=[cache.make_key(key)], args=[repr(now_ms), repr(interval_ms), period_ms]
                )
            )
        except redis.RedisError as exc:
            note_degraded("throttle", exc)
            self._wait = None
            return True
        self._wait = wait_ms / 1000
        return wait_ms == 0

    def wait(self) -> float | None:
        return getattr(self, "_wait", None) or None


def bucket_take(*, key: str, rate: str | None) -> float:
    """Count one request against ``rate`` (``N/period``) in bucket ``key``.

    Returns 0 when it is allowed, else the seconds until one would be (the
    refused request is not counted). The same bucket as the DRF throttles use
    for that key, for callers outside DRF (the admin login view, account
    mails). Fails open like the DRF throttles when Redis is away.
    """
    if not rate:
        return 0.0
    num_requests, duration = SimpleRateThrottle.parse_rate(None, rate)  # type: ignore[arg-type]
    assert num_requests is not None  # a rate was given
    assert duration is not None
    period_ms = duration * 1000
    try:
        wait_ms = int(
            _script(_cache_location())(
                keys=[cache.make_key(key)],
                args=[repr(time.time() * 1000), repr(period_ms / num_requests), period_ms],
            )
        )
    except redis.RedisError as exc:
        note_degraded("throttle", exc)
        return 0.0
    return wait_ms / 1000


class AnonRateThrottle(GcraRateThrottle, DRFAnonRateThrottle):
    """``THROTTLE_ANON_RATE`` per client address (``NUM_PROXIES`` applies); not for signed-in users."""


class UserRateThrottle(GcraRateThrottle, DRFUserRateThrottle):
    """``THROTTLE_USER_RATE`` per user (per client address when anonymous)."""
