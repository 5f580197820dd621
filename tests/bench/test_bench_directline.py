"""Direct Line throughput end to end: Arbor under gunicorn, against two baselines served the same way.

    BENCH_SECONDS=5 .venv/bin/python -m pytest tests/bench/test_bench_directline.py -m bench -s -q -p no:xdist
    DATABASE_URL=postgresql://root@127.0.0.1:5432/test BENCH_SECONDS=5 .venv/bin/python -m pytest \
        tests/bench/test_bench_directline.py -m bench -s -q -p no:xdist

Each run starts `gunicorn -w 2` on a free loopback port, three times: Arbor (`app:create_app()`, data
folder and database fresh, the loop bot imported and published), then `baseline_app:app` twice, for its
`POST /echo` (bare Flask) and its `POST /rw` (read one row, write one row, on the same kind of database:
a SQLite file in WAL mode, or with DATABASE_URL naming PostgreSQL a fresh schema there too).

CLIENTS threads (each its own requests.Session) drive the server for BENCH_SECONDS (default 5). For Arbor
each client owns one conversation, generated beforehand with the bot's secret, and loops turns: POST a
message activity, then GET activities from its watermark until the bot's reply to that activity (its
replyToId) is there; only then the turn counts. For a baseline each client loops one request.

Printed: Arbor turns/s, each baseline's requests/s, Arbor / read-write baseline, load averages, and how
much CPU this load-generating process itself used (it shares the machine's CPUs with the server, so the
figures understate what the server alone could do). Nothing about speed is asserted: only that every
turn got its reply, every request answered 200, and no 5xx came back.
"""

from __future__ import annotations

import importlib.util
import os
import secrets
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from botgen import loop_bot

ROOT = Path(__file__).resolve().parents[2]
BENCH = Path(__file__).resolve().parent
SECONDS = float(os.environ.get("BENCH_SECONDS", "5"))
CLIENTS = 100
WORKERS = 2
TURN_GOAL = 1_000  # turns/s
RATIO_GOAL = 0.5  # of the read-write baseline
POLLS_PER_TURN = 200  # GETs before a turn counts as unanswered
POLL_PAUSE = 0.005  # seconds between GETs after the first one missed the reply
MAX_FAILURES = 20  # per client: stop early rather than spin on a broken server
BOT = loop_bot()
QUESTION = BOT["dialogs"][0]["steps"][0]["text"]
POSTGRES_URL = os.environ.get("DATABASE_URL", "")
POSTGRES_URL = POSTGRES_URL if POSTGRES_URL.startswith(("postgres://", "postgresql")) else None
DL = "/v3/directline"


def report(*lines: str) -> None:
    print("\n" + "\n".join(f"  {line}" for line in lines), flush=True)


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"


class Failure(Exception):
    """A wrong answer: counted, never retried."""


