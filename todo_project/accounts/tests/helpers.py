from __future__ import annotations

from django.core.cache import cache


def clear_throttle_counters() -> None:
    """Forget DRF throttle history only, not the rest of the Redis DB (broker, channels)."""
    client = cache._cache.get_client()  # type: ignore[attr-defined]
    keys = list(client.scan_iter(match=cache.make_key("throttle_*")))
    if keys:
        client.delete(*keys)
