"""Analytics of a busy bot: 1,000,000 transcript rows (100,000 conversations of 10 activities over 30 days,
with their step visits), and the time to compute the tree's counts for 30 days. Printed, never asserted.

    DATABASE_URL=postgresql://root@127.0.0.1:5432/test .venv/bin/python -m pytest \\
        tests/bench/test_bench_analytics.py -m bench -s -q -p no:xdist

On SQLite (no DATABASE_URL) the same runs, for comparison; the goal (< 500 ms) is set for PostgreSQL.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from golden import load_doc
from sqlalchemy import func, insert, select, text

from runtime.extensions import db
from runtime.insight import analytics, reach
from runtime.insight.period import Period
from runtime.store.bots import import_bot
from runtime.store.models import BotUser, Conversation, StepVisit, TranscriptEntry

pytestmark = pytest.mark.bench

CONVERSATIONS, ACTIVITIES, DAYS = 100_000, 10, 30
# The path through lead-capture: conversation i reaches the first 1 + i % 9 of these steps.
PATH = ["lc-w1", "lc-w2", "lc-w3", "lc-w7", "lc-c1", "lc-c2", "lc-c3", "lc-c4", "lc-c8"]
WAITING = {3: "lc-w3", 5: "lc-c1", 6: "lc-c2", 7: "lc-c3"}  # where a conversation of that length waits
GOAL_MS = 500

_PG = """
INSERT INTO bot_users (bot_id, user_id, data, created_at, version_id)
  SELECT 'bench', 'u' || i, '{}'::json, now(), 1 FROM generate_series(1, :n) i;
INSERT INTO conversations (id, bot_id, user_id, channel, state, bot_version, activity_seq, created_at, updated_at,
                           version_id, waiting_step)
  SELECT md5(i::text), 'bench', 'u' || i, 'webchat',
         json_build_object('stack', '[]'::json, 'ended', false, 'waiting',
                           CASE 1 + i % 9 WHEN 3 THEN json_build_object('step', 'lc-w3')
                                          WHEN 5 THEN json_build_object('step', 'lc-c1')
                                          WHEN 6 THEN json_build_object('step', 'lc-c2')
                                          WHEN 7 THEN json_build_object('step', 'lc-c3') END),
         1, :activities, :now - (i % :days) * interval '1 day' - (i % 3600) * interval '1 second',
         :now - (i % :days) * interval '1 day' - (i % 3600) * interval '1 second' + interval '5 minutes', 1,
         CASE 1 + i % 9 WHEN 3 THEN 'lc-w3' WHEN 5 THEN 'lc-c1' WHEN 6 THEN 'lc-c2' WHEN 7 THEN 'lc-c3' END
  FROM generate_series(1, :n) i;
INSERT INTO transcript_entries (conversation_id, seq, direction, activity, created_at)
  SELECT md5(i::text), s, CASE WHEN s % 2 = 0 THEN 'in' ELSE 'out' END,
         json_build_object('type', 'message', 'text', 'message ' || s), :now - (i % :days) * interval '1 day'
  FROM generate_series(1, :n) i, generate_series(1, :activities) s;
INSERT INTO step_visits (bot_id, conversation_id, step_id, at)
  SELECT 'bench', md5(i::text), (CAST(:path AS text[]))[k],
         :now - (i % :days) * interval '1 day' - (i % 3600) * interval '1 second'
  FROM generate_series(1, :n) i, generate_series(1, 9) k WHERE k <= 1 + i % 9;
