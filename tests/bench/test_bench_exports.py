"""Management API benchmarks: a userData export of 1,000,000 users x 10 storages (rows per second and the
peak memory of the exporting process), and the trigger API end to end (triggers per second).

Printed, never asserted on time; they do assert that what they time is right (every row exported, every
trigger answered 202 and its message in the conversation).

    .venv/bin/python -m pytest tests/bench/test_bench_exports.py -m bench -s -q -p no:xdist
    DATABASE_URL=postgresql://root@127.0.0.1:5432/test .venv/bin/python -m pytest tests/bench/test_bench_exports.py \
        -m bench -s -q -p no:xdist

`BENCH_EXPORT_USERS` sets the number of users (default 1,000,000); `BENCH_TRIGGERS` the triggers (500).
The export runs in a process of its own that does nothing else; its peak resident memory (VmHWM, reset
once the app has started) is the export's, not the seeding's nor the start-up's.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from golden import load_doc

from app import create_app
from runtime.extensions import db
from runtime.management.keys import create_key
from runtime.store.bots import import_bot
from runtime.store.models import BotUser
from runtime.turns.turn import start_conversation

pytestmark = pytest.mark.bench

USERS = int(os.environ.get("BENCH_EXPORT_USERS", "1000000"))
TRIGGERS = int(os.environ.get("BENCH_TRIGGERS", "500"))
ROOT = Path(__file__).resolve().parents[2]
MEMORY_GOAL_MB, SPEED_GOAL = 150, 50_000
START = datetime(2026, 1, 1, tzinfo=UTC)

EXPORTER = r"""
import json, sys, time
import psutil
from app import create_app
config = json.loads(sys.argv[1])
app = create_app({**config, "AUTO_MIGRATE": False})
client = app.test_client()
before = psutil.Process().memory_info().rss
def peak():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM:"))
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec from the forking (seeding) test process.
peak_before = peak()
with open("/proc/self/clear_refs", "w") as f:  # Linux: the peak (VmHWM) starts again from here
    f.write("5")
results = []
for query in sys.argv[3:]:
    began = time.perf_counter()
    response = client.get(f"/b/bench/api/management/export/userData?{query}", headers={"x-functions-key": sys.argv[2]},
                          buffered=False)
    assert response.status_code == 200, response.status_code
    size, rows, tail = 0, 0, b""
    for chunk in response.response:
        chunk = chunk.encode() if isinstance(chunk, str) else chunk
        size += len(chunk)
        rows += chunk.count(b'{"userId":')
        tail = chunk[-2:]
    response.close()
    results.append({"query": query, "rows": rows, "bytes": size, "seconds": time.perf_counter() - began,
                    "closed": tail.endswith(b"]"), "peak": peak()})
print(json.dumps({"rss_before": before, "peak_before": peak_before, "peak": peak(),
                  "results": results}))
"""


def report(*lines: str) -> None:
    print("\n" + "\n".join(f"  {line}" for line in lines), flush=True)


def storages(i: int) -> dict:
    """Ten storages, of the sizes user data has (names, contacts, a flag, a number, a small object)."""
    return {"firstName": f"User{i}", "lastName": f"Surname{i % 997}", "email": f"user{i}@example.com",
            "phone": f"+420777{i:06d}" if i % 3 else "", "gender": "male" if i % 2 else "female",
            "age": 18 + i % 60, "vip": i % 10 == 0, "city": ("Prague", "Brno", "Ostrava")[i % 3],
            "loyaltyCard": {"id": f"L-{i}", "points": i % 5000}, "consent": "2026-01-01"}


def seed(count: int) -> float:
    """Insert `count` users of bot `bench` in batches; returns the seconds it took."""
    began, batch = time.perf_counter(), 20_000
    table = BotUser.__table__
    for first in range(0, count, batch):
        db.session.execute(sa.insert(table), [
            {"bot_id": "bench", "user_id": f"u{i:07d}", "data": storages(i), "created_at": START,
             "last_message_at": START + timedelta(seconds=i), "version_id": 1}
            for i in range(first, min(first + batch, count))])
        db.session.commit()
    return time.perf_counter() - began


def bench_doc() -> dict:
    doc = load_doc("loyalty")
    return {**doc, "id": "bench", "name": "Bench"}


def test_export_rows_per_second_and_peak_memory(database, tmp_path):
    config = {"TESTING": True, "ARBOR_DATA": str(tmp_path), "SECRET_KEY": "bench", **database}
    app = create_app(config)
    with app.app_context():
        import_bot(bench_doc(), publish=True)
        key = create_key("bench", "bench")[1]
        seconds = seed(USERS)
        dialect = db.engine.dialect.name
        db.engine.dispose()
    queries = ["", "whereGender=male&notEmpty=phone", f"fromTimestamp={int(START.timestamp()) + USERS // 2}"]
    child = subprocess.run([sys.executable, "-c", EXPORTER, json.dumps(config), key, *queries], cwd=ROOT,
                           capture_output=True, text=True, check=False)
    assert child.returncode == 0, child.stderr[-3000:]
    found = json.loads(child.stdout.strip().splitlines()[-1])
    full, filtered, half = found["results"]
    assert full["rows"] == USERS and full["closed"]
    assert filtered["rows"] == sum(1 for i in range(USERS) if i % 2 and i % 3)
    assert half["rows"] == USERS - USERS // 2
    mb = 1024 * 1024
    report(f"userData export on {dialect}, {USERS:,} users x 10 storages (seeded in {seconds:.0f} s):",
           *(f"{r['query'] or 'everything':<45} {r['rows']:>9,} rows in {r['seconds']:6.1f} s = "
             f"{r['rows'] / r['seconds']:>8,.0f} rows/s, {r['bytes'] / mb:,.0f} MB of JSON"
             for r in found["results"]),
           f"exporting process: {found['rss_before'] / mb:.0f} MB resident once started (after a start-up peak of "
           f"{found['peak_before'] / mb:.0f} MB), peak while exporting {found['peak'] / mb:.0f} MB "
           f"(goal < {MEMORY_GOAL_MB} MB; >= {SPEED_GOAL:,} rows/s on SQLite)")


def test_trigger_api_triggers_per_second(database, tmp_path):
    app = create_app({"TESTING": True, "ARBOR_DATA": str(tmp_path), "SECRET_KEY": "bench", **database})
    with app.app_context():
        import_bot(bench_doc(), publish=True)
        key = create_key("bench", "bench")[1]
        for i in range(TRIGGERS):
            start_conversation("bench", f"dl_{i}", "webchat")
        dialect = db.engine.dialect.name
    client = app.test_client()
    addresses = [_address(f"dl_{i}") for i in range(TRIGGERS)]
    body = {"transaction": {"id": "T-1", "points": 500, "partner": "SkyMiles"}}
    began = time.perf_counter()
    statuses = [client.post(f"/b/bench/api/management/trigger/{a}/transfer-complete", json=body,
                            headers={"x-functions-key": key, "Idempotency-Key": f"k{i}"}).status_code
                for i, a in enumerate(addresses)]
    seconds = time.perf_counter() - began
    assert statuses == [202] * TRIGGERS
    report(f"trigger API on {dialect}, one client, {TRIGGERS} users: {TRIGGERS / seconds:,.0f} triggers/s "
           f"({seconds / TRIGGERS * 1000:.1f} ms each: key check, address, turn, transcript)")


def _address(user: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"bot": "bench", "user": user, "channelId": "webchat"}).encode()
                                    ).decode().rstrip("=")
