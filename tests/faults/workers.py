"""A real background worker (`flask --app app worker`) killed with SIGKILL mid-job, and the restart that follows.

The worker runs in a process group of its own (RQ's work horse and scheduler with it) and is killed whole.
What a restarted worker does then runs in the test's process on the test's clock (tests/jobs.py), as the
existing crash tests do: RQ's maintenance finds the dead worker's job abandoned (and retries or fails it),
the dead sender's Redis lock runs out, the periodic sweepers run, and every job due in the next hours runs.
Nothing waits for the wall clock but `until`, whose deadline only stops a hang.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask import Flask
from rq import Queue, Worker
from rq.registry import StartedJobRegistry

from runtime.jobs import connection, periodic, queue_names
from runtime.jobs.lifetime import die_with_parent

ROOT = Path(__file__).resolve().parents[2]
DEADLINE = 90.0  # seconds anything may take to happen; only a guard against a hang


def until(what: str, condition, seconds: float = DEADLINE):
    """Wait for a condition another process brings about; its first true value. Not a timed assertion: the
    deadline only stops a hang, and says what never came."""
    deadline = time.monotonic() + seconds
    while not (found := condition()):
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)
    return found


def child_env(app: Flask) -> dict:
    """The environment of a process of the test app: its data folder, database, Redis and prefix."""
    env = {**os.environ, "ARBOR_DATA": app.config["ARBOR_DATA"], "REDIS_URL": app.config["REDIS_URL"],
           "ARBOR_REDIS_PREFIX": app.config["ARBOR_REDIS_PREFIX"], "SECRET_KEY": app.config["SECRET_KEY"],
           "OUTBOUND_ALLOW_HOSTS": "127.0.0.1 ::1", "WORKER_LOG_LEVEL": "WARNING"}
    options = app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}).get("connect_args", {}).get("options")
    if options:  # PostgreSQL: the test's own schema, through libpq's environment
        env["PGOPTIONS"] = options
        env["DATABASE_URL"] = app.config["DATABASE_URL"]
    else:
        env.pop("DATABASE_URL", None)
    return env


class RealWorker:
    """`flask --app app worker` for the test app, its output in a log file."""

    def __init__(self, app: Flask, log: Path):
        self.app, self.log = app, log
        with open(log, "wb") as out:
            self.popen = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "worker"],
                                          env=child_env(app), cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                          stdin=subprocess.DEVNULL, start_new_session=True,
                                          preexec_fn=die_with_parent)

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""

    def alive(self) -> bool:
        assert self.popen.poll() is None, f"the worker stopped:\n{self.tail()}"
        return True

    def registered(self) -> bool:
        self.alive()
        queue = Queue(queue_names(self.app)[0], connection=connection(self.app))
        return any(worker.pid == self.popen.pid for worker in Worker.all(queue=queue))

    def kill(self) -> None:
        """SIGKILL to the worker, its work horse and its scheduler at once: nothing of them runs on."""
        horses = _horses(self.popen.pid)  # RQ's work horse has a session of its own; read before its parent dies
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        for pid in horses:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.popen.wait(30)


def _horses(pid: int) -> list[int]:
    found = []
    with contextlib.suppress(FileNotFoundError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(FileNotFoundError):
                found += [int(p) for p in (task / "children").read_text().split()]
    return found


def started_jobs(app: Flask) -> list[str]:
    """The ids of the jobs a worker has taken and not finished."""
    redis = connection(app)
    return [job for name in queue_names(app) for job in StartedJobRegistry(name, connection=redis).get_job_ids()]


def restart(app: Flask, jobs, clock, *, conversation: str | None = None) -> None:
    """What follows a dead worker, on the test's clock: RQ's maintenance takes its abandoned jobs back (a retry,
    or the failed registry and the job's failure callback), the Redis locks it held for `conversation` (a
    webhook or platform sender's) run out, then ten hours of a worker's life run: the periodic sweepers and
    every job as it comes due."""
    redis = connection(app)
    later = (datetime.now(UTC) + timedelta(hours=1)).timestamp()
    with app.app_context():
        for name in queue_names(app):
            StartedJobRegistry(name, connection=redis).cleanup(timestamp=later)
    for key in redis.scan_iter(f"arbor:webhook-sender:*:{conversation}") if conversation else ():
        redis.pexpire(key, 1)  # a lock's time to live is wall-clock time in Redis: it runs out now
    for step in (1, 5, 60, 360):
        for key in redis.scan_iter(f"arbor:{app.config['ARBOR_REDIS_PREFIX']}periodic:*"):
            redis.delete(key)  # the sweepers' interval passed too
        periodic.queue_due(app)
        jobs.drain(until=datetime.now(UTC) + timedelta(minutes=step))
