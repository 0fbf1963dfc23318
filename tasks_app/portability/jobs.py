"""Large imports as jobs a worker runs, with progress the client polls (docs/portability.md).

An upload above ``IMPORT_ASYNC_BYTES`` (or with ``?async=true``) is stored
in an ``ImportJob`` row and answered 202; ``import_job_run`` (a Celery task)
runs the same import a request would, in its ONE transaction, so a job
imports all or nothing exactly like a request does.

Progress while that transaction is open: the worker writes ``done``/``total``
and renews its lease through a database connection of its own, in
autocommit, so each write is visible at once to ``GET /api/import/jobs/{id}``
(the import's own transaction would hide them until it commits). The row
stays the one truth — no second store to reconcile — and the same write is
the lease's heartbeat, so progress and liveness cannot disagree. The import's
transaction does not touch the job row until its very end, so the two
connections never wait on each other.

Exactly once: the job is marked ``succeeded`` inside the import's transaction,
by an UPDATE fenced on the worker's ``attempt``; a worker that lost its lease
(the sweep re-queued the job, another worker claimed it) updates no row and
rolls its import back. A worker that dies mid-import leaves nothing: its
transaction dies with its connection. The job keeps ``running`` until its
lease runs out; then ``import_jobs_sweep`` puts it back in the queue, or
fails it (``worker_lost``) after ``IMPORT_JOB_MAX_ATTEMPTS`` attempts.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import DEFAULT_DB_ALIAS, OperationalError, connection, connections, transaction
from django.db.models import F
from django.utils import timezone

from tasks_app.events import (
    import_failed_event,
    import_queued_event,
    import_started_event,
    import_succeeded_event,
)
from tasks_app.models import ImportJob, ImportJobKind, ImportJobStatus
from tasks_app.portability import taskbeat, todoist
from tasks_app.portability.progress import Progress
from todo_project.errors import DomainError, NotFoundError
from todo_project.events.services import record_events, user_events_lock
from todo_project.faultpoints import fault_point
from todo_project.ids import uuid_or_404
from todo_project.timefmt import iso_utc_or_none

logger = logging.getLogger(__name__)

# Problems kept on a failed job (the importers list at most 200 anyway).
MAX_PROBLEMS = 200
SWEEP_BATCH = 100


class LeaseLost(Exception):
    """This worker's claim on the job is gone (the sweep re-queued it): stop, write nothing."""


def _lease_until(now: datetime) -> datetime:
    return now + timedelta(seconds=settings.IMPORT_JOB_LEASE_SECONDS)


# --- create -------------------------------------------------------------------


def import_job_create(*, user: User, kind: str, data: bytes, options: dict[str, Any]) -> ImportJob:
    """Store an upload as a queued job and enqueue its run after commit; records ``import.queued``.

    The form's checks run here, so a bad ``project_name`` or ``mode``, a file
    over the limit or (``fresh``) an account that is not empty is refused at
    once, like a request import; the file's content is checked by the worker.
    """
    if kind == ImportJobKind.TODOIST:
        todoist.todoist_check_form(project_name=options.get("project_name"), size=len(data))
    elif kind == ImportJobKind.TASKBEAT:
        taskbeat.taskbeat_check_form(user=user, mode=options.get("mode"), size=len(data))
    else:  # pragma: no cover - the views pass one of the two
        raise DomainError(f"Unknown import kind {kind!r}.")
    with transaction.atomic():
        job = ImportJob.objects.create(
            owner_id=user.pk, kind=kind, options=options, payload=data, size_bytes=len(data)
        )
        record_events([import_queued_event(job)])
        _enqueue_on_commit(job.pk)
    return job


def _enqueue_on_commit(job_id: uuid.UUID) -> None:
    # After commit, and never failing the caller: the sweep enqueues a queued
    # job again once it has waited a lease long (Redis was down, say).
    from tasks_app.tasks import import_job_run_task  # the tasks module imports this one

    def enqueue() -> None:
        try:
            import_job_run_task.delay(str(job_id))
        except Exception:  # noqa: BLE001
            logger.warning("could not enqueue import job %s; the sweep will", job_id, exc_info=True)

    transaction.on_commit(enqueue)


# --- run ----------------------------------------------------------------------


