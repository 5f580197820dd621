"""The worker: `flask --app app worker` for deployments, and the one `python app.py` starts beside the web server.

RQ's worker forks a work horse per job. The horse inherits the app (built once, here) but must not share
the parent's database connections, so the pool is dropped in the child right after the fork.
"""

from __future__ import annotations

import atexit
import os
import subprocess
import sys

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from rq import Worker

from runtime.extensions import db
from runtime.jobs import context, periodic
from runtime.jobs.queue import connection, queue_names, redis_url


def run(app: Flask, *, burst: bool = False) -> None:
    """Work the app's queues, with RQ's scheduler for timers and retries, until stopped (or emptied: `burst`)."""
    context.use_app(app)
    with app.app_context():
        engine = db.engine
    os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))
    worker = Worker(queue_names(app), connection=connection(app))
    if not burst:
        periodic.start(app)
    worker.work(burst=burst, with_scheduler=True, logging_level=app.config.get("WORKER_LOG_LEVEL", "INFO"))


def start_beside(app: Flask) -> subprocess.Popen:
    """Start a worker process for the same data folder and settings; it is stopped when this process exits.

    The embedded Redis is started here first and the worker is told its socket, so the two share it.
    """
    env = {**os.environ, "ARBOR_DATA": app.config["ARBOR_DATA"], "REDIS_URL": redis_url(app)}
    if app.config.get("DATABASE_URL"):
        env["DATABASE_URL"] = app.config["DATABASE_URL"]
    worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "worker"], env=env,
                              cwd=app.root_path)
    atexit.register(_stop, worker)
    return worker


def _stop(worker: subprocess.Popen) -> None:
    """Ask the worker to finish its job (SIGTERM is RQ's warm shutdown), then insist."""
    if worker.poll() is None:
        worker.terminate()
        try:
            worker.wait(timeout=10)
        except subprocess.TimeoutExpired:
            worker.kill()


@click.command("worker")
@click.option("--burst", is_flag=True, help="Run the jobs queued now, then stop.")
@with_appcontext
def worker_command(burst: bool) -> None:
    """Run a background worker (jobs, timers, retries) for this app's Redis and database."""
    run(current_app._get_current_object(), burst=burst)
