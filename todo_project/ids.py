"""Ids from URLs: a malformed one is an object that does not exist (404), never a 400 or 500."""

from __future__ import annotations

import uuid

from todo_project.errors import NotFoundError


def uuid_or_404(value: str | uuid.UUID, *, what: str) -> uuid.UUID:
    """``value`` as a UUID, or ``NotFoundError("<what> not found.")``."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise NotFoundError(f"{what} not found.") from None
