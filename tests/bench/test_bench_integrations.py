"""Overhead of a sync integration step over the raw HTTP round trip to a local server (issue 5).

Each of N rounds times, in a shuffled order so that load on the shared machine hits all alike:
  raw   - a GET with a plain requests.Session (a pool of its own) to the local server (ping_server.py, a
          process of its own, so it takes no GIL time from what is timed);
  base  - a store-backed turn of a bot whose loop has a `set` step where the integration would be;
  step  - the same turn with a sync `integration` step (http-request GET to the same server): effect,
          commit, guarded call, input and output checks, the integration log row, the result turn.
The step's overhead per round is step - base - raw; its median and p99 are printed (goal: < 2 ms at the
median). The call alone (`perform`: checks, auth, guarded session, no database) is printed beside it.

    .venv/bin/python -m pytest tests/bench/test_bench_integrations.py -m bench -s -q -p no:xdist
"""

from __future__ import annotations

import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from app import create_app
from runtime.extensions import db
from runtime.integrations import get
from runtime.integrations.calls import perform
from runtime.steps.base import Input
from runtime.store.bots import import_bot
from runtime.turns.turn import handle, start_conversation

ROUNDS = int(os.environ.get("BENCH_INTEGRATION_CALLS", "1000"))
WARM_UP = 20
GOAL_MS = 2.0
EXPECTED = ["status 200", "Say something"]


def loop_bot(bot_id: str, url: str, *, integration: bool) -> dict:
    middle = ({"id": "i", "type": "integration", "use": "ping", "output": "answer",
               "params": {"url": url, "query": {"q": "{{ said }}"}}} if integration
              else {"id": "i", "type": "set", "storage": "answer", "value": "{'status': 200}"})
    return {"format": 1, "id": bot_id, "name": bot_id, "start": "main",
            "integrations": {"ping": {"template": "http-request"}},
            "dialogs": [{"id": "main", "steps": [
                {"id": "q", "type": "question", "text": "Say something", "storage": "said"},
                middle,
                {"id": "m", "type": "message", "text": "status {{ answer.status }}"},
                {"id": "g", "type": "goto", "dialog": "main"}]}]}


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


@pytest.fixture
def ping_url():
    """The URL of a JSON API running in a process of its own (ping_server.py)."""
    server = subprocess.Popen([sys.executable, str(Path(__file__).with_name("ping_server.py"))],
                              stdout=subprocess.PIPE, text=True)
    try:
        yield f"http://127.0.0.1:{server.stdout.readline().strip()}/ping"
    finally:
        server.terminate()
        server.wait()


@pytest.mark.bench
def test_sync_integration_step_overhead(database, tmp_path, ping_url):
    url = ping_url
    app = create_app({"TESTING": True, "ARBOR_DATA": str(tmp_path), "SECRET_KEY": "bench",
                      "OUTBOUND_ALLOW_HOSTS": "127.0.0.1 ::1", **database})
    raw_session = requests.Session()
    raw_session.trust_env = False
    with app.app_context():
        import_bot(loop_bot("with-step", url, integration=True), publish=True)
        import_bot(loop_bot("without", url, integration=False), publish=True)
        step_conversation = start_conversation("with-step", "bench", "bench")[0].id
        base_conversation = start_conversation("without", "bench", "bench")[0].id
        service = get()
        template = service.catalog.get("http-request")
        def raw() -> None:
            assert raw_session.get(url, params={"q": "x"}).json() == {"pong": True}

        def base() -> None:
            assert [a["text"] for a in handle(base_conversation, Input.message("x"))] == EXPECTED

        def step() -> None:
            assert [a["text"] for a in handle(step_conversation, Input.message("x"))] == EXPECTED

        def call() -> None:
            assert perform(template, {"template": "http-request"}, {"url": url, "query": {"q": "x"}}, secrets={},
                           user_data={}, services=service.services, timeout=3).ok

        timed = {"raw": raw, "base": base, "step": step, "call": call}
        wall: dict[str, list[float]] = {name: [] for name in timed}
        cpu: dict[str, list[float]] = {name: [] for name in timed}
        order, shuffle = list(timed), random.Random(5).shuffle
        for i in range(WARM_UP + ROUNDS):
            shuffle(order)  # no part always runs first (or right after another): position biases wall time
            for name in order:
                started, started_cpu = time.perf_counter(), time.thread_time()
                timed[name]()
                if i >= WARM_UP:
                    wall[name].append((time.perf_counter() - started) * 1000)
                    cpu[name].append((time.thread_time() - started_cpu) * 1000)
        logged = db.session.execute(db.text("SELECT count(*) FROM integration_log")).scalar()
        db.engine.dispose()
    assert logged == WARM_UP + ROUNDS
    database_name = "PostgreSQL" if database else "SQLite"
    lines = [f"sync integration step, {ROUNDS} calls each, {database_name}, local HTTP server (ms; wall clock, and",
             "CPU time of the calling thread, which leaves out waiting and the server's own work):",
             f"{'':36}{'wall median':>12}{'p99':>9}{'cpu median':>12}{'p99':>9}"]
    for figures in (wall, cpu):
        figures["overhead"] = [s - b - r for s, b, r in zip(figures["step"], figures["base"], figures["raw"],
                                                            strict=True)]
        figures["call overhead"] = [c - r for c, r in zip(figures["call"], figures["raw"], strict=True)]
    for label, key in (("raw HTTP round trip", "raw"), ("turn without the step (set)", "base"),
                       ("turn with the sync step", "step"), ("the call alone (perform)", "call"),
                       ("step overhead = step - base - raw", "overhead"), ("call overhead = perform - raw",
                                                                           "call overhead")):
        lines.append(f"{label:36}{statistics.median(wall[key]):12.3f}{percentile(wall[key], 99):9.3f}"
                     f"{statistics.median(cpu[key]):12.3f}{percentile(cpu[key], 99):9.3f}")
    median = statistics.median(wall["overhead"])
    lines.append(f"goal: step overhead < {GOAL_MS} ms at the median: {median:.2f} ms wall, "
                 f"{statistics.median(cpu['overhead']):.2f} ms CPU; load average {os.getloadavg()[0]:.1f}")
    print("\n" + "\n".join(f"  {line}" for line in lines), flush=True)
