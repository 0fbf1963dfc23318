"""Signal receivers: interfaces like views, each calling one service."""

from __future__ import annotations

from typing import Any

from todo_project.accounts import services


def session_logged_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    # Sent by django.contrib.auth.logout() before the session is flushed, so
    # its key is still the one the user's cookie sockets authenticated with.
    if user is None or not getattr(user, "pk", None):
        return
    session = getattr(request, "session", None)
    services.session_ended(user_id=user.pk, session_key=getattr(session, "session_key", None))