class JobProgress(Progress):
    """Writes ``done``/``total`` and the lease through a connection of its own (autocommit).

    At most about 50 writes per import (every ``total / 50`` items, at least
    every 200), each renewing the lease; each checks the worker still holds
    the job (its ``attempt``) and raises ``LeaseLost`` when not.
    """

    def __init__(self, job: ImportJob) -> None:
        self.job = job
        self.done = 0
        self.written = 0
        self.every = 1
        self._connection = connections.create_connection(DEFAULT_DB_ALIAS)

    def start(self, total: int) -> None:
        self.job.total = total
        self.every = max(1, min(200, total // 50))
        self._write()

    def step(self, count: int = 1) -> None:
        self.done += count
        if self.done - self.written >= self.every:
            self._write()

    def finish(self, result: dict[str, Any]) -> None:
        _mark_succeeded(self.job, result)

    def _write(self) -> None:
        now = timezone.now()
        with self._connection.cursor() as cursor:
            cursor.execute(
                "UPDATE tasks_app_importjob SET done = %s, total = %s, lease_until = %s, updated_at = %s "
                "WHERE id = %s AND attempt = %s AND status = %s",
                [
                    self.done,
                    self.job.total,
                    _lease_until(now),
                    now,
                    self.job.pk,
                    self.job.attempt,
                    ImportJobStatus.RUNNING,
                ],
            )
            if cursor.rowcount != 1:
                raise LeaseLost(str(self.job.pk))
        self.written = self.done
        fault_point("imports.after_progress")

    def close(self) -> None:
        self._connection.close()


def _claim(job_id: uuid.UUID | str) -> ImportJob | None:
    """Take a queued job (attempt + 1, a fresh lease); ``None`` when it is not queued (any more)."""
    now = timezone.now()
    with transaction.atomic():
        owner = ImportJob.objects.filter(pk=job_id, status=ImportJobStatus.QUEUED).values_list(
            "owner_id", flat=True
        )
        owner_id = owner.first()
        if owner_id is None:
            return None
        user_events_lock(user_id=owner_id)  # counter first, then the job row (docs: lock order)
        claimed = ImportJob.objects.filter(pk=job_id, status=ImportJobStatus.QUEUED).update(
            status=ImportJobStatus.RUNNING,
            attempt=F("attempt") + 1,
            lease_until=_lease_until(now),
            started_at=now,
            done=0,
            updated_at=now,
        )
        if not claimed:
            return None
        job = ImportJob.objects.select_related("owner").get(pk=job_id)
        record_events([import_started_event(job)])
    return job


def _mark_succeeded(job: ImportJob, result: dict[str, Any]) -> None:
    """Inside the import's transaction: the job's end commits with what it made, or not at all."""
    now = timezone.now()
    done = ImportJob.objects.filter(pk=job.pk, attempt=job.attempt, status=ImportJobStatus.RUNNING).update(
        status=ImportJobStatus.SUCCEEDED,
        done=job.total or 0,
        result=result,
        problems=[],
        payload=b"",
        lease_until=None,
        finished_at=now,
        updated_at=now,
    )
    if not done:
        raise LeaseLost(str(job.pk))  # rolls the import back
    record_events([import_succeeded_event(job, result)])


def _mark_failed(job: ImportJob, *, code: str, message: str, problems: list[dict[str, Any]]) -> None:
    """After the import rolled back: the job failed, its problems kept (fenced like success)."""
    now = timezone.now()
    with transaction.atomic():
        user_events_lock(user_id=job.owner_id)
        failed = ImportJob.objects.filter(
            pk=job.pk, attempt=job.attempt, status=ImportJobStatus.RUNNING
        ).update(
            status=ImportJobStatus.FAILED,
            problems=problems[:MAX_PROBLEMS],
            error_code=code[:50],
            error_message=message[:500],
            payload=b"",
            lease_until=None,
            finished_at=now,
            updated_at=now,
        )
        if failed:
            record_events([import_failed_event(job, error_code=code, problems=len(problems))])


def _run_import(job: ImportJob, data: bytes, progress: JobProgress) -> dict[str, Any]:
    if job.kind == ImportJobKind.TODOIST:
        return todoist.todoist_csv_import(
            user=job.owner,
            project_name=str(job.options.get("project_name") or ""),
            data=data,
            progress=progress,
        )
    return dict(
        taskbeat.taskbeat_import(
            user=job.owner, data=data, merge=job.options.get("mode") == "merge", progress=progress
        )
    )


def import_job_run(*, job_id: uuid.UUID | str) -> str:
    """Claim a queued job and run its import; returns the job's status afterwards.

    A doubled message finds the job claimed and does nothing. A refusal (the
    file's problems, a service refusing an item) fails the job with the
    problems listed; nothing was written. Any other error leaves the job
    running until its lease runs out, and the sweep retries it.
    """
    job = _claim(job_id)
    if job is None:
        return "not queued"
    data = bytes(ImportJob.objects.filter(pk=job.pk).values_list("payload", flat=True).get())
    progress = JobProgress(job)
    try:
        _run_import(job, data, progress)
    except LeaseLost:
        logger.warning(
            "import job %s: lease lost at attempt %s; the import was rolled back", job.pk, job.attempt
        )
        return "lease lost"
    except DomainError as exc:
        rows = (exc.details or {}).get("rows")
        problems = rows if isinstance(rows, list) else [{"row": exc.field or "file", "problem": exc.message}]
        _mark_failed(job, code=exc.code, message=exc.message, problems=problems)
        return ImportJobStatus.FAILED
    finally:
        progress.close()
    return ImportJobStatus.SUCCEEDED


# --- sweep --------------------------------------------------------------------


def import_jobs_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Jobs whose worker died go back to the queue (or fail); lost enqueues are redone.

    A running job whose lease ran out: its worker is gone (its transaction
    rolled back with its connection) or stuck (its fenced end will write
    nothing). It is queued again, or failed with ``worker_lost`` once it had
    ``IMPORT_JOB_MAX_ATTEMPTS`` attempts. A job queued for longer than a lease
    is enqueued again (its message was lost; a doubled one is harmless). Each
    job is handled in a transaction of its own that gives up on a lock it
    cannot get within a second, so one stuck import never stalls the sweep.
    """
    now = now or timezone.now()
    counts = {"requeued": 0, "failed": 0, "enqueued": 0}
    expired = list(
        ImportJob.objects.filter(status=ImportJobStatus.RUNNING, lease_until__lt=now)
        .order_by("lease_until")
        .values_list("pk", "owner_id")[:SWEEP_BATCH]
    )
    for job_id, owner_id in expired:
        try:
            outcome = _expire(job_id, owner_id, now)
        except OperationalError:  # a lock not granted within lock_timeout: next sweep
            logger.info("import job %s is locked; the next sweep takes it", job_id)
            continue
        if outcome:
            counts[outcome] += 1
    stale = ImportJob.objects.filter(
        status=ImportJobStatus.QUEUED,
        updated_at__lt=now - timedelta(seconds=settings.IMPORT_JOB_LEASE_SECONDS),
    ).values_list("pk", flat=True)[:SWEEP_BATCH]
    for job_id in stale:
        with transaction.atomic():
            ImportJob.objects.filter(pk=job_id, status=ImportJobStatus.QUEUED).update(updated_at=now)
            _enqueue_on_commit(job_id)
        counts["enqueued"] += 1
    return counts


def _expire(job_id: uuid.UUID, owner_id: int, now: datetime) -> str | None:
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '1s'")
        user_events_lock(user_id=owner_id)  # counter first, then the job row, as the import does
        job = (
            ImportJob.objects.select_for_update()
            .filter(pk=job_id, status=ImportJobStatus.RUNNING, lease_until__lt=now)
            .first()
        )
        if job is None:
            return None  # finished or renewed meanwhile
        if job.attempt >= settings.IMPORT_JOB_MAX_ATTEMPTS:
            message = f"The import's worker stopped {job.attempt} times; nothing was imported."
            job.status = ImportJobStatus.FAILED
            job.error_code = "worker_lost"
            job.error_message = message
            job.problems = [{"row": "file", "problem": message}]
            job.payload = b""
            job.lease_until = None
            job.finished_at = now
            job.updated_at = now
            job.save(
                update_fields=[
                    "status",
                    "error_code",
                    "error_message",
                    "problems",
                    "payload",
                    "lease_until",
                    "finished_at",
                    "updated_at",
                ]
            )
            record_events([import_failed_event(job, error_code="worker_lost", problems=1)])
            return "failed"
        job.status = ImportJobStatus.QUEUED
        job.lease_until = None
        job.done = 0
        job.updated_at = now
        job.save(update_fields=["status", "lease_until", "done", "updated_at"])
        _enqueue_on_commit(job.pk)
        return "requeued"


# --- read ---------------------------------------------------------------------


def import_job_get(*, user_id: int, job_id: uuid.UUID | str) -> ImportJob:
    """The caller's job; another user's, none or a malformed id is a 404."""
    job = (
        ImportJob.objects.defer("payload")
        .filter(pk=uuid_or_404(job_id, what="Import job"), owner_id=user_id)
        .first()
    )
    if job is None:
        raise NotFoundError("Import job not found.")
    return job


def import_job_to_dict(job: ImportJob) -> dict[str, Any]:
    return {
        "id": str(job.pk),
        "kind": job.kind,
        "status": job.status,
        "progress": {"done": job.done, "total": job.total},
        "problems": job.problems,
        "result": job.result,
        "error": {"code": job.error_code, "message": job.error_message} if job.error_code else None,
        "attempt": job.attempt,
        "size_bytes": job.size_bytes,
        "created_at": iso_utc_or_none(job.created_at),
        "started_at": iso_utc_or_none(job.started_at),
        "finished_at": iso_utc_or_none(job.finished_at),
    }
