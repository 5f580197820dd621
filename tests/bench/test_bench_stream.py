"""The Direct Line stream end to end (issue 17): Arbor under the shipped gunicorn.conf.py (2 threaded workers,
ARBOR_THREADS threads each), beside two baselines served by the same configuration in the same run.

    .venv/bin/python -m pytest tests/bench/test_bench_stream.py -m bench -s -q -p no:xdist
    DATABASE_URL=postgresql://root@127.0.0.1:5432/test .venv/bin/python -m pytest \\
        tests/bench/test_bench_stream.py -m bench -s -q -p no:xdist

What it prints (nothing about speed is asserted; every turn must get its reply and no answer may be a 5xx):
1. Turns/s with 100 conversations, each turn a POST and the reply read from the conversation's stream,
   beside the requests/s of a bare JSON endpoint and of a bare read-write endpoint (one read, one write),
   rounds taking turns as in test_bench_directline.py; the ratio to the read-write endpoint.
2. The latency from the POST's answer to the reply's frame on the stream, median and p99, at 1, 10 and 100
   conversations.
3. Idle streams: BENCH_IDLE_STREAMS (10,000) conversations, each with its stream open and idle, held by the
   load generator; the memory of what holds them before and after (per stream), and turns/s and latency of
   100 conversations served meanwhile.
Streams are held by the stream process (`flask streams`, DIRECTLINE_STREAM_BASE), as the README's production
layout ships them; BENCH_STREAMS=web holds them in the gunicorn workers instead, for the comparison.
BENCH_CLIENTS (100) and BENCH_STREAM_THREADS (the shipped 2,000) change the conversations and the threads per
worker, for all three servers alike. The CPU of each process is printed per turn: the workers, the stream
process, the embedded Redis and the load generator share the machine's CPUs.
(test_bench_agent_stream.py measures an agent's reply to its frame on the visitor's stream.)
The load generator (loadgen.py) is a process of its own; it shares the machine's CPUs with the servers.
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import pytest
import requests
from test_bench_directline import (
    BENCH,
    DL,
    ROOT,
    ROUNDS,
    SECONDS,
    Gunicorn,
    Outcome,
    arbor_redis,  # noqa: F401 - the fixture: the data folder's embedded Redis, stopped at the end
    check,
    database,  # noqa: F401 - the fixture: SQLite, and PostgreSQL where DATABASE_URL names it
    drive,
    free_port,
    load,
    open_conversation,
    prepare_arbor,
    report,
    server_env,
)

CLIENTS = int(os.environ.get("BENCH_CLIENTS", 100))
IDLE = int(os.environ.get("BENCH_IDLE_STREAMS", "10000"))
OPTIONS = ["-c", str(ROOT / "gunicorn.conf.py"), "--log-level", "warning"]
WORKERS = 2
TURN_GOAL, RATIO_GOAL, P99_GOAL = 1_000, 0.5, 0.050
STREAMS = os.environ.get("BENCH_STREAMS", "process")  # who holds the streams: the stream process, or "web"
# The threads a worker needs: the shipped 2,000 when the stream process holds the streams, else one per idle stream
# and threads to serve turns beside them.
THREADS = int(os.environ.get("BENCH_STREAM_THREADS", 2_000)) if STREAMS == "process" \
    else max(2_000, IDLE // WORKERS + 500)
PATIENCE = {"reply_timeout": 10.0, "max_failures": 3}  # a reply missing for 10 s is a failure, reported


def ms(values: list[float], q: float) -> str:
    if not values:
        return "n/a"
    ordered = sorted(values)
    return f"{ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000:.1f} ms"


class StreamProcess:
    """`flask --app app streams` on a free loopback port, its output in a log file."""

    def __init__(self, env: dict, log: Path):
        self.port = free_port()
        self.base = f"ws://127.0.0.1:{self.port}"
        with open(log, "wb") as out:
            self.process = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "streams", "--port",
                                             str(self.port)], cwd=ROOT, env=env, stdout=out,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # a start-up guard, not a measurement
            try:
                if requests.get(f"http://127.0.0.1:{self.port}/healthz", timeout=2).ok:
                    return
            except requests.RequestException:
                time.sleep(0.1)
        raise RuntimeError(f"the stream process did not start:\n{log.read_text(errors='replace')[-2000:]}")

    def workers(self) -> list[int]:
        return [self.process.pid]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=15)


def cpu_split(outcome: Outcome, done: int) -> str:
    """CPU per turn of each process a turn costs, in ms."""
    parts = [f"workers {outcome.server_cpu / done * 1000:.2f}"] if outcome.server_cpu is not None else []
    parts += [f"{name} {seconds / done * 1000:.2f}" for name, seconds in outcome.other_cpu.items()
              if seconds is not None]
    parts.append(f"load generator {outcome.cpu / done * 1000:.2f}")
    return ", ".join(parts)


def rss_mb(server) -> float:
    return sum(psutil.Process(pid).memory_info().rss for pid in server.workers()) / 2**20


def new_conversation(base: str, secret: str, index: int) -> dict:
    """A token and conversation only (the greeting is read by the stream when it opens)."""
    answer = requests.post(f"{base}{DL}/tokens/generate", json={}, headers={"Authorization": f"Bearer {secret}"},
                           timeout=60)
    answer.raise_for_status()
    return {"index": index, "conversation": answer.json()["conversationId"], "token": answer.json()["token"],
            "watermark": "0"}


@pytest.mark.bench
def test_stream_turns_latency_and_idle_streams(database, arbor_redis, tmp_path):  # noqa: F811 - imported fixtures
    if importlib.util.find_spec("gunicorn") is None:
        pytest.skip("gunicorn is not installed (requirements-production.txt installs it)")
    name, url, baseline_db = database
    data, secret_key = tmp_path / "data", secrets.token_urlsafe(32)
    report(f"Direct Line stream on {name}: {os.cpu_count()} CPUs, load {load()}, gunicorn.conf.py ({WORKERS} threaded "
           f"workers, {THREADS:,} threads each) for Arbor and both baselines, {CLIENTS} conversations, "
           f"{ROUNDS} rounds of {SECONDS:g} s; streams held by "
           f"{'the stream process (flask streams)' if STREAMS == 'process' else 'the gunicorn workers'}")
    secret = prepare_arbor(data, secret_key, url, arbor_redis.url)
    import baseline_app
    baseline_app.prepare(baseline_db, CLIENTS)

    servers: dict[str, Gunicorn | StreamProcess] = {}
    results = {"arbor": Outcome(), "echo": Outcome(), "rw": Outcome()}
    lines = []
    try:
        env = server_env(ARBOR_DATA=str(data), SECRET_KEY=secret_key, WEB_CONCURRENCY=str(WORKERS),
                         ARBOR_THREADS=str(THREADS), REDIS_URL=arbor_redis.url,
                         **({"DATABASE_URL": url} if url else {}))
        if STREAMS == "process":
            servers["streams"] = StreamProcess(env, tmp_path / "streams.log")
            env["DIRECTLINE_STREAM_BASE"] = servers["streams"].base
        servers["arbor"] = Gunicorn("app:create_app()", env, tmp_path / "arbor.log", "GET /healthz", OPTIONS)
        for key in ("echo", "rw"):
            servers[key] = Gunicorn("baseline_app:app", server_env(BASELINE_DB=baseline_db,
                                                                   WEB_CONCURRENCY=str(WORKERS),
                                                                   ARBOR_THREADS=str(THREADS)),
                                    tmp_path / f"{key}.log", "POST /echo", OPTIONS)
        arbor = servers["arbor"]
        with ThreadPoolExecutor(8) as pool:
            clients = {"arbor": list(pool.map(lambda i: open_conversation(arbor.base, secret, i), range(CLIENTS))),
                       "echo": [{"index": i} for i in range(CLIENTS)], "rw": [{"index": i} for i in range(CLIENTS)]}

        others = {name: [pid] for name, pid in (("stream process", servers["streams"].process.pid if "streams" in
                                                  servers else None), ("Redis", arbor_redis.pid)) if pid}

        # 1. throughput, the servers taking turns
        for _ in range(ROUNDS):
            for key, unit in (("arbor", "stream_turn"), ("echo", "echo"), ("rw", "rw")):
                run = drive(servers[key], unit, clients[key], tmp_path, **PATIENCE,
                            **({"other_pids": others} if key == "arbor" else {}))
                clients[key] = run["clients"]
                results[key].add(run)
        stream, echo, rw = results["arbor"], results["echo"], results["rw"]
        lines += [f"Arbor, stream turns (POST + the reply's frame): {stream.rate:,.0f} turns/s "
                  f"({stream.done:,} in {stream.elapsed:.1f} s; server CPU per turn "
                  f"{stream.server_cpu / stream.done * 1000:.2f} ms)" if stream.done and stream.server_cpu else
                  f"Arbor, stream turns: {stream.done} done",
                  f"CPU per stream turn (ms): {cpu_split(stream, stream.done)}" if stream.done else "",
                  f"baseline POST /echo: {echo.rate:,.0f} requests/s; POST /rw ({name}): {rw.rate:,.0f} requests/s"
                  + (f" (workers' CPU per request: {echo.server_cpu / echo.done * 1000:.2f} ms and "
                     f"{rw.server_cpu / rw.done * 1000:.2f} ms)" if echo.server_cpu and rw.server_cpu else ""),
                  f"Arbor / read-write baseline: {stream.rate / rw.rate:.2f} (goal >= {RATIO_GOAL}: "
                  f"{'met' if stream.rate / rw.rate >= RATIO_GOAL else 'NOT met'}); turns/s vs goal {TURN_GOAL:,}: "
                  f"{'met' if stream.rate >= TURN_GOAL else 'NOT met'}"]

        # 2. push latency at 1, 10 and 100 conversations
        for count in (1, 10, 100):
            outcome = Outcome()
            run = drive(arbor, "stream_turn", clients["arbor"][:count], tmp_path, **PATIENCE)
            clients["arbor"][:count] = run["clients"]
            outcome.add(run)
            check(f"latency at {count}", outcome)
            p99 = sorted(outcome.push_latencies)[int(len(outcome.push_latencies) * .99)]
            goal = f" (goal p99 < {P99_GOAL * 1000:.0f} ms: {'met' if p99 < P99_GOAL else 'NOT met'})" \
                if count == 100 else ""
            lines.append(f"POST answered -> reply frame, {count} conversation(s): median "
                         f"{ms(outcome.push_latencies, 0.5)}, p99 {ms(outcome.push_latencies, 0.99)} "
                         f"({len(outcome.push_latencies):,} turns){goal}")

        # 3. idle streams, with turns served meanwhile
        with ThreadPoolExecutor(8) as pool:
            idle = list(pool.map(lambda i: new_conversation(arbor.base, secret, i), range(IDLE)))
        holds = servers.get("streams", arbor)
        before = rss_mb(holds)
        plan = tmp_path / "idle.json"
        plan.write_text(json.dumps({"base": arbor.base, "unit": "idle", "seconds": SECONDS * 2 + 30,
                                    "clients": idle, "reply_timeout": 60.0}))
        holder = subprocess.Popen([sys.executable, str(BENCH / "loadgen.py"), str(plan)], stdout=subprocess.PIPE,
                                  text=True)
        try:
            opened = json.loads(holder.stdout.readline())
            after = rss_mb(holds)
            beside = Outcome()
            beside.add(drive(arbor, "stream_turn", clients["arbor"], tmp_path, **PATIENCE))
            held = json.loads(holder.stdout.readline())
        finally:
            holder.wait(timeout=SECONDS * 2 + 120)
        per_stream = (after - before) * 1024 / max(1, opened["opened"])
        lines += [f"idle streams: {opened['opened']:,} of {IDLE:,} opened in {opened['opened_in']:.1f} s, "
                  f"{held['alive']:,} still open at the end (goal 10,000); first failures: {opened['failures'][:3]}",
                  f"memory of {'the stream process' if holds is not arbor else 'the workers'}: {before:.0f} MB "
                  f"before, {after:.0f} MB with them open: "
                  f"{per_stream:.1f} KB per idle stream",
                  f"meanwhile, {CLIENTS} conversations: {beside.rate:,.0f} stream turns/s, reply frame median "
                  f"{ms(beside.push_latencies, 0.5)}, p99 {ms(beside.push_latencies, 0.99)}",
                  f"load average after: {load()}"]
    finally:
        for server in servers.values():
            server.stop()
    report(*lines)
    for key, outcome in results.items():
        check(key, outcome)
    check("turns beside the idle streams", beside)
    assert opened["opened"] == IDLE, opened["failures"]

