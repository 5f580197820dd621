"""Running an app's background jobs inside a test, against real Redis, on a clock the test controls (clock.py).

`drain()` runs what is queued now; `drain(until=moment)` moves the clock to that moment and releases the jobs
scheduled up to it (timers, retries with their back-off), as RQ's scheduler would when the time comes, so
tests check an hour of retries without waiting an hour. The worker is RQ's own (retries, failure handling)
running jobs in the test's process.
"""

from __future__ import annotations

from datetime import UTC, datetime

from clock import Clock
from flask import Flask
from rq import Queue, SimpleWorker
from rq.job import Job
from rq.registry import FailedJobRegistry, ScheduledJobRegistry

from runtime.jobs import connection, queue_names
from runtime.jobs.worker import QuickToStop


class InProcessWorker(QuickToStop, SimpleWorker):
    """RQ's worker running jobs in the test's process, quick to stop like Arbor's own."""


class Jobs:
    def __init__(self, app: Flask, clock: Clock):
        self.app = app
        self.clock = clock
        self.redis = connection(app)

    def drain(self, until: datetime | None = None, *, rounds: int = 20) -> int:
        """Run every job that is due (now, or by `until`, the clock moved there), including the ones those jobs
        enqueue; how many ran."""
        if until is not None:
            self.clock.move_to(until)
        ran = 0
        for _ in range(rounds):
            released = self.release_due(datetime.now(UTC))
            waiting = sum(self.redis.llen(f"rq:queue:{name}") for name in queue_names(self.app))
            if not waiting and not released:
                return ran
            with self.app.app_context():
                worker = InProcessWorker(queue_names(self.app), connection=self.redis)
                worker.work(burst=True, with_scheduler=False, logging_level="WARNING")
            ran += waiting
        raise AssertionError(f"jobs still enqueueing jobs after {rounds} rounds")

    def drain_all(self, *, rounds: int = 20) -> int:
        """Run what is due now, then each job scheduled after it in turn, the clock moved to its time (a failing
        job's retries through their back-off, until RQ gives it up); how many ran."""
        ran = self.drain()
        for _ in range(rounds):
            if not (scheduled := self.scheduled()):
                return ran
            ran += self.drain(until=scheduled[0][1])
        raise AssertionError(f"jobs still scheduled after {rounds} rounds: {self.scheduled()}")

    def release_due(self, moment: datetime) -> int:
        """Move the jobs scheduled up to `moment` into their queues; how many moved."""
        moved = 0
        for name in queue_names(self.app):
            registry = ScheduledJobRegistry(name, connection=self.redis)
            for job_id in registry.get_jobs_to_schedule(int(moment.timestamp())):
                job = Job.fetch(job_id, connection=self.redis)
                registry.remove(job)
                Queue(name, connection=self.redis).enqueue_job(job)
                moved += 1
        return moved

    def scheduled(self) -> list[tuple[str, datetime]]:
        """The jobs waiting for their time, as (job id, when), soonest first."""
        found = []
        for name in queue_names(self.app):
            registry = ScheduledJobRegistry(name, connection=self.redis)
            found += [(job_id, registry.get_scheduled_time(job_id)) for job_id in registry.get_job_ids()]
        return sorted(found, key=lambda pair: pair[1])

    def failed(self) -> list[Job]:
        """Jobs that failed for good, with their `exc_info`."""
        jobs = []
        for name in queue_names(self.app):
            registry = FailedJobRegistry(name, connection=self.redis)
            jobs += [Job.fetch(job_id, connection=self.redis) for job_id in registry.get_job_ids()]
        return jobs
