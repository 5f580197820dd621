"""Hole 13 of issue 15 (the first bug of issue 16, item 3): an async integration call whose worker is killed
mid-call is retried (RQ retries, at least once); once its last try fails too, the step's onError runs, once,
and the integration log says the call was given up. What the visitor sees: the onError dialog's message in
the webchat's poll.

A real worker (`flask --app app worker`) is killed with SIGKILL while the outside API holds its request, then
RQ's cleanup finds the job abandoned (as the next worker's maintenance would) and retries it or runs its
failure callback. Helpers come from tests/background/test_crash.py and tests/integrations/test_async.py."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from rq.job import Job
from rq.registry import StartedJobRegistry
from sqlalchemy import select
from werkzeug import Response

sys.path[:0] = [str(Path(__file__).resolve().parents[1] / folder) for folder in ("api", "background", "integrations")]
from directline_client import DL, bearer, secret_of, texts  # noqa: E402
from test_async import hook_bot  # noqa: E402
from test_crash import ROOT, children, until, worker_env  # noqa: E402

from runtime.extensions import db  # noqa: E402
from runtime.integrations import runner  # noqa: E402
from runtime.jobs import connection, queue, queue_names  # noqa: E402
from runtime.store.bots import import_bot  # noqa: E402
from runtime.store.integration_log import IntegrationLogEntry  # noqa: E402
from runtime.store.models import BotUser  # noqa: E402

SORRY = "We could not pass that on yet."


@pytest.fixture
def app_config():
    return {"OUTBOUND_ALLOW_HOSTS": "127.0.0.1 ::1"}


@pytest.fixture
def api():
    """The outside API on loopback, threaded: a request it holds does not block the next one."""
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.clear()
    server.stop()


class Visitor:
    """A webchat visitor on Direct Line: the conversation started with the bot's secret, then polled."""

    def __init__(self, app, client):
        started = client.post(f"{DL}/conversations", headers=bearer(secret_of(app, "calls")),
                              json={"user": {"id": "dl_eva"}})
        assert started.status_code in (200, 201), started.get_json()
        self.client, self.token = client, started.get_json()["token"]
        self.url = f"{DL}/conversations/{started.get_json()['conversationId']}/activities"
        self.watermark = ""

    def poll(self) -> list[str]:
        answer = self.client.get(f"{self.url}?watermark={self.watermark}", headers=bearer(self.token)).get_json()
        self.watermark = answer["watermark"] or self.watermark
        return texts(answer["activities"])

    def say(self, text: str) -> list[str]:
        posted = self.client.post(self.url, headers=bearer(self.token),
                                  json={"type": "message", "text": text, "from": {"id": "dl_eva", "role": "user"}})
        assert posted.status_code == 200, posted.get_json()
        return self.poll()


def gave_email(app, client, api) -> Visitor:
    """The bot published, a visitor who answered its question: the async call is queued, not yet made."""
    with app.app_context():
        import_bot(hook_bot(api.url_for("/hook"), {"action": "dialog", "dialog": "hook-down"}), publish=True)
    visitor = Visitor(app, client)
    assert visitor.poll() == ["E-mail?"]
    assert visitor.say("eva@example.com") == ["Thanks, we will be in touch.", "Anything else?"]
    return visitor


def the_job(app) -> Job:
    [job] = queue("default", app).get_jobs()
    assert job.func_name == "runtime.integrations.runner.run_async"
    return job


def killed_mid_call(app, api, jobs, *, only_the_horse: bool = False) -> None:
    """A real worker takes the job and is killed (SIGKILL, it and its work horse) while the API holds the call.
    With `only_the_horse`, the job's process alone is killed (as the OOM killer would), the worker lives on
    until it has handled the job's failure (the callback, then the failed registry)."""
    arrived, release = threading.Event(), threading.Event()

    def hold(request):
        arrived.set()
        release.wait(60)
        return Response("{}", status=200, content_type="application/json")

    api.expect_ordered_request("/hook", method="POST").respond_with_handler(hold)
    worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "worker"], env=worker_env(app),
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert arrived.wait(120), f"the worker never called: {[job.exc_info for job in jobs.failed()]}, " \
                                  f"scheduled {jobs.scheduled()}"
        if only_the_horse:
            [horse] = [pid for pid in children(worker.pid) if os.getpgid(pid) == pid]  # RQ's horse: a group of its own
            os.kill(horse, signal.SIGKILL)
            release.set()
            until(jobs.failed)
    finally:
        for pid in [*children(worker.pid), worker.pid]:
            os.kill(pid, signal.SIGKILL)
        worker.wait()
        release.set()


