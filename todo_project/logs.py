"""Log records as one JSON object per line, each with the request id in force.

The request id comes from the request context (``todo_project/events/context.py``):
set from ``X-Request-ID`` (or generated) by the HTTP middleware, stored on every
outbox event the request records, and put back (for logging only, see
``log_context``) while the worker runs a handler for one of those events, so
one id ties a request's log lines to its events' handling.
"""

from __future__ import annotations

import contextvars
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from todo_project.events.context import current_context

# Only for log lines: events recorded while it is set do not inherit it (the
# audit writer treats an event's own request_id as "a user did this").
_log_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "taskbeat_log_request_id", default=None
)


@contextmanager
def log_context(request_id: str | None) -> Iterator[None]:
    token = _log_request_id.set(request_id)
    try:
        yield
    finally:
        _log_request_id.reset(token)


def _request_id() -> str | None:
    return current_context().get("request_id") or _log_request_id.get()


# LogRecord attributes that are not "extra" fields a caller added.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class ContextFilter(logging.Filter):
    """Puts ``request_id`` on every record ("-" outside a request, event or task)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = _request_id() or "-"
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": _nonempty(getattr(record, "request_id", None)) or _request_id(),
            "process": record.process,
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key not in entry:
                entry[key] = (
                    value if isinstance(value, str | int | float | bool | type(None)) else repr(value)
                )
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def _nonempty(value: object) -> str | None:
    return value if isinstance(value, str) and value not in ("", "-") else None
