"""Outbox helpers for the task tests (shared: todo_project/testing.py)."""

from __future__ import annotations

from todo_project.testing import clear_events, events

__all__ = ["clear_events", "events"]
