from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit_app.views import CSV_COLUMNS

from .conftest import BROWSER

pytestmark = pytest.mark.django_db


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def history(emit_task, alice, bob):
    """Alice: created (1 Mar 10:00Z), updated (2 Mar 23:30Z), completed (5 Mar 12:00Z); bob: one create."""
    with time_machine.travel(_at("2026-03-01T10:00:00"), tick=False):
        created = emit_task("task.created", alice)
    task_id = created.data["task_id"]
    with time_machine.travel(_at("2026-03-02T23:30:00"), tick=False):
        emit_task("task.updated", alice, task_id)
    with time_machine.travel(_at("2026-03-05T12:00:00"), tick=False):
        emit_task("task.completed", alice, task_id)
        emit_task("task.created", bob)
    return task_id


def _actions(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [entry["action"] for entry in response.json()["results"]]


def test_it_lists_the_callers_entries_newest_first_in_the_spec_shape(alice_client, alice, history):
    response = alice_client.get("/api/audit")

    assert _actions(response) == ["task.completed", "task.updated", "task.created"]
    body = response.json()
    assert body["count"] == 3
    newest = body["results"][0]
    assert set(newest) == {"id", "timestamp", "action", "actor", "resource", "metadata"}
    assert newest["timestamp"] == "2026-03-05T12:00:00Z"
    assert newest["actor"] == {"type": "user", "id": alice.pk, "email": "alice@example.com"}
    assert newest["resource"] == {"type": "task", "id": history}
    assert newest["metadata"]["previous"] == {"is_completed": False}
    assert newest["metadata"]["client_ip"] == BROWSER["client_ip"]


def test_it_never_shows_another_users_entries(bob_client, history):
    response = bob_client.get("/api/audit")

    assert _actions(response) == ["task.created"]
    assert bob_client.get("/api/audit", {"resource_id": history}).json()["count"] == 0


def test_it_requires_authentication(anon_client):
    assert anon_client.get("/api/audit").status_code == 401
    assert anon_client.get("/api/audit/export").status_code == 401


def test_it_filters_by_a_comma_list_of_actions(alice_client, history):
    response = alice_client.get("/api/audit", {"action": "task.created, task.completed"})

    assert _actions(response) == ["task.completed", "task.created"]


def test_it_filters_by_resource(alice_client, emit_task, alice, history):
    emit_task("task.created", alice)  # another task

    by_id = alice_client.get("/api/audit", {"resource_type": "task", "resource_id": history})
    by_type = alice_client.get("/api/audit", {"resource_type": "user"})

    assert _actions(by_id) == ["task.completed", "task.updated", "task.created"]
    assert _actions(by_type) == []


def test_it_filters_by_datetime_range_since_inclusive_until_exclusive(alice_client, history):
    response = alice_client.get(
        "/api/audit", {"since": "2026-03-02T23:30:00Z", "until": "2026-03-05T12:00:00Z"}
    )

    assert _actions(response) == ["task.updated"]


def test_it_reads_dates_as_whole_days_in_the_callers_time_zone(alice_client, history):
    # Alice is in Europe/Berlin: 2 Mar 23:30Z is already 3 Mar 00:30 there.
    on_2nd = alice_client.get("/api/audit", {"since": "2026-03-02", "until": "2026-03-02"})
    on_3rd = alice_client.get("/api/audit", {"since": "2026-03-03", "until": "2026-03-03"})

    assert _actions(on_2nd) == []
    assert _actions(on_3rd) == ["task.updated"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "yesterday"}, "since"),
        ({"until": "2026-13-01"}, "until"),
        ({"since": "2026-03-05", "until": "2026-03-01"}, "until"),
        ({"action": " , "}, "action"),
        ({"limit": "500"}, "limit"),
        ({"page": "0"}, "page"),
    ],
)
def test_it_refuses_bad_filters_naming_the_parameter(alice_client, params, field):
    response = alice_client.get("/api/audit", params)

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == [field]


