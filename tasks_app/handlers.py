"""Recurrence handlers: task events → series attachment and next occurrences.

Both are idempotent by state, not by event id: re-running one re-checks the
rows under the series lock (see tasks_app.recurrence.services), so a re-dispatched
event does nothing the second time. The WebSocket push handler for task
events lives with the real-time code, not here.
"""

from __future__ import annotations

from tasks_app.recurrence import services as recurrence_services
from todo_project.events import types
from todo_project.events.models import OutboxEvent
from todo_project.events.registry import handles


def _series_work(event: OutboxEvent) -> tuple[bool, bool]:
    """(the series follows a rule edit, the task needs a series), from the event alone."""
    data = event.data
    if not data.get("task_id"):
        return False, False
    snapshot = data.get("task") or {}
    recurring = data.get("is_recurring")
    if recurring is None:
        recurring = snapshot.get("is_recurring")
    rule_edited = event.type == types.TASK_UPDATED and bool(
        {"recurrence_rule", "is_recurring"} & set(data.get("changes") or {})
    )
    return rule_edited, bool(recurring) and not snapshot.get("series_id")


@handles(
    types.TASK_CREATED,
    types.TASK_UPDATED,
    name="tasks_app.handlers.attach_series_on_task_event",
    when=lambda event: any(_series_work(event)),
)
def attach_series_on_task_event(event: OutboxEvent) -> None:
    """A task that became recurring through the task API gets its series; a rule
    edited there on an occurrence changes (or stops) the series.

    Most task events need nothing here (not recurring, or already in a series
    when recorded); the ``when`` test reads that from the event's snapshot, so
    they cost no transaction. Deliberately not a batch handler: an event that
    does work locks a task row after recording events (a rule edit), so
    several in one transaction would hold a user's event counter while
    waiting for another task row, the reverse of every writer's order.
    """
    rule_edited, needs_series = _series_work(event)
    if rule_edited:
        # An occurrence's rule edited through the plain task API follows through to its series.
        recurrence_services.series_follow_task_edit(task_id=event.data["task_id"])
    if needs_series:
        recurrence_services.series_attach(task_id=event.data["task_id"])


@handles(types.TASK_COMPLETED, batch=True, name="tasks_app.handlers.generate_next_occurrence_on_completion")
def generate_next_occurrence_on_completion(events: list[OutboxEvent]) -> None:
    """FR-RT-003: completing an occurrence creates the next one (exactly once).

    A batch handler: a burst of completions is generated in one transaction.
    """
    task_ids = [
        event.data["task_id"]
        for event in events
        if event.data.get("task_id")
        and (event.data.get("is_recurring") or (event.data.get("task") or {}).get("is_recurring"))
    ]
    if task_ids:
        recurrence_services.occurrences_generate_next(task_ids=task_ids)
