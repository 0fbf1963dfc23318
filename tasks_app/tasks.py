"""Celery tasks of the task layer: thin wrappers over the recurrence services and the import jobs."""

from __future__ import annotations

from celery import shared_task

from tasks_app.portability import jobs
from tasks_app.recurrence import services as recurrence_services


@shared_task
def series_repair_task() -> int:
    """Hourly sweep (CELERY_BEAT_SCHEDULE "recurrence-repair"): active series with no
    open occurrence get their next one; look-ahead series are filled. Harmless twice."""
    return recurrence_services.series_repair()


@shared_task
def import_job_run_task(job_id: str) -> str:
    """Run one import job (docs/portability.md "Large imports"). The job row is the truth:
    a doubled message finds it claimed; a lost one is enqueued again by the sweep."""
    return jobs.import_job_run(job_id=job_id)


@shared_task
def import_jobs_sweep_task() -> dict[str, int]:
    """Every IMPORT_JOBS_SWEEP_SECONDS (CELERY_BEAT_SCHEDULE "import-jobs-sweep"): jobs whose
    worker died are queued again or failed; lost enqueues are redone. Harmless twice."""
    return jobs.import_jobs_sweep()
