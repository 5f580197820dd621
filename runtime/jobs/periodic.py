"""Jobs that run every so often (the webhook sweeper, dataset pulls), once per interval however many workers.

Each worker process runs a small thread that, every few seconds, queues each periodic job whose interval
has passed; a Redis key set with NX and the interval as expiry lets one worker of the whole deployment do
it per interval. A thread rather than RQ's separate `rq cron` process, so `flask --app app worker` (and
`python app.py`) need nothing else; and it keeps trying while Redis is away, so a restarted Redis gets
its periodic jobs again without restarting the workers.
"""

from __future__ import annotations

import logging
import threading

from flask import Flask
from redis.exceptions import RedisError

from runtime.jobs.queue import connection, enqueue

log = logging.getLogger(__name__)
CHECK_EVERY = 5.0  # seconds


def every(app: Flask, function: str, seconds: int, queue_name: str = "default") -> None:
    """Run `function` (a dotted path, no arguments) every `seconds` while a worker of this app runs."""
    app.extensions.setdefault("arbor.periodic", {})[function] = (seconds, queue_name)


def queue_due(app: Flask) -> list[str]:
    """Queue the periodic jobs whose interval has passed since any worker last queued them; their names."""
    queued = []
    with app.app_context():
        redis = connection(app)
        for function, (seconds, queue_name) in app.extensions.get("arbor.periodic", {}).items():
            key = f"arbor:{app.config['ARBOR_REDIS_PREFIX']}periodic:{function}"
            if redis.set(key, "1", nx=True, ex=seconds):
                enqueue(function, queue_name=queue_name)
                queued.append(function)
    return queued


def start(app: Flask, stop: threading.Event | None = None) -> threading.Thread:
    """The worker's thread that queues periodic jobs until `stop` is set (or the process ends)."""
    stop = stop or threading.Event()

    def loop() -> None:
        while not stop.wait(CHECK_EVERY):
            try:
                queue_due(app)
            except RedisError as e:
                log.warning("periodic jobs: Redis unavailable (%s); trying again", e)
            except Exception:
                log.exception("periodic jobs: could not queue")

    thread = threading.Thread(target=loop, name="arbor-periodic", daemon=True)
    thread.start()
    return thread
