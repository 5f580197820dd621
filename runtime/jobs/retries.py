"""A running job's say over its own RQ retries: none at all, or not before a given time.

RQ decides whether and when to retry a job that raised from the job's `retries_left` and `retry_intervals`, read
on the very Job object that ran it (the one `get_current_job` returns) once it has raised. A job that knows
better than its `Retry` says so here before it raises: a failure no retry can change (a refusal for good) is not
tried again, and a wait the other side asked for (Retry-After) is kept. Outside a job (a direct call) both do
nothing.
"""

from __future__ import annotations

import math

from rq import get_current_job


def stop_retrying() -> None:
    """The running job, if it fails now, fails for good (RQ's failed jobs), however many retries it had left."""
    job = get_current_job()
    if job is not None:
        job.retries_left = 0


def not_before(seconds: float) -> None:
    """The running job's next retry, if it fails now and has one left, waits at least `seconds`."""
    job = get_current_job()
    if job is None or not job.retries_left or seconds <= 0:
        return
    intervals = list(job.retry_intervals or [0])
    index = max(len(intervals) - job.retries_left, 0)  # the one RQ's `Job.get_retry_interval` takes
    intervals[index] = max(intervals[index], math.ceil(seconds))
    job.retry_intervals = intervals
