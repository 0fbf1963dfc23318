"""Handlers per event type: the one place to hang a side effect on an event.

Register with::

    from todo_project.events.registry import handles

    @handles("task.completed")
    def generate_next_occurrence(event: OutboxEvent) -> None: ...

Handlers must be idempotent by ``event.id``: an event may be dispatched more
than once (a retried task, the sweep racing a late enqueue).

A handler whose work is cheaper in bulk registers with ``batch=True`` and
takes a list of events (in recorded order) instead of one::

    @handles("task.completed", batch=True)
    def generate_next_occurrences(events: list[OutboxEvent]) -> None: ...

The dispatcher hands it every event of its types in the batch it dispatches,
in one transaction; if that fails it runs it once per event, so one bad event
cannot hold back the others.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from importlib import import_module
from typing import TYPE_CHECKING

from django.apps import apps

if TYPE_CHECKING:
    from todo_project.events.models import OutboxEvent

Handler = Callable[..., None]

_handlers: dict[str, list[Handler]] = defaultdict(list)
ANY = "*"


def handles(
    *event_types: str, batch: bool = False, when: Callable[[OutboxEvent], bool] | None = None
) -> Callable[[Handler], Handler]:
    """Register the decorated function for these types (``"*"`` = every event).

    ``batch``: the function takes ``list[OutboxEvent]`` (see the module docstring).
    ``when``: a test on the event alone (no database); events it refuses are
    not handed to the function and cost no transaction or claim row.
    """

    def register(func: Handler) -> Handler:
        func.takes_batch = batch  # type: ignore[attr-defined]
        func.wants_event = when  # type: ignore[attr-defined]
        for event_type in event_types:
            if func not in _handlers[event_type]:
                _handlers[event_type].append(func)
        return func

    return register


def handler_name(handler: Handler) -> str:
    """The stable name a handler's runs are recorded under."""
    return f"{handler.__module__}.{handler.__qualname__}"


def takes_batch(handler: Handler) -> bool:
    return bool(getattr(handler, "takes_batch", False))


def wants(handler: Handler, event: OutboxEvent) -> bool:
    test = getattr(handler, "wants_event", None)
    return test is None or bool(test(event))


def handlers_for(event_type: str) -> list[Handler]:
    return [*_handlers.get(event_type, []), *_handlers.get(ANY, [])]


def autodiscover() -> None:
    """Import ``handlers`` from every installed app so their decorators run."""
    for config in apps.get_app_configs():
        try:
            import_module(f"{config.name}.handlers")
        except ModuleNotFoundError as exc:
            if exc.name != f"{config.name}.handlers":
                raise
