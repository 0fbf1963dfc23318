"""A worker SIGKILLed in the middle of a large import (docs/portability.md "Large imports").

The worker dies at its third progress write, with the import's one
transaction open and part of the file written: PostgreSQL rolls that back
with the dead connection, so nothing of the file is visible. The job keeps
``running`` until its lease runs out; the beat's import-jobs sweep queues it
again and a replacement worker imports the whole file, once.
"""

from __future__ import annotations

import http.client
import json
import os
import uuid
from collections.abc import Iterator

import pytest

from faults.harness import Cluster, User, wait_until

pytestmark = [pytest.mark.faults, pytest.mark.slow]

TASKS = 400
HEADER = "TYPE,CONTENT,DESCRIPTION,PRIORITY,INDENT,AUTHOR,RESPONSIBLE,DATE,DATE_LANG,TIMEZONE"


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    # A short lease and a fast sweep so recovery takes seconds, not minutes.
    env = {"IMPORT_JOB_LEASE_SECONDS": "10", "IMPORT_JOBS_SWEEP_SECONDS": "1"}
    c = Cluster(kafka=False, extra_env=env)
    base = os.environ.get("FAULTS_PORT_BASE")  # a fixed block of ports on a shared machine
    if base:
        c.postgres.port, c.redis.port, c.web_port, c.web2_port, c.ws_port = range(int(base), int(base) + 5)
    try:
        c.start_servers()
        c.start("web")
        yield c
    finally:
        c.shutdown()


def _upload(cluster: Cluster, user: User, csv_text: str) -> tuple[int, dict]:
    boundary = uuid.uuid4().hex
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="project_name"\r\n\r\nBig\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n'
        f"Content-Type: text/csv\r\n\r\n{csv_text}\r\n--{boundary}--\r\n"
    ).encode()
    conn = http.client.HTTPConnection("127.0.0.1", cluster.web_port, timeout=30)
    try:
        conn.request(
            "POST",
            "/api/import/todoist?async=true",
            body=body,
            headers={
                "Content-Type": f"multipart/form-data; boundary={boundary}",
                "Authorization": f"Bearer {user.client.token}",
            },
        )
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def _tasks(cluster: Cluster, user: User) -> int:
    return cluster.postgres.query("SELECT count(*) FROM tasks_app_task WHERE owner_id = %s", [user.id])[0][0]


def test_a_worker_killed_mid_import_leaves_nothing_and_the_sweep_imports_it_once(cluster):
    user = cluster.new_user("imp")
    rows = [f"task,Task {i},,1,1,,,,en," for i in range(TASKS)]
    worker = cluster.procs["worker"]
    point = "imports.after_progress@3"
    worker.start(extra_env={"TASKBEAT_FAULT_POINT": point}, wait=False)

    status, job = _upload(cluster, user, "\n".join([HEADER, *rows]) + "\n")
    assert status == 202, job
    wait_until(lambda: worker.exited() is not None, timeout=90, what="the worker to die mid-import")
    assert worker.exited() in (137, -9), cluster.logs("worker")
    worker.process = None

    status, seen, _ = user.client.call("GET", f"/api/import/jobs/{job['id']}")
    assert status == 200
    assert seen["status"] == "running"
    assert 0 < seen["progress"]["done"] < seen["progress"]["total"]  # it had written part of the file
    assert _tasks(cluster, user) == 0  # … and none of it is there
    assert cluster.postgres.query(
        "SELECT count(*) FROM tasks_app_project WHERE owner_id = %s AND NOT is_inbox", [user.id]
    ) == [(0,)]

    cluster.start("worker", "beat")
    try:

        def finished():
            body = user.client.call("GET", f"/api/import/jobs/{job['id']}")[1]
            return body if body["status"] in ("succeeded", "failed") else None

        done = wait_until(finished, timeout=90, what="the sweep to retry the import")
    finally:
        cluster.kill("worker", "beat")
    assert done["status"] == "succeeded", done
    assert done["attempt"] == 2
    assert done["result"]["tasks"] == TASKS
    assert _tasks(cluster, user) == TASKS  # once
    attempts = cluster.postgres.query(
        "SELECT (data->>'attempt')::int FROM events_outboxevent WHERE type = 'import.started' "
        "AND user_id = %s ORDER BY seq",
        [user.id],
    )
    assert attempts == [(1,), (2,)]
