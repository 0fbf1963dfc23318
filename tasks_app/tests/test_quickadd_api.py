"""POST /api/tasks with {"text": …}: quick add through the task endpoint."""

from __future__ import annotations

import pytest

from tasks_app.models import Task

pytestmark = pytest.mark.django_db


def test_it_creates_from_text_exactly_what_the_preview_shows(alice_client):
    text = "Pay rent on the 1st of every month !high #home"
    preview = alice_client.post("/api/tasks/parse", {"text": text}, format="json").json()

    response = alice_client.post("/api/tasks", {"text": text}, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["title"] == preview["title"] == "Pay rent"
    assert body["priority"] == "high"
    assert body["tags"] == ["home"]
    assert body["recurrence_rule"] == preview["recurrence_rule"]
    assert body["series"]["summary"] == preview["recurrence_summary"]


def test_it_refuses_text_mixed_with_explicit_fields(alice_client):
    response = alice_client.post(
        "/api/tasks", {"text": "Buy milk tomorrow", "priority": "low"}, format="json"
    )

    assert response.status_code == 400
    assert "priority" in response.json()["error"]["fields"]
    assert not Task.objects.exists()


@pytest.mark.parametrize("text", ["", "x" * 501, "Stretch every 30 minutes", "Party on Feb 30"])
def test_it_refuses_bad_text_and_writes_nothing(alice_client, text):
    response = alice_client.post("/api/tasks", {"text": text}, format="json")

    assert response.status_code == 400
    assert "text" in response.json()["error"]["fields"]
    assert not Task.objects.exists()
