"""What the designer's queue page shows and does: depth of each queue, failed jobs with their error, retry, delete."""

from __future__ import annotations

from flask import Flask
from rq.exceptions import NoSuchJobError
from rq.job import Job
from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry

from runtime.jobs.queue import QUEUES, connection, queue


def stats(app: Flask | None = None) -> list[dict]:
    """Per queue: jobs waiting, running, scheduled for later, and failed."""
    found = []
    for name in QUEUES:
        q = queue(name, app)
        found.append({"queue": name, "waiting": q.count,
                      "running": StartedJobRegistry(q.name, connection=q.connection).count,
                      "scheduled": ScheduledJobRegistry(q.name, connection=q.connection).count,
                      "failed": FailedJobRegistry(q.name, connection=q.connection).count})
    return found


def failed_jobs(limit: int = 100) -> list[dict]:
    """Failed jobs, newest first, with what they were and the last line of their error."""
    found = []
    for name in QUEUES:
        q = queue(name)
        registry = FailedJobRegistry(q.name, connection=q.connection)
        for job in Job.fetch_many(registry.get_job_ids(0, limit - 1, desc=True), connection=q.connection):
            if job is None:
                continue
            result = job.latest_result()
            trace = (result.exc_string if result else None) or ""
            lines = trace.strip().splitlines()
            found.append({"id": job.id, "queue": name, "function": job.func_name, "args": list(job.args),
                          "failedAt": job.ended_at.isoformat() if job.ended_at else None,
                          "error": lines[-1] if lines else None, "traceback": trace})
    return sorted(found, key=lambda j: j["failedAt"] or "", reverse=True)[:limit]


def retry(job_id: str) -> None:
    """Queue a failed job again. Raises LookupError if it is not among the failed jobs."""
    job, registry = _failed(job_id)
    registry.requeue(job)


def delete(job_id: str) -> None:
    """Forget a failed job."""
    job, registry = _failed(job_id)
    registry.remove(job, delete_job=True)


def _failed(job_id: str) -> tuple[Job, FailedJobRegistry]:
    try:
        job = Job.fetch(job_id, connection=connection())
    except (NoSuchJobError, ValueError):  # RQ refuses an id of other characters than its own: no such job either
        raise LookupError(f"There is no job '{job_id[:100]}'.") from None
    for name in QUEUES:
        registry = FailedJobRegistry(queue(name).name, connection=connection())
        if job.id in registry:
            return job, registry
    raise LookupError(f"The job '{job_id}' has not failed; only failed jobs can be retried or deleted.")