def test_it_paginates_with_page_and_limit(alice_client, history):
    first = alice_client.get("/api/audit", {"limit": 2}).json()
    second = alice_client.get("/api/audit", {"limit": 2, "page": 2}).json()

    assert [e["action"] for e in first["results"]] == ["task.completed", "task.updated"]
    assert first["next"].endswith("limit=2&page=2")
    assert [e["action"] for e in second["results"]] == ["task.created"]
    assert second["next"] is None


def test_it_pins_the_feed_to_a_constant_number_of_queries(alice_client, emit_task, alice, history):
    def queries_for(limit: int) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert alice_client.get("/api/audit", {"limit": limit}).status_code == 200
        return len(captured)

    # A user's first request in a process also checks their account (then cached
    # for JWT_USER_CHECK_SECONDS); compare page sizes after it.
    assert alice_client.get("/api/audit").status_code == 200
    few = queries_for(1)
    for _ in range(3):
        emit_task("task.created", alice)

    assert queries_for(6) == few


# --- export ------------------------------------------------------------------------


def _body(response) -> str:
    assert response.status_code == 200, getattr(response, "content", b"")
    assert response.streaming
    return b"".join(response.streaming_content).decode()


def test_it_exports_json_oldest_first_in_the_api_shape(alice_client, history):
    response = alice_client.get("/api/audit/export", {"format": "json"})

    rows = json.loads(_body(response))
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"].startswith('attachment; filename="audit-')
    assert [r["action"] for r in rows] == ["task.created", "task.updated", "task.completed"]
    feed = alice_client.get("/api/audit").json()["results"]
    assert rows == list(reversed(feed))


def test_it_exports_csv_with_a_header_and_one_row_per_entry(alice_client, alice, history):
    response = alice_client.get("/api/audit/export", {"format": "csv"})

    rows = list(csv.DictReader(io.StringIO(_body(response))))
    assert response["Content-Type"].startswith("text/csv")
    assert list(rows[0]) == CSV_COLUMNS
    assert [r["action"] for r in rows] == ["task.created", "task.updated", "task.completed"]
    updated = rows[1]
    assert updated["actor_id"] == str(alice.pk)
    assert updated["resource_id"] == history
    assert updated["client_ip"] == BROWSER["client_ip"]
    assert json.loads(updated["metadata"])["previous"] == {"title": "Pay rent"}


def test_it_exports_only_the_requested_range_of_the_callers_entries(alice_client, history):
    response = alice_client.get(
        "/api/audit/export", {"format": "json", "since": "2026-03-02", "until": "2026-03-04"}
    )

    assert [r["action"] for r in json.loads(_body(response))] == ["task.updated"]


def test_it_exports_an_empty_range_as_valid_json_and_csv(bob_client):
    assert json.loads(_body(bob_client.get("/api/audit/export", {"format": "json"}))) == []
    csv_text = _body(bob_client.get("/api/audit/export", {"format": "csv"}))
    assert list(csv.reader(io.StringIO(csv_text))) == [CSV_COLUMNS]


def test_it_refuses_an_unknown_export_format(alice_client):
    response = alice_client.get("/api/audit/export", {"format": "xml"})

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert list(response.json()["error"]["fields"]) == ["format"]


def test_it_neutralises_spreadsheet_formulas_in_csv_cells(alice_client, emit_task, alice):
    emit_task("task.created", alice, context={**BROWSER, "user_agent": '=HYPERLINK("http://x")'})

    rows = list(csv.DictReader(io.StringIO(_body(alice_client.get("/api/audit/export", {"format": "csv"})))))

    assert rows[0]["user_agent"] == '\'=HYPERLINK("http://x")'


def test_it_renders_entries_exactly_as_the_declared_serializer_would(emit_task, alice):
    from rest_framework import serializers

    from audit_app.models import AuditLog
    from audit_app.serializers import AuditEntrySerializer, entry_representation

    class Declared(AuditEntrySerializer):
        to_representation = serializers.ModelSerializer.to_representation

    emit_task("task.updated", alice)
    entry = AuditLog.objects.get()

    assert json.loads(json.dumps(Declared(entry).data)) == entry_representation(entry)
