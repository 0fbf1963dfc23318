"""The whole path: task API → outbox → on-commit dispatch → audit handler → feed."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_it_audits_task_crud_done_through_the_api(
    alice_client, bob_client, django_capture_on_commit_callbacks
):
    headers = {"HTTP_USER_AGENT": "TaskbeatWeb/2.0", "REMOTE_ADDR": "198.51.100.23"}

    # given alice works on one task through the REST API
    with django_capture_on_commit_callbacks(execute=True):
        created = alice_client.post("/api/tasks", {"title": "File taxes"}, format="json", **headers)
        assert created.status_code == 201, created.content
        task_id = created.json()["id"]
        patched = alice_client.patch(f"/api/tasks/{task_id}", {"priority": "high"}, format="json", **headers)
        assert patched.status_code == 200, patched.content
        assert alice_client.post(f"/api/tasks/{task_id}/toggle", **headers).status_code == 200
        assert alice_client.delete(f"/api/tasks/{task_id}", **headers).status_code == 204

    # when she reads her feed
    feed = alice_client.get("/api/audit", {"resource_id": task_id}).json()["results"]

    # then every change is there, newest first, with what changed and from where
    assert [e["action"] for e in feed] == ["task.deleted", "task.completed", "task.updated", "task.created"]
    for entry in feed:
        assert entry["resource"] == {"type": "task", "id": task_id}
        assert entry["actor"]["type"] == "user"
        assert entry["metadata"]["client_ip"] == "198.51.100.23"
        assert entry["metadata"]["user_agent"] == "TaskbeatWeb/2.0"
    updated = feed[2]["metadata"]
    assert updated["previous"]["priority"] == "medium"
    assert updated["new"]["priority"] == "high"
    assert feed[1]["metadata"]["new"]["is_completed"] is True
    assert bob_client.get("/api/audit").json()["count"] == 0
