"""More than one server (issue 17, item 6): two Arbor web processes and two workers on one database and one Redis.

Four real processes, as docs/configuration.md ("Running at scale") lays them out: two gunicorns started with
the shipped gunicorn.conf.py (threaded workers, WEB_CONCURRENCY=1 each) on two loopback ports, and two
`flask --app app worker`s; each with a data folder of its own, and the same SECRET_KEY, DATABASE_URL and
REDIS_URL. The database is a fresh PostgreSQL schema when DATABASE_URL names PostgreSQL, else one SQLite file
in a temp folder; Redis is the suite's (REDIS_URL or the embedded one) with a prefix of this module's own.
The bot, its Direct Line secret and a function key are made beforehand, in this process, on that database.

    .venv/bin/python -m pytest tests/channels/test_two_servers.py -q -p no:xdist
    DATABASE_URL=postgresql://root@127.0.0.1:5432/test REDIS_URL=redis://127.0.0.1:6379/0 \
        .venv/bin/python -m pytest tests/channels/test_two_servers.py -q -p no:xdist

Nothing about speed is asserted: every wait has a generous deadline and says what it waited for.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from simple_websocket import Client

from runtime.jobs.lifetime import die_with_parent
from tests.listening import HeldPort

ROOT = Path(__file__).resolve().parents[2]
DL = "/v3/directline"
WAIT = 30.0  # seconds anything may take to happen; a deadline, never a measurement
SETTLE = 3.0  # seconds to keep watching after something arrived, for a second copy of it
POSTGRES_URL = os.environ.get("DATABASE_URL", "")
POSTGRES_URL = POSTGRES_URL if POSTGRES_URL.startswith(("postgres://", "postgresql")) else None
BOT_ID = "relay"
BOT = {"format": 1, "id": BOT_ID, "name": "Relay", "locale": "en", "start": "talk", "dialogs": [
    {"id": "talk", "title": "Talk", "steps": [
        {"id": "r1", "type": "question", "text": "Say something.", "storage": "said"},
        {"id": "r2", "type": "condition", "branches": [
            {"when": "said == 'wait'", "steps": [
                {"id": "r3", "type": "wait", "timeout": 1,  # the shortest timer the schema allows
                 "onTimeout": [{"id": "r4", "type": "message", "text": "Time is up."}]}]},
            {"when": "said == 'person'", "steps": [
                {"id": "r5", "type": "handover", "text": "Connecting you with a person..."}]}],
         "else": [{"id": "r6", "type": "message", "text": "You said: {{ said }}"}]},
        {"id": "r7", "type": "goto", "dialog": "talk", "mode": "jump"}]}]}
ASK = "Say something."
ALICE = {"agent": {"id": "a-17", "name": "Alice"}}
BOB = {"agent": {"id": "b-3", "name": "Bob"}}

pytestmark = pytest.mark.skipif(importlib.util.find_spec("gunicorn") is None,
                                reason="gunicorn is not installed (requirements-test.txt has it)")


def wait_for(what: str, probe: Callable[[], object], *, timeout: float = WAIT, logs: Callable[[], str] = str):
    """`probe()`'s first true answer, asked every 0.1 s; past the deadline the test fails saying `what`."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"waited {timeout:.0f} s for {what}{logs()}")
        time.sleep(0.1)


# --- processes -----------------------------------------------------------------------------------------

class Process:
    """A child in a process group of its own (gunicorn's workers, RQ's work horse and scheduler with it), its
    output in a log file; `stop` terminates the group, then kills what is left of it. Should pytest itself be
    killed, the kernel sends the child SIGTERM (`die_with_parent`), and it stops its own children."""

    def __init__(self, name: str, command: list[str], env: dict, log: Path, port: HeldPort | None = None):
        self.name, self.log = name, log
        with open(log, "wb") as out:
            self.popen = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                          stdin=subprocess.DEVNULL, start_new_session=True,
                                          preexec_fn=die_with_parent, pass_fds=port.pass_fds if port else ())
        if port:
            port.close()  # the child holds it now

    def alive(self) -> bool:
        return self.popen.poll() is None

    def tail(self, chars: int = 2500) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return f"\n--- {self.name} ({'running' if self.alive() else f'exited {self.popen.returncode}'}) ---\n" \
               f"{text[-chars:]}"

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGTERM)  # gunicorn's graceful stop, RQ's warm shutdown
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=20)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)  # the leader, or children it left behind
        self.popen.wait(timeout=10)