def clean_up(app) -> None:
    """What RQ's maintenance does once the dead worker's heartbeat has run out (in the app, as a worker is)."""
    later = (datetime.now(UTC) + timedelta(hours=1)).timestamp()
    with app.app_context():
        for name in queue_names(app):
            StartedJobRegistry(name, connection=connection(app)).cleanup(timestamp=later)


def log_errors(app) -> list[str | None]:
    with app.app_context():
        return list(db.session.scalars(select(IntegrationLogEntry.error).order_by(IntegrationLogEntry.id)))


def storage(app) -> dict:
    with app.app_context():
        return db.session.get(BotUser, ("calls", "dl_eva")).data


def test_a_call_whose_worker_died_is_made_again_and_its_output_lands(app, client, api, jobs, clock):
    visitor = gave_email(app, client, api)
    killed_mid_call(app, api, jobs)
    clean_up(app)
    [(job_id, _)] = jobs.scheduled()  # retried after its back-off, not failed
    api.expect_ordered_request("/hook", method="POST").respond_with_json({"ok": True})
    assert jobs.drain(until=clock.later(seconds=runner.RETRY.intervals[0] + 1)) == 1
    assert len(api.log) == 2 and storage(app)["handedOver"] == {"status": 200}
    assert log_errors(app) == [None]  # the killed try logged nothing; the second its exchange
    assert visitor.poll() == [] and jobs.failed() == []


def test_a_call_given_up_on_its_last_try_starts_the_on_error_dialog(app, client, api, jobs):
    visitor = gave_email(app, client, api)
    job = the_job(app)
    job.retries_left = 0  # its last try (driving it through every try would only repeat the kill)
    job.save()
    killed_mid_call(app, api, jobs)
    clean_up(app)
    assert visitor.poll() == [SORRY, "Anything else?"]
    assert log_errors(app) == ["Given up after 1 try: the worker running it stopped before the call ended."]
    assert "handedOver" not in storage(app) and jobs.scheduled() == []
    [failed] = jobs.failed()
    assert failed.id == job.id


def test_a_call_whose_work_horse_alone_died_on_its_last_try_starts_the_on_error_dialog(app, client, api, jobs):
    """RQ runs no failure callback when only the work horse dies; Arbor's worker does (runtime/jobs/worker.py)."""
    visitor = gave_email(app, client, api)
    job = the_job(app)
    job.retries_left = 0
    job.save()
    killed_mid_call(app, api, jobs, only_the_horse=True)
    assert visitor.poll() == [SORRY, "Anything else?"]
    assert log_errors(app) == ["Given up after 1 try: the worker running it stopped before the call ended."]
    [failed] = jobs.failed()
    assert failed.id == job.id


def test_a_job_that_raises_on_every_try_runs_on_error_once(app, client, api, jobs, clock, monkeypatch):
    visitor = gave_email(app, client, api)
    tries = []

    def broken(*args):
        tries.append(args)
        raise RuntimeError("the database went away")

    monkeypatch.setattr(runner, "call", broken)
    jobs.drain()
    for interval in runner.RETRY.intervals:  # each retry after its back-off; the callback runs on every try
        assert visitor.poll() == [] and log_errors(app) == []
        assert jobs.drain(until=clock.later(seconds=interval + 1)) == 1
    assert len(tries) == 4 and api.log == []
    assert visitor.poll() == [SORRY, "Anything else?"]
    assert log_errors(app) == ["Given up after 4 tries: the job raised RuntimeError (the worker's log has the "
                               "traceback)."]
    assert len(jobs.failed()) == 1 and jobs.scheduled() == []