"""


def _fill_postgresql(now: datetime) -> None:
    params = {"n": CONVERSATIONS, "activities": ACTIVITIES, "days": DAYS, "now": now, "path": PATH}
    for statement in filter(str.strip, _PG.split(";")):
        db.session.execute(text(statement), params)
    db.session.execute(text("ANALYZE"))
    db.session.commit()


def _fill_sqlite(now: datetime) -> None:
    connection = db.session.connection()
    for start in range(0, CONVERSATIONS, 10_000):
        users, conversations, transcript, visits = [], [], [], []
        for i in range(start + 1, start + 10_001):
            cid = f"{i:032x}"
            at = now - timedelta(days=i % DAYS, seconds=i % 3600)
            length = 1 + i % 9
            waiting = {"step": WAITING[length]} if length in WAITING else None
            users.append({"bot_id": "bench", "user_id": f"u{i}", "data": {}, "created_at": at, "version_id": 1})
            conversations.append({"id": cid, "bot_id": "bench", "user_id": f"u{i}", "channel": "webchat",
                                  "state": {"stack": [], "ended": False, "waiting": waiting}, "bot_version": 1,
                                  "activity_seq": ACTIVITIES, "created_at": at,
                                  "updated_at": at + timedelta(minutes=5), "version_id": 1,
                                  "waiting_step": WAITING.get(length)})
            transcript += [{"conversation_id": cid, "seq": s, "direction": "in" if s % 2 == 0 else "out",
                            "activity": {"type": "message", "text": f"message {s}"}, "created_at": at}
                           for s in range(1, ACTIVITIES + 1)]
            visits += [{"bot_id": "bench", "conversation_id": cid, "step_id": step, "at": at}
                       for step in PATH[:length]]
        for model, rows in ((BotUser, users), (Conversation, conversations), (TranscriptEntry, transcript),
                            (StepVisit, visits)):
            connection.execute(insert(model), rows)
    db.session.commit()


def _timed(fn):
    started = time.perf_counter()
    result = fn()
    return result, (time.perf_counter() - started) * 1000


def test_tree_counts_for_30_days_of_a_million_transcript_rows(app):
    with app.app_context():
        doc = {**load_doc("lead-capture"), "id": "bench"}
        import_bot(doc, publish=True)
        now = datetime.combine(datetime.now(UTC).date(), datetime.min.time(), UTC) + timedelta(hours=12)  # midday
        dialect = db.engine.dialect.name
        _, filled_ms = _timed(lambda: (_fill_postgresql if dialect == "postgresql" else _fill_sqlite)(now))
        rows = db.session.scalar(select(func.count()).select_from(TranscriptEntry))
        visits = db.session.scalar(select(func.count()).select_from(StepVisit))
        assert rows == CONVERSATIONS * ACTIVITIES
        period = Period.last_days(DAYS)

        cold, cold_ms = _timed(lambda: reach.tree_counts("bench", period))
        warm_ms = []
        for _ in range(5):
            warm, ms = _timed(lambda: reach.tree_counts("bench", period))
            warm_ms.append(ms)
        assert warm == cold
        _, reach_ms = _timed(lambda: reach.reach("bench", period))
        _, stops_ms = _timed(lambda: reach.stops("bench", period))
        per_day, per_day_ms = _timed(lambda: analytics.conversations_per_day("bench", period))
        goal, goal_ms = _timed(lambda: analytics.goal_completion("bench", "lc-c8", period))

        # Every conversation reached lc-w1 on its one day; those of length >= 9 the goal.
        assert cold["lc-w1"].reached == CONVERSATIONS
        assert cold["lc-c8"].reached == sum(1 for i in range(1, CONVERSATIONS + 1) if 1 + i % 9 >= 9)
        assert cold["lc-c2"].stopped == sum(1 for i in range(1, CONVERSATIONS + 1) if 1 + i % 9 == 6)
        assert sum(day["conversations"] for day in per_day) == CONVERSATIONS
        assert goal["reached"] == cold["lc-c8"].reached
        best = min(warm_ms)
        print(f"\n  analytics on {dialect}: {rows:,} transcript rows, {visits:,} step visits, "
              f"{CONVERSATIONS:,} conversations over {DAYS} days (made in {filled_ms / 1000:.0f} s)"
              f"\n  tree counts for {DAYS} days: {best:.0f} ms with the daily rollup in place (median "
              f"{sorted(warm_ms)[2]:.0f} ms; goal < {GOAL_MS} ms: {'met' if best < GOAL_MS else 'NOT met'}); "
              f"{cold_ms:.0f} ms the first time, rolling up {DAYS - 1} days"
              f"\n  of which reach (rollup + today's visits): {reach_ms:.0f} ms; where they stopped: {stops_ms:.0f} ms"
              f"\n  conversations per day: {per_day_ms:.0f} ms; goal completion: {goal_ms:.0f} ms"
              )