@dataclass
class Arbor:
    """Two web processes (`a`, `b`: their base URLs), two workers, and what the test needs to call them."""

    secret: str  # the bot's Direct Line secret
    key: str  # the bot's function key
    prefix: str  # ARBOR_REDIS_PREFIX
    redis_url: str
    processes: list[Process] = field(default_factory=list)
    a: str = ""
    b: str = ""

    def logs(self) -> str:
        return "".join(process.tail() for process in self.processes)

    def check_running(self) -> None:
        dead = [process for process in self.processes if not process.alive()]
        assert not dead, f"{', '.join(p.name for p in dead)} stopped{self.logs()}"

    def management(self, base: str, method: str, path: str, body: dict | None = None) -> requests.Response:
        return requests.request(method, f"{base}/b/{BOT_ID}/api/management{path}", json=body, timeout=WAIT,
                                headers={"x-functions-key": self.key})


def child_env(**settings: str) -> dict:
    """This process's environment without Arbor's own settings (the test's DATABASE_URL among them), plus
    `settings`."""
    from app import ENVIRONMENT
    env = {k: v for k, v in os.environ.items() if k not in ENVIRONMENT and k not in ("WEB_CONCURRENCY", "ARBOR_BIND")}
    env.update(settings)
    return env


@pytest.fixture(scope="module")
def database_url(tmp_path_factory) -> Iterator[str]:
    """One database for all four processes: a new PostgreSQL schema (dropped after), or a SQLite file."""
    if POSTGRES_URL is None:
        yield f"sqlite:///{tmp_path_factory.mktemp('shared') / 'arbor.db'}"
        return
    import psycopg
    plain = POSTGRES_URL.replace("postgres://", "postgresql://", 1).replace("postgresql+psycopg://", "postgresql://")
    schema = f"two_servers_{uuid.uuid4().hex}"
    with psycopg.connect(plain, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{plain}{'&' if '?' in plain else '?'}options={quote(f'-csearch_path={schema}')}"
    finally:
        with psycopg.connect(plain, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


def prepare(data: Path, settings: dict) -> tuple[str, str]:
    """The database migrated, the bot imported and published, in this process; its secret and a function key."""
    from app import create_app
    from runtime.channels.directline.secret import reveal
    from runtime.extensions import db
    from runtime.management.keys import create_key
    from runtime.store.bots import import_bot

    app = create_app({"ARBOR_DATA": str(data), **settings})
    with app.app_context():
        import_bot(BOT, publish=True)
        secret, key = reveal(BOT_ID)[0], create_key(BOT_ID, "two-servers")[1]
        db.session.remove()
        db.engine.dispose()
    return secret, key


def registered_workers(arbor: Arbor) -> int:
    """How many RQ workers listen on this Arbor's queues (they register in Redis once they work)."""
    import redis
    from rq import Queue, Worker
    with redis.Redis.from_url(arbor.redis_url) as connection:
        return len(Worker.all(queue=Queue(f"{arbor.prefix}default", connection=connection)))


@pytest.fixture(scope="module")
def arbor(tmp_path_factory, database_url, redis_url) -> Iterator[Arbor]:
    folder = tmp_path_factory.mktemp("two-servers")
    prefix = f"two{uuid.uuid4().hex[:10]}:"
    settings = {"SECRET_KEY": secrets.token_urlsafe(32), "DATABASE_URL": database_url, "REDIS_URL": redis_url,
                "ARBOR_REDIS_PREFIX": prefix, "OUTBOUND_ALLOW_HOSTS": "127.0.0.1"}
    secret, key = prepare(folder / "prepare", settings)
    made = Arbor(secret, key, prefix, redis_url)
    try:
        for name in ("a", "b"):
            port = HeldPort()
            env = child_env(**settings, ARBOR_DATA=str(folder / f"web-{name}"), WEB_CONCURRENCY="1",
                            ARBOR_BIND=port.bind)
            setattr(made, name, port.url)
            # gunicorn reads ./gunicorn.conf.py (cwd is the repository), as the documented command does
            made.processes.append(Process(f"web {name}", [sys.executable, "-m", "gunicorn", "app:create_app()"], env,
                                          folder / f"web-{name}.log", port))
        for n in (1, 2):
            env = child_env(**settings, ARBOR_DATA=str(folder / f"worker-{n}"), WORKER_LOG_LEVEL="INFO")
            made.processes.append(Process(f"worker {n}", [sys.executable, "-m", "flask", "--app", "app", "worker"],
                                          env, folder / f"worker-{n}.log"))

        def healthy(base: str) -> bool:
            made.check_running()
            with contextlib.suppress(requests.RequestException):
                return requests.get(f"{base}/healthz", timeout=5).status_code == 200
            return False

        for base in (made.a, made.b):
            wait_for(f"{base}/healthz to answer 200", lambda base=base: healthy(base), timeout=60, logs=made.logs)

        def working() -> bool:
            made.check_running()
            return registered_workers(made) == 2

        wait_for("both workers to register with Redis", working, timeout=60, logs=made.logs)
        yield made
    finally:
        for process in reversed(made.processes):
            process.stop()


@pytest.fixture(autouse=True)
def all_running(arbor: Arbor) -> Iterator[None]:
    """Each test starts and ends with all four processes up (one that died says why, in its log)."""
    arbor.check_running()
    yield
    arbor.check_running()


# --- Direct Line, over the wire ------------------------------------------------------------------------

def bearer(credential: str) -> dict:
    return {"Authorization": f"Bearer {credential}"}


def start(base: str, secret: str, user: str) -> dict:
    """A conversation started through `base`: its Conversation object (conversationId, token, streamUrl)."""
    started = requests.post(f"{base}{DL}/conversations", headers=bearer(secret), json={"user": {"id": user}},
                            timeout=WAIT)
    assert started.status_code == 201, started.text
    return started.json()


def say(base: str, conversation: dict, user: str, text: str) -> None:
    posted = requests.post(f"{base}{DL}/conversations/{conversation['conversationId']}/activities",
                           headers=bearer(conversation["token"]), timeout=WAIT,
                           json={"type": "message", "from": {"id": user}, "text": text})
    assert posted.status_code == 200, f"POST to {base}: {posted.status_code} {posted.text}"


def transcript(base: str, conversation: dict) -> list[dict]:
    """Every activity of the conversation, read through `base` (Direct Line polling, from the start)."""
    got = requests.get(f"{base}{DL}/conversations/{conversation['conversationId']}/activities",
                       headers=bearer(conversation["token"]), timeout=WAIT)
    assert got.status_code == 200, f"GET from {base}: {got.status_code} {got.text}"
    return got.json()["activities"]


def texts(activities: list[dict]) -> list[str | None]:
    return [activity.get("text") for activity in activities if activity.get("type") == "message"]


def on(base: str, stream_url: str) -> str:
    """The streamUrl pointed at another server (it is pre-authorized: any server of the deployment takes it)."""
    port = base.rsplit(":", 1)[1]
    scheme_host, rest = stream_url.split(DL, 1)
    return f"{scheme_host.rsplit(':', 1)[0]}:{port}{DL}{rest}"


class Stream:
    """A Direct Line stream held open; `until` reads activity sets until some texts have come."""

    def __init__(self, url: str):
        self.ws = Client.connect(url)
        self.seen: list[str | None] = []

    def until(self, wanted: list[str], what: str, logs: Callable[[], str]) -> list[str | None]:
        deadline = time.monotonic() + WAIT
        while not _contains(self.seen, wanted):
            left = deadline - time.monotonic()
            if left <= 0:
                pytest.fail(f"the stream did not get {wanted} ({what}) in {WAIT:.0f} s; it got {self.seen}{logs()}")
            frame = self.ws.receive(timeout=min(left, 1.0))
            if frame:  # None: nothing yet; "": a keep-alive
                self.seen += texts(json.loads(frame)["activities"])
        return self.seen

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.ws.close()


def _contains(seen: list, wanted: list) -> bool:
    """`wanted` in order within `seen` (other activities may come between)."""
    found = iter(seen)
    return all(any(text == want for text in found) for want in wanted)


@contextlib.contextmanager
def stream(url: str) -> Iterator[Stream]:
    opened = Stream(url)
    try:
        yield opened
    finally:
        opened.close()


# --- the tests -----------------------------------------------------------------------------------------

def test_a_conversation_started_on_one_server_continues_on_the_other(arbor):
    conversation = start(arbor.a, arbor.secret, "dl_two_1")
    assert texts(transcript(arbor.a, conversation)) == [ASK]

    say(arbor.b, conversation, "dl_two_1", "hello from b")
    say(arbor.a, conversation, "dl_two_1", "back on a")
    expected = [ASK, "hello from b", "You said: hello from b", ASK, "back on a", "You said: back on a", ASK]
    for base in (arbor.a, arbor.b):
        assert texts(transcript(base, conversation)) == expected, f"the transcript read through {base}"


@pytest.mark.parametrize("started, held", [("a", "b"), ("b", "a")])
def test_a_message_posted_to_one_server_reaches_a_stream_held_on_the_other(arbor, started, held):
    origin, other = getattr(arbor, started), getattr(arbor, held)
    user = f"dl_two_stream_{started}"
    conversation = start(origin, arbor.secret, user)
    with stream(on(other, conversation["streamUrl"])) as held_stream:
        held_stream.until([ASK], "the greeting", arbor.logs)
        say(origin, conversation, user, f"posted to {started}")
        held_stream.until([f"posted to {started}", f"You said: posted to {started}", ASK],
                          f"a turn posted to server {started}, streamed from server {held}", arbor.logs)


def test_a_timer_fires_once_with_two_workers(arbor):
    conversation = start(arbor.b, arbor.secret, "dl_two_timer")
    say(arbor.a, conversation, "dl_two_timer", "wait")

    def fired() -> bool:
        return "Time is up." in texts(transcript(arbor.b, conversation))

    wait_for("the wait step's 1-second timer to say 'Time is up.'", fired, logs=arbor.logs)
    time.sleep(SETTLE)  # a second firing (the other worker, a retry) would come now
    said = texts(transcript(arbor.a, conversation))
    assert said.count("Time is up.") == 1, f"the timer fired {said.count('Time is up.')} times: {said}"
    assert said == [ASK, "wait", "Time is up.", ASK]


def test_a_webhook_is_delivered_once_with_two_workers(arbor, receiver):
    made = arbor.management(arbor.a, "POST", "/webhooks",
                            {"url": receiver.url, "events": ["message.received", "message.sent"]})
    assert made.status_code == 201, made.text
    subscription = made.json()
    assert subscription["status"] == "active", subscription  # the handshake passed, from server a
    try:
        conversation = start(arbor.b, arbor.secret, "dl_two_hooks")
        say(arbor.a, conversation, "dl_two_hooks", "one")
        say(arbor.b, conversation, "dl_two_hooks", "two")
        # the greeting, then for each message: it, its answer and the question again
        expected = Counter({("message.sent", ASK): 3, ("message.received", "one"): 1, ("message.received", "two"): 1,
                            ("message.sent", "You said: one"): 1, ("message.sent", "You said: two"): 1})

        def ours() -> list[dict]:
            return [body for _, _, body in list(receiver.requests)
                    if body["data"].get("conversationId") == conversation["conversationId"]]

        wait_for(f"{sum(expected.values())} webhook deliveries", lambda: len(ours()) >= sum(expected.values()),
                 logs=lambda: f"; received {[(b['type'], b['data']['activity'].get('text')) for b in ours()]}"
                              f"{arbor.logs()}")
        time.sleep(SETTLE)  # a second delivery (the other worker, the sweeper) would come now
        got = ours()
        assert Counter((body["type"], body["data"]["activity"].get("text")) for body in got) == expected
        ids = [headers["Webhook-Id"] for headers, _, body in list(receiver.requests)
               if body["data"].get("conversationId") == conversation["conversationId"]]
        assert len(set(ids)) == len(ids) == len(got), f"a delivery came twice: {ids}"
        assert len({body["data"]["activity"]["id"] for body in got}) == len(got)

        log = arbor.management(arbor.b, "GET", f"/webhooks/{subscription['id']}/deliveries?limit=100")
        assert log.status_code == 200, log.text
        mine = [d for d in log.json()["deliveries"] if d["conversationId"] == conversation["conversationId"]]
        assert sorted(d["webhookId"] for d in mine) == sorted(ids), mine
        assert [(d["status"], len(d["attempts"])) for d in mine] == [("delivered", 1)] * len(ids), mine
    finally:
        arbor.management(arbor.a, "DELETE", f"/webhooks/{subscription['id']}")


def test_a_handover_accepted_on_one_server_is_seen_on_the_other(arbor):
    conversation = start(arbor.a, arbor.secret, "dl_two_person")
    with stream(conversation["streamUrl"]) as visitor:  # the visitor's widget, on server a
        visitor.until([ASK], "the greeting", arbor.logs)
        say(arbor.b, conversation, "dl_two_person", "person")
        visitor.until(["Connecting you with a person..."], "the handover step", arbor.logs)

        def waiting() -> dict | None:
            listed = arbor.management(arbor.a, "GET", "/handovers?status=waiting")
            assert listed.status_code == 200, listed.text
            return next((h for h in listed.json()["handovers"]
                         if h["conversationId"] == conversation["conversationId"]), None)

        session = wait_for("the handover to wait for an agent", waiting, logs=arbor.logs)["id"]
        accepted = arbor.management(arbor.a, "POST", f"/handovers/{session}/accept", ALICE)
        assert accepted.status_code == 200, accepted.text

        seen = arbor.management(arbor.b, "GET", f"/handovers/{session}")
        assert seen.status_code == 200, seen.text
        assert (seen.json()["status"], seen.json()["agent"]) == ("active", {"id": "api:a-17", "name": "Alice"})
        active = arbor.management(arbor.b, "GET", "/handovers?status=active").json()["handovers"]
        assert [h["id"] for h in active if h["conversationId"] == conversation["conversationId"]] == [session]
        late = arbor.management(arbor.b, "POST", f"/handovers/{session}/accept", BOB)
        assert late.status_code == 409, f"Bob accepted on b what Alice had accepted on a: {late.text}"

        posted = arbor.management(arbor.b, "POST", f"/handovers/{session}/messages",
                                  {**ALICE, "text": "Hi, Alice here."})
        assert posted.status_code == 201, posted.text
        visitor.until(["Alice joined the conversation.", "Hi, Alice here."], "the agent's reply, sent through b",
                      arbor.logs)

        closed = arbor.management(arbor.b, "POST", f"/handovers/{session}/close", ALICE)
        assert closed.status_code == 200, closed.text
        assert arbor.management(arbor.a, "GET", f"/handovers/{session}").json()["status"] == "closed"
