"""Graceful shutdown of the ``ws`` process: close every socket with 1001.

uvicorn closes open WebSockets with 1012 (service restart) when it stops. A
client told 1001 (going away) reconnects to another replica right away, so
on SIGTERM/SIGINT the live consumers are closed with 1001 first and only then
is the server's own handler called. uvicorn installs its handlers with
``signal.signal`` before loading the application, so the first connection
finds them and wraps them (once per process).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from todo_project.prometheus import WS_CONNECTIONS

logger = logging.getLogger(__name__)

SHUTDOWN_CLOSE_TIMEOUT_SECONDS = 5.0


class ClosableConnection(Protocol):
    def close_for_shutdown(self) -> Awaitable[None]: ...


_live: set[ClosableConnection] = set()
_installed = False


def register(connection: ClosableConnection) -> None:
    _live.add(connection)
    WS_CONNECTIONS.set(len(_live))
    _install_once()


def unregister(connection: ClosableConnection) -> None:
    _live.discard(connection)
    WS_CONNECTIONS.set(len(_live))


def live() -> list[ClosableConnection]:
    """This process's open connections."""
    return list(_live)


async def close_all() -> None:
    connections = list(_live)
    if not connections:
        return
    logger.info("closing %d WebSocket connection(s) with 1001", len(connections))
    try:
        await asyncio.wait_for(
            asyncio.gather(*(c.close_for_shutdown() for c in connections), return_exceptions=True),
            timeout=SHUTDOWN_CLOSE_TIMEOUT_SECONDS,
        )
    except TimeoutError:
        logger.warning("some WebSocket connections did not close within %ss", SHUTDOWN_CLOSE_TIMEOUT_SECONDS)


def _install_once() -> None:
    global _installed
    if _installed or threading.current_thread() is not threading.main_thread():
        return
    _installed = True
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        previous = signal.getsignal(sig)
        if not callable(previous):
            continue  # default/ignored: nothing of the server's to chain to
        signal.signal(sig, _wrapping(loop, previous))


def _wrapping(loop: asyncio.AbstractEventLoop, previous: Callable[..., Any]) -> Callable[[int, Any], None]:
    def handler(signum: int, frame: Any) -> None:
        async def close_then_continue() -> None:
            await close_all()
            previous(signum, frame)

        loop.call_soon_threadsafe(lambda: loop.create_task(close_then_continue()))

    return handler
