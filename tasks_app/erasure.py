"""A deleted account's tasks, in one statement (registered with ``todo_project.accounts.erasure``).

Deleting the user row would delete them too, but Django's collector does it
in batches that look up each batch's subtasks and reminders first: minutes
for an account with 100,000 tasks, longer than a web request may take. One
``DELETE … WHERE owner_id`` is enough because every row that points at a
task belongs to the same user and goes in the same transaction (subtasks
here; reminders with the user row), and PostgreSQL checks Django's foreign
keys at commit (``DEFERRABLE INITIALLY DEFERRED``).
"""

from __future__ import annotations

from django.db import connection


def tasks_erase(*, user_id: int) -> int:
    """Delete every task of ``user_id`` (caller's transaction); returns how many."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM tasks_app_task WHERE owner_id = %s", [user_id])
        return cursor.rowcount
