"""Helpers for tests that start our own processes (ASGI servers, scanners)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote


def database_url(settings_dict: dict[str, Any]) -> str:
    """A DATABASE_URL for the database a settings dict points at (e.g. the test DB).

    Handles a Unix-socket host (the embedded PostgreSQL) by percent-encoding
    the directory, the form dj-database-url reads back.
    """
    user = quote(settings_dict.get("USER") or "", safe="")
    password = settings_dict.get("PASSWORD") or ""
    credentials = f"{user}:{quote(password, safe='')}" if password else user
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT")
    if host.startswith("/"):
        location = quote(host, safe="")
    else:
        location = f"{host}:{port}" if port else host
    return f"postgres://{credentials}@{location}/{settings_dict['NAME']}"
