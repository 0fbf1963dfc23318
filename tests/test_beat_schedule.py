"""Every Celery beat entry names a task the worker has registered."""

from __future__ import annotations

from django.conf import settings

from todo_project.celery import app


def test_every_beat_entry_names_a_registered_task():
    # The worker imports every app's tasks module at start; do the same here.
    app.loader.import_default_modules()
    registered = set(app.tasks)
    entries = settings.CELERY_BEAT_SCHEDULE
    assert entries
    missing = {name: entry["task"] for name, entry in entries.items() if entry["task"] not in registered}
    assert missing == {}
