"""Large imports as worker jobs (docs/portability.md "Large imports"): 202 + a job to poll,
progress visible while the one transaction is open, all or nothing, a dead worker's job
retried or failed by the sweep, isolation, events.

Transactional tests (each pays ~2 s of table flush, so only the core cases are in
the fast subset; the rest are marked slow): the worker writes progress through a connection of its own,
which sees only committed rows (as in production). Celery runs eagerly: the job's
run starts when the upload's transaction commits, as a worker would pick it up.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from audit_app.models import AuditLog
from tasks_app import services
from tasks_app.models import ImportJob, Project, Task
from tasks_app.portability import jobs
from todo_project.testing import events, events_of, run_in_threads

pytestmark = pytest.mark.django_db(transaction=True)

SAMPLE = Path(__file__).parent / "data" / "todoist_home.csv"


class WorkerDied(BaseException):
    """What a killed worker looks like from inside: nothing after this line runs, no
    ``except Exception`` catches it, and the open transaction is rolled back."""


def _todoist(client, content: bytes, *, query: str = "?async=true", name: str = "Home"):
    return client.post(
        "/api/import/todoist" + query,
        {"file": SimpleUploadedFile("Home.csv", content, content_type="text/csv"), "project_name": name},
        format="multipart",
    )


def _big_csv(tasks: int) -> bytes:
    header = SAMPLE.read_text().splitlines()[0]
    rows = [f"task,Task number {i},,1,1,,,,en,,,,," for i in range(tasks)]
    return ("\n".join([header, *rows]) + "\n").encode()


@pytest.fixture
def at_progress(monkeypatch):
    """Run ``action(call_number)`` at each of the worker's progress writes (the fault point)."""

    def install(action) -> None:
        calls = {"n": 0}

        def point(name: str) -> None:
            assert name == "imports.after_progress"
            calls["n"] += 1
            action(calls["n"])

        monkeypatch.setattr(jobs, "fault_point", point)

    return install


def test_a_large_upload_is_a_job_a_worker_runs(alice, alice_client, settings):
    settings.IMPORT_ASYNC_BYTES = 100  # the sample is larger: no ?async needed
    response = _todoist(alice_client, SAMPLE.read_bytes(), query="")

    assert response.status_code == 202, response.json()
    job_id = response.json()["id"]
    assert response["Location"] == f"/api/import/jobs/{job_id}"
    assert response.json()["status"] == "queued"
    job = alice_client.get(response["Location"]).json()
    assert job["status"] == "succeeded", job
    assert job["result"]["tasks"] == 8
    assert job["result"]["sections"] == 2
    assert job["progress"] == {"done": 11, "total": 11}  # the project, 2 sections, 8 tasks
    assert (job["problems"], job["error"], job["attempt"]) == ([], None, 1)
    assert Task.objects.filter(owner=alice).count() == 8
    assert ImportJob.objects.get(pk=job_id).payload == b""  # the upload is not kept
    kinds = [e.type for e in events() if e.type.startswith("import.")]
    assert kinds == ["import.queued", "import.started", "import.succeeded"]
    (succeeded,) = events_of("import.succeeded")
    assert succeeded["result"] == {"project_id": job["result"]["project_id"], "sections": 2, "tasks": 8}
    audited = set(AuditLog.objects.filter(actor_id=alice.pk).values_list("action", flat=True))
    assert {"import.queued", "import.started", "import.succeeded"} <= audited


@pytest.mark.slow  # a transactional test (~2 s of table flush); the core cases stay in the fast subset
def test_a_small_upload_stays_in_the_request_unless_asked(alice_client):
    response = _todoist(alice_client, SAMPLE.read_bytes(), query="")
    assert response.status_code == 201
    assert not ImportJob.objects.exists()
    bad = _todoist(alice_client, SAMPLE.read_bytes(), query="?async=maybe")
    assert bad.status_code == 400
    assert "async" in bad.json()["error"]["fields"]


def test_progress_is_visible_while_the_one_transaction_is_open(alice, alice_client, at_progress):
    seen: list[dict[str, Any]] = []

    def look(call: int) -> None:
        if call != 3:
            return

        def from_outside() -> None:  # another connection, as a polling client's request
            seen.append(alice_client.get(f"/api/import/jobs/{job_id()}").json())
            seen.append({"tasks": Task.objects.filter(owner_id=alice.pk).count()})

        _, errors = run_in_threads(from_outside, together=False)
        assert not errors, errors

    def job_id() -> str:
        return str(ImportJob.objects.get().pk)

    at_progress(look)
    response = _todoist(alice_client, _big_csv(120))

    assert response.status_code == 202
    polled, outside = seen
    assert polled["status"] == "running"
    assert 0 < polled["progress"]["done"] < polled["progress"]["total"] == 121
    assert outside == {"tasks": 0}  # nothing is committed before the end
    assert alice_client.get(response["Location"]).json()["status"] == "succeeded"
    assert Task.objects.filter(owner=alice).count() == 120


@pytest.mark.slow  # a transactional test (~2 s of table flush); the core cases stay in the fast subset
def test_a_file_with_problems_fails_the_job_lists_them_and_imports_nothing(alice, alice_client):
    bad = SAMPLE.read_text().replace(",4,1,Alice", ",7,1,Alice", 1) + "task,Orphan,,1,3,,,,en,,,,,\n"

    response = _todoist(alice_client, bad.encode())

    job = alice_client.get(response["Location"]).json()
    assert job["status"] == "failed"
    assert job["error"]["code"] == "import_refused"
    assert {problem["row"] for problem in job["problems"]} == {3, 16}
    assert job["result"] is None
    assert not Task.objects.filter(owner=alice).exists()
    assert not Project.objects.filter(owner=alice, is_inbox=False).exists()
    (failed,) = events_of("import.failed")
    assert failed["error_code"] == "import_refused"
    assert failed["problems"] == 2


