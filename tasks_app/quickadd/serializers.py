"""Input of the quick-add endpoints (POST /api/tasks/parse and POST /api/tasks with ``text``)."""

from __future__ import annotations

from rest_framework import serializers

from tasks_app.quickadd.parser import MAX_TEXT_LENGTH
from todo_project import fields as safe


class QuickAddInput(serializers.Serializer):
    # Length is checked by the parser so the message names the limit the same way everywhere.
    text = safe.CharField(allow_blank=True, trim_whitespace=False, max_length=MAX_TEXT_LENGTH * 4)
