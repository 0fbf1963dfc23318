"""Per-account login delay: exponential, bounded, and not a lock-out a stranger can hold.

The per-address throttle (``THROTTLE_AUTH_RATE``) cannot stop one account
being guessed from many addresses, and behind a proxy that hides client
addresses it would lock everyone out at once. So every login attempt is also
counted against its *target*:

- the first ``LOGIN_FREE_FAILURES`` failures cost nothing;
- from then on each attempt must wait for the previous one's delay, which
  doubles per failure (1 s, 2 s, 4 s, …) up to ``LOGIN_LOCKOUT_MAX_SECONDS``;
  an attempt made earlier is refused (429 with ``Retry-After``) *without*
  checking the password, so the waiting time is not a free guess;
- a correct password clears the count; failures are forgotten an hour after
  the last one (or twice the cap, if longer).

A stranger can therefore slow an account down to one attempt per
``LOGIN_LOCKOUT_MAX_SECONDS`` but never lock it for longer than that, and the
holder is not even slowed where they logged in before: a successful login
answers a ``device_token``, and an attempt presenting a valid device token of
the target account is counted in that device's own bucket (OWASP's "device
cookies") instead of the account's shared one.

An admitted attempt is counted as a failure *before* the password is checked
(and the count cleared on success), so a burst of concurrent attempts cannot
slip under the limit. State is one Redis hash per bucket, updated by a Lua
script in one round trip, in the cache's Redis. With Redis away the delay
fails open, like every throttle (todo_project/degraded.py): logins are still
checked, just not delayed.
"""

from __future__ import annotations

import functools
import secrets
from typing import Any

import redis
from django.conf import settings
from django.core import signing
from django.core.cache import cache

from todo_project.degraded import note_degraded
from todo_project.throttling import _cache_location

_DEVICE_SALT = "taskbeat.accounts.login-device"
_BASE_DELAY_MS = 1000
_MIN_MEMORY_MS = 3600 * 1000

# KEYS[1] the bucket; ARGV: now, free failures, base delay, max delay, memory (ms).
# Returns 0 when the attempt may go ahead (it is counted), else the ms to wait.
_ADMIT = """
local now = tonumber(ARGV[1])
local free = tonumber(ARGV[2])
local base = tonumber(ARGV[3])
local cap = tonumber(ARGV[4])
local memory = tonumber(ARGV[5])
local fails = tonumber(redis.call('HGET', KEYS[1], 'f')) or 0
local next_at = tonumber(redis.call('HGET', KEYS[1], 'n')) or 0
if fails >= free and now < next_at then return math.ceil(next_at - now) end
fails = fails + 1
local delay = 0
if fails >= free then delay = math.min(base * 2 ^ (fails - free), cap) end
redis.call('HSET', KEYS[1], 'f', fails, 'n', string.format('%.17g', now + delay))
redis.call('PEXPIRE', KEYS[1], memory)
return 0
"""


@functools.cache
def _client(location: str) -> Any:
    return redis.Redis.from_url(location.split(",")[0].strip())


@functools.cache
def _script(location: str) -> Any:
    return _client(location).register_script(_ADMIT)


def bucket_key(*, user_id: int | None, identifier: str, device_token: str | None = None) -> str:
    """The bucket an attempt counts against: the device's, else the account's.

    Unknown identifiers get a bucket of their own name, so an unknown and a
    known username behave alike (the delay reveals nothing about existence).
    """
    if user_id is not None and device_token:
        device = device_from_token(device_token, user_id=user_id)
        if device is not None:
            return cache.make_key(f"throttle_login_device_{user_id}_{device}")
    if user_id is not None:
        return cache.make_key(f"throttle_login_account_{user_id}")
    return cache.make_key(f"throttle_login_name_{identifier.lower()[:254]}")


def attempt_admit(key: str, *, now_ms: float) -> float:
    """0 if the attempt may check the password (counted as a failure until cleared), else seconds to wait."""
    cap_ms = settings.LOGIN_LOCKOUT_MAX_SECONDS * 1000
    try:
        wait_ms = int(
            _script(_cache_location())(
                keys=[key],
                args=[
                    repr(now_ms),
                    settings.LOGIN_FREE_FAILURES,
                    _BASE_DELAY_MS,
                    cap_ms,
                    max(_MIN_MEMORY_MS, 2 * cap_ms),
                ],
            )
        )
    except redis.RedisError as exc:
        note_degraded("login_delay", exc)
        return 0.0
    return wait_ms / 1000


def attempt_succeeded(key: str) -> None:
    """The password was right: forget the bucket's failures."""
    try:
        _client(_cache_location()).delete(key)
    except redis.RedisError as exc:
        note_degraded("login_delay", exc)


def device_token_make(*, user_id: int) -> str:
    """A signed token naming one device of the user (random id, no expiry of its own)."""
    return signing.dumps({"u": user_id, "d": secrets.token_urlsafe(12)}, salt=_DEVICE_SALT, compress=False)


def device_from_token(token: str, *, user_id: int) -> str | None:
    try:
        data = signing.loads(token, salt=_DEVICE_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("u") != user_id or not isinstance(data.get("d"), str):
        return None
    return data["d"]
