"""Handlers per event type: the one place to hang a side effect on an event.

Register with::

    from todo_project.events import types
    from todo_project.events.registry import handles

    @handles(types.TASK_COMPLETED, name="tasks.generate_next_occurrence")
    def generate_next_occurrence(event: OutboxEvent) -> None: ...

``name`` is the handler's identity: its runs (``HandlerRun`` rows, which make
a re-dispatch skip what already ran) are recorded under it, so it must stay
the same when the function is moved or renamed, and be unique.

Handlers must be idempotent by ``event.id``: an event may be dispatched more
than once (a retried task, the sweep racing a late enqueue).

A handler whose work is cheaper in bulk registers with ``batch=True`` and
takes a list of events (in recorded order) instead of one::

    @handles(types.TASK_COMPLETED, batch=True, name="tasks.generate_next_occurrences")
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

from todo_project.events.types import EVENT_TYPES

if TYPE_CHECKING:
    from todo_project.events.models import OutboxEvent

Handler = Callable[..., None]

_handlers: dict[str, list[Handler]] = defaultdict(list)
_names: dict[str, Handler] = {}
ANY = "*"


class UnknownEventTypeError(ValueError):
    """A handler subscribed to a type that ``todo_project.events.types`` does not declare."""


def handles(
    *event_types: str,
    name: str,
    batch: bool = False,
    when: Callable[[OutboxEvent], bool] | None = None,
) -> Callable[[Handler], Handler]:
    """Register the decorated function for these types (``"*"`` = every event).

    ``name``: the stable identity its runs are recorded under (see above).
    ``batch``: the function takes ``list[OutboxEvent]`` (see the module docstring).
    ``when``: a test on the event alone (no database); events it refuses are
    not handed to the function and cost no transaction or claim row.
    """
    unknown = sorted(set(event_types) - EVENT_TYPES - {ANY})
    if unknown:
        raise UnknownEventTypeError(
            f"{name}: unknown event type(s) {unknown} (see todo_project/events/types.py)"
        )

    def register(func: Handler) -> Handler:
        taken = _names.get(name)
        if taken is not None and taken is not func and _qualified(taken) != _qualified(func):
            raise ValueError(f"handler name {name!r} is taken by {_qualified(taken)}")
        _names[name] = func
        func.handler_name = name  # type: ignore[attr-defined]
        func.takes_batch = batch  # type: ignore[attr-defined]
        func.wants_event = when  # type: ignore[attr-defined]
        for event_type in event_types:
            if func not in _handlers[event_type]:
                _handlers[event_type].append(func)
        return func

    return register


def _qualified(func: Handler) -> str:
    return f"{func.__module__}.{func.__qualname__}"


def handler_name(handler: Handler) -> str:
    """The stable name a handler's runs are recorded under (``@handles(name=…)``;
    the import path for a function registered some other way, as tests do)."""
    return str(getattr(handler, "handler_name", None) or _qualified(handler))


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
