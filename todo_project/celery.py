"""The Celery application: broker from settings, tasks from every app's tasks.py."""

from __future__ import annotations

import os

from celery import Celery

from todo_project.prometheus import connect_celery_signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "todo_project.settings")

app = Celery("taskbeat")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.autodiscover_tasks(["todo_project.events"])
# Task, worker and beat metrics, and the worker's/beat's exporter on METRICS_PORT.
connect_celery_signals()
