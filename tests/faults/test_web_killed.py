"""The web worker killed with SIGKILL mid-turn: gunicorn as the README's production section runs it (the shipped
gunicorn.conf.py, one worker), whose arbiter starts a new worker, and a visitor who sends the message again with
the same clientActivityID, as the widget's "Not sent. Retry" does.

The kill lands after the turn committed and before its effects were handed on: the test's own Redis is paused
for writes (CLIENT PAUSE WRITE), so the worker waits there, holding the visitor's request, until it is killed.
Every turn must be stored once and every webhook and e-mail it owes (tests/faults/owed.py) go out once.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import requests
import sqlalchemy as sa
from owed import count_effects, set_up
from visitor import Visitor
from workers import ROOT, child_env, restart, until

from runtime.channels.directline.secret import reveal
from runtime.extensions import db
from runtime.jobs import embedded
from runtime.jobs.lifetime import die_with_parent
from runtime.store.bots import import_bot
from runtime.turns.transcript import transcript
from tests.listening import HeldPort

pytestmark = pytest.mark.skipif(importlib.util.find_spec("gunicorn") is None,
                                reason="gunicorn is not installed (requirements-test.txt has it)")


@pytest.fixture
def own_redis(tmp_path) -> Iterator[embedded.EmbeddedRedis]:
    """A Redis of this test's own: pausing it stops nobody else's tests."""
    server = embedded.start(tmp_path / "redis-data")
    yield server
    server.stop()


@pytest.fixture
def app_config(own_redis):
    return {"OUTBOUND_ALLOW_HOSTS": "127.0.0.1 ::1", "REDIS_URL": own_redis.url}


class Gunicorn:
    """`gunicorn 'app:create_app()'` on a free loopback port, reading ./gunicorn.conf.py, on the test app's data
    folder, database and Redis."""

    def __init__(self, app, log: Path):
        port = HeldPort()
        env = {**child_env(app), "WEB_CONCURRENCY": "1", "ARBOR_THREADS": "50", "ARBOR_BIND": port.bind}
        self.log = log
        with open(log, "wb") as out:
            self.popen = subprocess.Popen([sys.executable, "-m", "gunicorn", "app:create_app()"], cwd=ROOT, env=env,
                                          stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                          preexec_fn=die_with_parent, pass_fds=port.pass_fds)
        port.close()
        self.url = port.url

    def healthy(self) -> bool:
        assert self.popen.poll() is None, f"gunicorn stopped:\n{self.log.read_text(errors='replace')[-3000:]}"
        with contextlib.suppress(requests.RequestException):
            return requests.get(f"{self.url}/healthz", timeout=5).status_code == 200
        return False

    def workers(self) -> set[int]:
        """The arbiter's worker processes (one, but for the moment a killed one is being replaced)."""
        return {int(p) for task in Path(f"/proc/{self.popen.pid}/task").iterdir()
                for p in (task / "children").read_text().split()}

    def replaced(self, killed: int) -> bool:
        return self.healthy() and bool(self.workers()) and killed not in self.workers()

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(30)


def inbound_turns(app, conversation_id: str) -> int:
    with app.app_context():
        return db.session.execute(sa.text("SELECT count(*) FROM transcript_entries WHERE conversation_id = :c "
                                          "AND direction = 'in'"), {"c": conversation_id}).scalar()


def test_the_web_worker_killed_mid_turn(app, tmp_path, own_redis, outside, smtp, jobs, clock, tally):
    count = tally("web worker (gunicorn) killed mid-turn")
    controller, inbox = smtp
    secret = set_up(app, outside, controller.port)
    web = Gunicorn(app, tmp_path / "gunicorn.log")
    try:
        until("gunicorn to answer /healthz", web.healthy)
        visitor = Visitor(web.url, secret, "dl_web")
        visitor.say("dl_web first")
        redis_ = redis.Redis.from_url(own_redis.url)
        [worker] = web.workers()
        redis_.execute_command("CLIENT", "PAUSE", 60_000, "WRITE")
        try:
            sending = threading.Thread(target=visitor.say, args=("dl_web killed mid-turn",))
            sending.start()
            until("the turn to commit while its effects wait for Redis",
                  lambda: inbound_turns(app, visitor.conversation_id) == 2)
            os.kill(worker, signal.SIGKILL)
        finally:
            redis_.execute_command("CLIENT", "UNPAUSE")
        sending.join(120)
        until("the arbiter to start a new worker", lambda: web.replaced(worker))
        visitor.say("dl_web after")
        visitor.count_turns(count)
    finally:
        web.stop()
    restart(app, jobs, clock)
    count.note = count_effects(count, visitor.sent, outside, inbox) + f"; resent: {dict(visitor.refusals)}"
    assert visitor.refusals["no answer"], "the killed turn's request was answered: the kill did not land mid-turn"
    assert count.clean(), count


SYNC_BOT = {"format": 1, "id": "lookup", "name": "Lookup", "start": "main", "dialogs": [{"id": "main", "steps": [
    {"id": "q", "type": "question", "text": "Order number?", "storage": "said"},
    {"id": "call", "type": "integration", "use": "crm", "timing": "sync", "output": "found",
     "params": {"data": {"order": "{{ said }}"}}},
    {"id": "m", "type": "message", "text": "Checked {{ said }}."},
    {"id": "g", "type": "goto", "dialog": "main", "mode": "jump"}]}]}


def test_the_web_worker_killed_during_a_sync_integration_call(app, tmp_path, outside, jobs, clock, tally):
    """The call is owed in the turns' outbox: the visitor's resend gets the turn's first answer back, and the relay
    hands the call to a worker, which makes it again under the same Idempotency-Key and applies its result."""
    count = tally("web worker (gunicorn) killed during a sync integration call")
    with app.app_context():
        crm = {"template": "webhook", "config": {"url": outside.url("/crm")}}
        import_bot({**SYNC_BOT, "integrations": {"crm": crm}}, publish=True)
        secret = reveal("lookup")[0]
    web = Gunicorn(app, tmp_path / "gunicorn.log")
    try:
        until("gunicorn to answer /healthz", web.healthy)
        visitor = Visitor(web.url, secret, "dl_sync")
        [worker] = web.workers()
        outside.hold("/crm")
        sending = threading.Thread(target=visitor.say, args=("A-1",))
        sending.start()
        until("the outside API to hold the call", outside.arrived.is_set)
        os.kill(worker, signal.SIGKILL)
        outside.release.set()
        sending.join(120)
        until("the arbiter to start a new worker", lambda: web.replaced(worker))
        visitor.count_turns(count)
    finally:
        web.stop()
    restart(app, jobs, clock)
    with app.app_context():
        said = [a.get("text") for a in transcript(visitor.conversation_id) if a["from"].get("role") == "bot"]
    requests_ = outside.to("/crm")
    keys = {headers.get("Idempotency-Key") for headers, _ in requests_}
    count.owed, count.done = 1, min(said.count("Checked A-1."), 1)
    count.doubled = max(said.count("Checked A-1.") - 1, 0) + max(outside.calls("/crm") - 1, 0)
    count.note = (f"the outside API got {len(requests_)} requests under {len(keys)} Idempotency-Key; resent: "
                  f"{dict(visitor.refusals)}")
    assert count.clean(), count
