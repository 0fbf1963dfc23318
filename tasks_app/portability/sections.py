"""The export's sections from the layers above the task layer (a hook, like account erasure's).

``GET /api/export`` is built here, in the task layer, but reminders,
notification preferences, push and webhook subscriptions and the audit log
live in the apps above, which this layer may not import. Each of those apps
registers its section from ``AppConfig.ready()``: how to export it, and
(optionally) how to check and write it back on import, inside the import's
one transaction. The section's key is its top-level key in the document.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User

# (path, problem): a problem of the file found before anything is written.
Problem = tuple[str, str]


@dataclass
class ImportContext:
    """What a section's writer gets: the account, the new ids of what was made so far, the mode.

    ``ids`` maps an exported id (as text) to the id of the item made from it
    (projects, sections, series and tasks). ``attempt(path, write)`` runs one
    service call; a refusal (a ``DomainError``) becomes that path's problem and
    rolls back the whole import at its end; it returns ``None`` then.
    """

    user: User
    ids: Mapping[str, Any]
    merge: bool
    now: datetime
    attempt: Callable[[str, Callable[[], Any]], Any]
    step: Callable[[], None] = field(default=lambda: None)


@dataclass(frozen=True)
class ExportSection:
    key: str
    # user, now -> the section's JSON value
    export: Callable[[User, datetime], Any]
    # the section's value in a file -> its problems (shape, references), no database needed
    check: Callable[[Any, Mapping[str, set[str]]], list[Problem]] | None = None
    # write the section back (in the import's transaction); returns how many items were made
    write: Callable[[ImportContext, Any], int] | None = None
    # how many items a value holds (the import's progress total)
    size: Callable[[Any], int] = field(default=lambda value: len(value) if isinstance(value, list) else 1)


_sections: dict[str, ExportSection] = {}


def register(section: ExportSection) -> None:
    """Install a section under its key (re-registering a key replaces it)."""
    _sections[section.key] = section


def sections() -> list[ExportSection]:
    return list(_sections.values())
