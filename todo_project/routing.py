"""WebSocket URL routes (filled by the real-time sync work)."""

from __future__ import annotations

websocket_urlpatterns: list = []
