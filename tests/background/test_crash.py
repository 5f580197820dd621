"""At least once: a worker killed with SIGKILL in the middle of a delivery, then the delivery is made again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rq.registry import StartedJobRegistry
from test_webhooks import bot, chat, log, subscribe  # noqa: F401 (bot is a fixture)
from werkzeug import Response

from runtime.jobs import connection, queue_names

ROOT = Path(__file__).resolve().parents[2]


def worker_env(app) -> dict:
    env = {**os.environ, "ARBOR_DATA": app.config["ARBOR_DATA"], "REDIS_URL": app.config["REDIS_URL"],
           "ARBOR_REDIS_PREFIX": app.config["ARBOR_REDIS_PREFIX"], "SECRET_KEY": app.config["SECRET_KEY"],
           "OUTBOUND_ALLOW_HOSTS": "127.0.0.1 ::1"}
    options = app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}).get("connect_args", {}).get("options")
    if options:  # PostgreSQL: the test's own schema, through libpq's environment
        env["PGOPTIONS"] = options
    else:
        env.pop("DATABASE_URL", None)
    return env


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(p) for p in (task / "children").read_text().split()]
    return found


def until(condition, seconds: float = 60) -> None:
    """Wait for a condition another process brings about (not a timed assertion: the bound only stops a hang)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.05)


def test_a_delivery_killed_mid_flight_is_made_again_with_the_same_webhook_id(app, bot, jobs, receiver):  # noqa: F811
    made = subscribe(app, receiver, ["message.received"])
    arrived = threading.Event()

    def hang():
        arrived.set()
        receiver.release.wait(60)
        return Response("", status=200)

    receiver.answers = [hang]
    chat(app)
    worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "worker"], env=worker_env(app),
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert arrived.wait(120), "the worker never posted"
    finally:
        for pid in [*children(worker.pid), worker.pid]:  # the work horse (in a session of its own) and the worker
            os.kill(pid, signal.SIGKILL)
        worker.wait()
    receiver.release.set()
    entry, = log(app, made)
    assert entry["status"] == "pending" and entry["attempts"] == []  # nothing decided it: still owed

    redis = connection(app)
    until(lambda: not redis.keys("arbor:webhook-sender:*"))  # the dead sender's lock runs out
    later = datetime.now(UTC) + timedelta(hours=1)
    for name in queue_names(app):  # what RQ's maintenance does once the job's heartbeat has expired
        StartedJobRegistry(name, connection=redis).cleanup(timestamp=later.timestamp())
    jobs.drain(until=later)
    assert len(receiver.requests) == 2 and len(set(receiver.ids)) == 1
    assert [d["status"] for d in log(app, made)] == ["delivered"]
