"""Recurrence handlers: task events → series attachment and next occurrences.

Both are idempotent by state, not by event id: re-running one re-checks the
rows under the series lock (see recurrence_services), so a re-dispatched
event does nothing the second time. The WebSocket push handler for task
events lives with the real-time code, not here.
"""

from __future__ import annotations

from tasks_app import recurrence_services
from tasks_app import recurrence_tasks as _recurrence_tasks  # noqa: F401 - registers the beat task with Celery
from todo_project.events.models import OutboxEvent
from todo_project.events.registry import handles


@handles("task.created", "task.updated")
def attach_series_on_task_event(event: OutboxEvent) -> None:
    """A task that became recurring through the task API gets its series; a rule
    edited there on an occurrence changes (or stops) the series."""
    data = event.data
    recurring = data.get("is_recurring")
    if recurring is None:
        recurring = (data.get("task") or {}).get("is_recurring")
    task_id = data.get("task_id")
    if not task_id:
        return
    if event.type == "task.updated" and {"recurrence_rule", "is_recurring"} & set(data.get("changes") or {}):
        # An occurrence's rule edited through the plain task API follows through to its series.
        recurrence_services.series_follow_task_edit(task_id=task_id)
    if recurring:
        recurrence_services.series_attach(task_id=task_id)


@handles("task.completed")
def generate_next_occurrence_on_completion(event: OutboxEvent) -> None:
    """FR-RT-003: completing an occurrence creates the next one (exactly once)."""
    task_id = event.data.get("task_id")
    if task_id and (event.data.get("is_recurring") or (event.data.get("task") or {}).get("is_recurring")):
        recurrence_services.occurrence_generate_next(task_id=task_id)
