"""How an import reports what it has written (nothing, when it runs in the request)."""

from __future__ import annotations

from typing import Any


class Progress:
    """The no-op reporter of a synchronous import; ``jobs.JobProgress`` is the worker's."""

    def start(self, total: int) -> None:
        """``total`` items are about to be written."""

    def step(self, count: int = 1) -> None:
        """``count`` more items were written (inside the import's open transaction)."""

    def finish(self, result: dict[str, Any]) -> None:
        """The import is about to commit with ``result``; called inside its transaction."""


NO_PROGRESS = Progress()
