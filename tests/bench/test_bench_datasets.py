"""Benchmarks of background work, printed: dataset-query over 1,000,000 rows; webhook deliveries per second.

Run: `.venv/bin/python -m pytest -q -s -m bench tests/bench/test_bench_datasets.py` (add DATABASE_URL for
PostgreSQL). Goal: a query with a tag filter and a 5 km radius under 20 ms median.
"""

from __future__ import annotations

import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from runtime.datasets import query, store
from runtime.extensions import db
from runtime.store.bots import import_bot

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "background"))  # the receiver and worker helpers
from pytest_httpserver import HTTPServer  # noqa: E402
from webhook_receiver import Receiver  # noqa: E402

ROWS = 1_000_000
TAGS = ["atm", "branch", "cafe", "parking", "wheelchair", "open-sunday", "exchange", "safe-box", "advisor", "drive"]
BOX = (48.55, 51.05, 12.1, 18.85)  # about the Czech Republic
ROOT = Path(__file__).resolve().parents[2]


def rows(rng: random.Random):
    for i in range(ROWS):
        yield store.Row(f"r{i}", {"name": f"Place {i}", "rank": rng.randint(1, 100)},
                        tuple(rng.sample(TAGS, rng.randint(1, 3))),
                        rng.uniform(BOX[0], BOX[1]), rng.uniform(BOX[2], BOX[3]))


@pytest.mark.bench
def test_dataset_query_over_a_million_rows(app):
    rng = random.Random(7)
    with app.app_context():
        import_bot({"format": 1, "id": "bench", "name": "Bench", "start": "s",
                    "dialogs": [{"id": "s", "title": "S", "steps": [{"id": "m", "type": "message", "text": "x"}]}]})
        dataset = store.define("bench", "places")
        started = time.perf_counter()
        store.replace(dataset, list(rows(rng)))
        loaded = time.perf_counter() - started
        db.session.commit()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            for table in ("dataset_rows", "dataset_tags"):  # as autovacuum would after a load: index-only scans
                connection.execute(text(f"VACUUM ANALYZE {table}" if db.engine.dialect.name == "postgresql"
                                        else f"ANALYZE {table}"))
        timings, sizes = [], []
        for _ in range(200):
            point = (rng.uniform(BOX[0] + 0.1, BOX[1] - 0.1), rng.uniform(BOX[2] + 0.1, BOX[3] - 0.1))
            started = time.perf_counter()
            found = query.find("bench", "places", tags=[rng.choice(TAGS)], near=point, radius_km=5, limit=10)
            timings.append((time.perf_counter() - started) * 1000)
            sizes.append(len(found))
    timings.sort()
    print(f"\ndataset-query on {app.config['SQLALCHEMY_DATABASE_URI'].split(':')[0]}: "
          f"{ROWS:,} rows loaded in {loaded:.0f} s; tag + 5 km radius, 200 queries: "
          f"median {statistics.median(timings):.2f} ms, p99 {timings[197]:.2f} ms, "
          f"rows found per query {statistics.mean(sizes):.1f}")
    assert sum(sizes) > 0


@pytest.fixture
def app_config():
    return {"OUTBOUND_ALLOW_HOSTS": "127.0.0.1 ::1"}


@pytest.fixture
def receiver(app):
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield Receiver(server)
    server.stop()


@pytest.mark.bench
def test_webhook_deliveries_per_second_with_two_workers(app, jobs, receiver):
    from rq import Worker
    from test_crash import until, worker_env
    from test_webhooks import BOT, subscribe

    from runtime.jobs import connection, queue_names
    from runtime.steps.base import Input
    from runtime.turns.turn import handle, start_conversation

    with app.app_context():
        import_bot(BOT, publish=True)
    made = subscribe(app, receiver, ["message.received", "message.sent"])
    workers = [subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "worker"], env=worker_env(app),
                                cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(2)]
    try:
        name = queue_names(app)[1]
        until(lambda: len([w for w in Worker.all(connection=connection(app)) if name in w.queue_names()]) == 2)
        conversations = 100
        started = time.perf_counter()
        with app.app_context():
            for i in range(conversations):
                conversation, _ = start_conversation("hooked", f"u{i}", "webchat")  # 1 message sent
                handle(conversation.id, Input.message(f"user {i}"))  # 1 received, 1 sent
        until(lambda: len(receiver.requests) >= 3 * conversations, seconds=600)
        elapsed = time.perf_counter() - started
    finally:
        for worker in workers:
            worker.terminate()
            worker.wait(30)
    print(f"\nwebhook deliveries: {len(receiver.requests)} to a local receiver with 2 running workers in "
          f"{elapsed:.1f} s: {len(receiver.requests) / elapsed:.1f} per second (the {2 * conversations} turns "
          f"that made them included)")
    assert made.subscription["status"] == "active"