# --- servers -------------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    """`gunicorn -w 2` on a free loopback port, its output kept in a log file; `stop` ends it."""

    def __init__(self, target: str, env: dict, log: Path, health: str):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        command = [sys.executable, "-m", "gunicorn", "-w", str(WORKERS), "-b", f"127.0.0.1:{self.port}",
                   "--chdir", str(ROOT), "--pythonpath", str(BENCH), "--log-level", "warning", target]
        with open(log, "wb") as out:
            self.process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        self._wait(health)

    def _wait(self, health: str, timeout: float = 60.0) -> None:
        method, path = health.split(" ", 1)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({self.process.returncode}):\n{self.tail()}")
            try:
                if requests.request(method, self.base + path, timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not answer {health} in {timeout:.0f} s:\n{self.tail()}")

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # the arbiter stops its workers
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


# --- load ----------------------------------------------------------------------------------------------

@dataclass
class Outcome:
    done: int = 0
    requests: int = 0
    server_errors: int = 0
    failures: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    elapsed: float = 0.0
    cpu: float = 0.0  # this process's CPU seconds over the window


class Client:
    """One load-generating client: its own session, and for Arbor its own conversation."""

    def __init__(self, base: str, index: int):
        self.base, self.index = base, index
        self.session = requests.Session()
        self.requests = 0
        self.server_errors = 0
        self.conversation = self.token = ""
        self.watermark = ""
        self.sent = 0

    def call(self, method: str, path: str, **kwargs) -> dict:
        self.requests += 1
        response = self.session.request(method, self.base + path, timeout=30, **kwargs)
        if response.status_code >= 500:
            self.server_errors += 1
        if response.status_code != 200:
            raise Failure(f"{method} {path.split('?')[0]}: {response.status_code} {response.text[:200]}")
        return response.json()

    # Arbor

    def open(self, secret: str) -> None:
        """What a site backend and its page do: a token for a new conversation, then the first poll."""
        answer = self.call("POST", f"{DL}/tokens/generate", json={}, headers={"Authorization": f"Bearer {secret}"})
        self.conversation, self.token = answer["conversationId"], answer["token"]
        self.session.headers["Authorization"] = f"Bearer {self.token}"
        first = self.call("GET", f"{DL}/conversations/{self.conversation}/activities?watermark=")
        if [a.get("text") for a in first["activities"]] != [QUESTION]:
            raise Failure(f"conversation {self.conversation} did not open with the question: {first}")
        self.watermark = first["watermark"]

    def turn(self) -> None:
        self.sent += 1
        url = f"{DL}/conversations/{self.conversation}/activities"
        posted = self.call("POST", url, json={"type": "message", "text": f"answer {self.sent}",
                                              "from": {"id": f"bench-{self.index}"},
                                              "channelData": {"clientActivityID": f"c{self.index}-{self.sent}"}})
        for poll in range(POLLS_PER_TURN):
            if poll:
                time.sleep(POLL_PAUSE)
            answer = self.call("GET", f"{url}?watermark={self.watermark}")
            self.watermark = answer["watermark"] or self.watermark
            replies = [a for a in answer["activities"] if a.get("replyToId") == posted["id"]]
            if replies:
                if [(r["from"].get("role"), r.get("text")) for r in replies] != [("bot", QUESTION)]:
                    raise Failure(f"unexpected reply to {posted['id']}: {replies}")
                return
        raise Failure(f"no reply to {posted['id']} after {POLLS_PER_TURN} polls")

    # baselines

    def echo(self) -> None:
        if self.call("POST", "/echo", json={}) != {"ok": True}:
            raise Failure("/echo answered something else")

    def read_write(self) -> None:
        if not self.call("POST", "/rw", json={"id": self.index}).get("ok"):
            raise Failure("/rw answered something else")


def drive(clients: list[Client], unit: Callable[[Client], None], seconds: float) -> Outcome:
    """Every client loops `unit` until `seconds` have passed (the unit under way finishes and counts)."""
    outcome, lock = Outcome(), threading.Lock()
    start = threading.Barrier(len(clients) + 1)
    deadline = [0.0]
    for client in clients:
        client.requests = client.server_errors = 0

    def run(client: Client) -> None:
        done, latencies, failures = 0, [], []
        start.wait()
        while time.perf_counter() < deadline[0] and len(failures) < MAX_FAILURES:
            began = time.perf_counter()
            try:
                unit(client)
            except (Failure, requests.RequestException, ValueError) as error:
                failures.append(f"client {client.index}: {type(error).__name__}: {error}")
                continue
            done += 1
            latencies.append(time.perf_counter() - began)
        with lock:
            outcome.done += done
            outcome.latencies += latencies
            outcome.failures += failures
            outcome.requests += client.requests
            outcome.server_errors += client.server_errors

    threads = [threading.Thread(target=run, args=(c,), daemon=True) for c in clients]
    for thread in threads:
        thread.start()
    cpu = time.process_time()
    began = time.perf_counter()
    deadline[0] = began + seconds
    start.wait()
    for thread in threads:
        thread.join(timeout=seconds + 120)
    outcome.elapsed = time.perf_counter() - began
    outcome.cpu = time.process_time() - cpu
    if any(thread.is_alive() for thread in threads):
        outcome.failures.append("some clients were still running 120 s after the window closed")
    return outcome


def warm_up(clients: list[Client], unit: Callable[[Client], None]) -> None:
    """One unit per client, untimed: workers import lazily, caches fill, connections open."""
    with ThreadPoolExecutor(len(clients)) as pool:
        list(pool.map(unit, clients))


def figures(name: str, outcome: Outcome, unit: str) -> list[str]:
    rate = outcome.done / outcome.elapsed
    lat = sorted(outcome.latencies) or [float("nan")]
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
    return [f"{name}: {rate:,.0f} {unit}/s ({outcome.done:,} in {outcome.elapsed:.2f} s; "
            f"{outcome.requests / outcome.elapsed:,.0f} HTTP requests/s; latency median "
            f"{statistics.median(lat) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms; this process used "
            f"{outcome.cpu / outcome.elapsed:.2f} CPU; load {load()})"]


def check(name: str, outcome: Outcome) -> None:
    assert outcome.server_errors == 0, f"{name}: {outcome.server_errors} answers were 5xx: {outcome.failures[:5]}"
    assert not outcome.failures, f"{name}: {len(outcome.failures)} failures, first: {outcome.failures[:5]}"
    assert outcome.done > 0, f"{name}: nothing completed"


# --- databases -----------------------------------------------------------------------------------------

@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path):
    """(name, Arbor's DATABASE_URL or None for its default SQLite file, the baseline's database)."""
    if request.param == "sqlite":
        yield "SQLite (WAL)", None, f"sqlite:///{tmp_path / 'baseline.db'}"
        return
    if POSTGRES_URL is None:
        pytest.skip("DATABASE_URL does not name PostgreSQL: the PostgreSQL run is skipped")
    import psycopg
    plain = POSTGRES_URL.replace("postgres://", "postgresql://", 1).replace("postgresql+psycopg://", "postgresql://")
    schema = f"bench_{uuid.uuid4().hex}"
    with psycopg.connect(plain, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    url = f"{plain}{'&' if '?' in plain else '?'}options={quote(f'-csearch_path={schema}')}"
    try:
        yield f"PostgreSQL (schema {schema})", url, url
    finally:
        with psycopg.connect(plain, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


def prepare_arbor(data: Path, secret_key: str, url: str | None) -> str:
    """A fresh data folder (and database), the loop bot imported and published; its Direct Line secret."""
    from app import create_app
    from runtime.channels.directline.secret import reveal
    from runtime.extensions import db
    from runtime.store.bots import import_bot

    app = create_app({"ARBOR_DATA": str(data), "SECRET_KEY": secret_key, **({"DATABASE_URL": url} if url else {})})
    with app.app_context():
        import_bot(loop_bot(), publish=True)
        secret = reveal(BOT["id"])[0]
        db.session.remove()
        db.engine.dispose()
    return secret


def server_env(**settings: str) -> dict:
    from app import ENVIRONMENT
    env = {k: v for k, v in os.environ.items() if k not in ENVIRONMENT}
    env.update(settings)
    return env


# --- the benchmark -------------------------------------------------------------------------------------

@pytest.mark.bench
def test_directline_throughput(database, tmp_path):
    if importlib.util.find_spec("gunicorn") is None:
        pytest.skip("gunicorn is not installed (pip install -e '.[test]' installs it)")
    name, url, baseline_db = database
    data = tmp_path / "data"
    secret_key = secrets.token_urlsafe(32)
    report(f"Direct Line on {name}: {os.cpu_count()} CPUs, load {load()}, gunicorn -w {WORKERS} (sync workers), "
           f"{CLIENTS} clients, {SECONDS:g} s windows (shared machine: figures are noisy)")

    secret = prepare_arbor(data, secret_key, url)
    import baseline_app
    baseline_app.prepare(baseline_db, CLIENTS)

    servers: list[Gunicorn] = []
    results: dict[str, Outcome] = {}
    try:
        # Arbor
        env = server_env(ARBOR_DATA=str(data), SECRET_KEY=secret_key, **({"DATABASE_URL": url} if url else {}))
        arbor = Gunicorn("app:create_app()", env, tmp_path / "arbor.log", "GET /healthz")
        servers.append(arbor)
        clients = [Client(arbor.base, i) for i in range(CLIENTS)]
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda c: c.open(secret), clients))
        warm_up(clients, Client.turn)
        results["arbor"] = drive(clients, Client.turn, SECONDS)
        arbor.stop()
        report(*figures("Arbor, Direct Line turns (POST activity + GET until the reply)", results["arbor"], "turns"))
        if results["arbor"].failures:
            report(f"arbor log tail:\n{arbor.tail()}")

        # baselines, one server each
        for key, unit, label in (("echo", Client.echo, "baseline POST /echo (bare Flask JSON)"),
                                 ("rw", Client.read_write, f"baseline POST /rw (read + write one row, {name})")):
            server = Gunicorn("baseline_app:app", server_env(BASELINE_DB=baseline_db), tmp_path / f"{key}.log",
                              "POST /echo")
            servers.append(server)
            clients = [Client(server.base, i) for i in range(CLIENTS)]
            warm_up(clients, unit)
            results[key] = drive(clients, unit, SECONDS)
            server.stop()
            report(*figures(label, results[key], "requests"))
    finally:
        for server in servers:
            server.stop()

    turns = results["arbor"].done / results["arbor"].elapsed
    rw = results["rw"].done / results["rw"].elapsed
    echo = results["echo"].done / results["echo"].elapsed
    report(f"Arbor / read-write baseline: {turns / rw:.2f} (goal >= {RATIO_GOAL}: "
           f"{'met' if turns / rw >= RATIO_GOAL else 'NOT met'}); Arbor / echo baseline: {turns / echo:.2f}",
           f"Arbor turns/s vs goal {TURN_GOAL:,}: {'met' if turns >= TURN_GOAL else 'NOT met'} ({turns:,.0f})",
           f"load average after: {load()}")

    for key, outcome in results.items():
        check(key, outcome)
    # every committed /rw request (warm-up included) left its +1 in the table
    assert baseline_app.total(baseline_db) == results["rw"].done + CLIENTS
