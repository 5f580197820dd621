"""The worker: `flask --app app worker` for deployments, and the one `python app.py` starts beside the web server.

RQ's worker forks a work horse per job. The horse inherits the app (built once, here) but must not share
the parent's database connections, so the pool is dropped in the child right after the fork.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
import sys

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from rq import Worker
from rq.callbacks import execute_failure_callback
from rq.exceptions import AbandonedJobError

from runtime.extensions import db
from runtime.jobs import context, periodic
from runtime.jobs.lifetime import die_with_parent
from runtime.jobs.queue import connection, queue_names, redis_url

STOP_SECONDS = 10  # a warm shutdown lets the running job finish; past this it is killed (RQ retries it)


# How long the worker's command listener (RQ's pubsub thread: stop-job and shutdown commands) waits for a
# message before it looks whether it should stop. RQ waits 60 s, and since redis-py 8 stopping the thread waits
# for that wait to end: every worker, burst or not, took a minute to stop.
LISTEN_SECONDS = 1.0


class QuickToStop:
    """A worker whose command listener stops within `LISTEN_SECONDS`."""

    def subscribe(self) -> None:
        self.pubsub = self.connection.pubsub()
        self.pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
        self.pubsub_thread = self.pubsub.run_in_thread(sleep_time=LISTEN_SECONDS, daemon=True,
                                                       exception_handler=self._pubsub_exception_handler)


class ArborWorker(QuickToStop, Worker):
    """RQ's forking worker, quick to stop, running a job's failure callback when its work horse dies.

    RQ runs the callback when a job raises, and when `StartedJobRegistry.cleanup` finds a job whose whole worker
    died, but not when only the work horse dies (the kernel's OOM killer, the monitor's kill of a horse far past
    its timeout): that job was retried or failed with no callback. Here it gets one, as cleanup gives it, before
    RQ decides whether to retry (an async integration call follows its onError after the last try).
    """

    def handle_work_horse_killed(self, job, retpid, ret_val, rusage) -> None:
        super().handle_work_horse_killed(job, retpid, ret_val, rusage)
        try:
            execute_failure_callback(job, self.death_penalty_class, AbandonedJobError, AbandonedJobError(), None)
        except Exception:  # logged by RQ; the job must still be retried or failed
            pass


def run(app: Flask, *, burst: bool = False) -> None:
    """Work the app's queues, with RQ's scheduler for timers and retries, until stopped (or emptied: `burst`)."""
    context.use_app(app)
    with app.app_context():
        engine = db.engine
    os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))
    worker = ArborWorker(queue_names(app), connection=connection(app))
    if not burst:
        periodic.start(app)
    worker.work(burst=burst, with_scheduler=True, logging_level=app.config.get("WORKER_LOG_LEVEL", "INFO"))


def start_beside(app: Flask) -> subprocess.Popen:
    """Start a worker process for the same data folder, settings and Redis; it stops when this process exits.

    It runs in a process group of its own, with its work horse and RQ's scheduler (both forked by it), so that
    stopping it reaches them all, and it gets SIGTERM from the kernel if this process is killed outright.
    """
    env = {"WORKER_LOG_LEVEL": "WARNING",  # the terminal is the newcomer's: jobs that went well are not news
           **os.environ, "ARBOR_DATA": app.config["ARBOR_DATA"], "REDIS_URL": redis_url(app)}
    if app.config.get("DATABASE_URL"):
        env["DATABASE_URL"] = app.config["DATABASE_URL"]
    worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "worker"], env=env,
                              cwd=app.root_path, process_group=0, preexec_fn=die_with_parent)
    atexit.register(stop_beside, worker)
    return worker


def stop_beside(worker: subprocess.Popen) -> None:
    """Ask the worker to finish its job (SIGTERM is RQ's warm shutdown), then kill what is left of its group."""
    if worker.poll() is None:
        worker.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            worker.wait(timeout=STOP_SECONDS)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()


@click.command("worker")
@click.option("--burst", is_flag=True, help="Run the jobs queued now, then stop.")
@with_appcontext
def worker_command(burst: bool) -> None:
    """Run a background worker (jobs, timers, retries) for this app's Redis and database."""
    run(current_app._get_current_object(), burst=burst)