@pytest.mark.slow  # a transactional test (~2 s of table flush); the core cases stay in the fast subset
def test_the_forms_checks_answer_at_once(alice, alice_client, bob_client):
    no_name = _todoist(alice_client, SAMPLE.read_bytes(), name="")
    assert no_name.status_code == 400
    assert "project_name" in no_name.json()["error"]["fields"]
    services.task_create(owner=alice, title="Already here")
    not_empty = alice_client.post(
        "/api/import/taskbeat?async=true",
        {"file": SimpleUploadedFile("e.json", b"{}", content_type="application/json")},
        format="multipart",
    )
    assert not_empty.status_code == 409
    assert not ImportJob.objects.exists()


def test_another_users_job_is_a_404(alice_client, bob_client, anon_client):
    url = _todoist(alice_client, SAMPLE.read_bytes())["Location"]

    assert bob_client.get(url).status_code == 404
    assert bob_client.get("/api/import/jobs/not-a-uuid").status_code == 404
    assert anon_client.get(url).status_code == 401
    assert alice_client.get(url).status_code == 200


def test_a_worker_that_dies_mid_import_leaves_nothing_and_the_sweep_retries(alice, alice_client, at_progress):
    def die(call: int) -> None:
        if call == 2:
            raise WorkerDied

    at_progress(die)
    with pytest.raises(WorkerDied):
        _todoist(alice_client, _big_csv(60))
    job = ImportJob.objects.get()
    assert (job.status, job.attempt) == ("running", 1)
    assert not Task.objects.filter(owner=alice).exists()  # its transaction died with it
    assert not Project.objects.filter(owner=alice, is_inbox=False).exists()

    at_progress(lambda call: None)  # the next worker lives
    assert jobs.import_jobs_sweep() == {"requeued": 0, "failed": 0, "enqueued": 0}  # the lease holds
    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        counts = jobs.import_jobs_sweep()

    assert counts["requeued"] == 1
    job.refresh_from_db()
    assert (job.status, job.attempt) == ("succeeded", 2)
    assert Task.objects.filter(owner=alice).count() == 60  # once
    assert [e["attempt"] for e in events_of("import.started")] == [1, 2]


@pytest.mark.slow  # a transactional test (~2 s of table flush); the core cases stay in the fast subset
def test_a_job_whose_workers_keep_dying_fails(alice, alice_client, at_progress, settings):
    settings.IMPORT_JOB_MAX_ATTEMPTS = 1

    def die(call: int) -> None:
        raise WorkerDied

    at_progress(die)
    with pytest.raises(WorkerDied):
        _todoist(alice_client, _big_csv(5))
    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        assert jobs.import_jobs_sweep()["failed"] == 1

    job = alice_client.get(f"/api/import/jobs/{ImportJob.objects.get().pk}").json()
    assert job["status"] == "failed"
    assert job["error"]["code"] == "worker_lost"
    assert not Task.objects.filter(owner=alice).exists()
    (failed,) = events_of("import.failed")
    assert failed["error_code"] == "worker_lost"


@pytest.mark.slow  # a transactional test (~2 s of table flush); the core cases stay in the fast subset
def test_a_worker_that_lost_its_lease_commits_nothing(alice, alice_client, at_progress):
    def requeued_meanwhile(call: int) -> None:
        if call == 1:  # what the sweep does once the lease ran out, from its own connection
            _, errors = run_in_threads(
                lambda: ImportJob.objects.update(status="queued", lease_until=None), together=False
            )
            assert not errors

    at_progress(requeued_meanwhile)
    response = _todoist(alice_client, _big_csv(30))

    assert response.status_code == 202
    job = ImportJob.objects.get()
    assert job.status == "queued"  # for the next worker; this one wrote nothing
    assert not Task.objects.filter(owner=alice).exists()
    assert events_of("import.succeeded") == []


@pytest.mark.slow  # a transactional test (~2 s of table flush); the core cases stay in the fast subset
def test_a_taskbeat_export_imports_as_a_job(alice, bob, alice_client, bob_client):
    alice_client.post("/api/projects", {"name": "Home"}, format="json")
    services.task_create(owner=alice, title="Fix the tap", priority="high")
    exported = alice_client.get("/api/export").json()

    upload = SimpleUploadedFile("e.json", json.dumps(exported).encode(), content_type="application/json")
    response = bob_client.post("/api/import/taskbeat?async=true", {"file": upload}, format="multipart")

    assert response.status_code == 202
    job = bob_client.get(response["Location"]).json()
    assert job["status"] == "succeeded", job
    assert job["result"]["projects"] == 1
    assert job["result"]["tasks"] == 1
    assert list(Task.objects.filter(owner=bob).values_list("title", flat=True)) == ["Fix the tap"]


@pytest.mark.slow  # a transactional test (~2 s of table flush); the core cases stay in the fast subset
def test_a_queued_job_whose_message_was_lost_is_enqueued_again_by_the_sweep(alice):
    # As if Redis was away when the upload committed: the row is queued, no message exists.
    job = ImportJob.objects.create(
        owner=alice, kind="todoist", options={"project_name": "Home"}, payload=SAMPLE.read_bytes()
    )
    assert jobs.import_jobs_sweep()["enqueued"] == 0  # younger than a lease: its message may still come

    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        assert jobs.import_jobs_sweep()["enqueued"] == 1

    job.refresh_from_db()
    assert (job.status, job.attempt) == ("succeeded", 1)
    assert Task.objects.filter(owner=alice).count() == 8
