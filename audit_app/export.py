"""The export's ``audit_log`` section (registered with ``tasks_app.portability.sections``).

Every entry the user's actions left (retention applies: ``AUDIT_RETENTION_DAYS``),
oldest first, each as ``GET /api/audit`` shows it. For the record only: an
import never writes audit entries — the import's own events are audited as
they happen.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.models import User

from audit_app.selectors import audit_entries_for_user, audit_entries_stream
from audit_app.serializers import entry_representation
from tasks_app.portability.sections import ExportSection


def audit_log_export(user: User, now: datetime) -> list[dict[str, Any]]:
    entries = audit_entries_for_user(user_id=user.pk, until=now, oldest_first=True)
    return [entry_representation(entry) for entry in audit_entries_stream(entries)]


SECTION = ExportSection(key="audit_log", export=audit_log_export)
