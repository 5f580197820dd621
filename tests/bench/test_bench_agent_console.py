"""Agent console benchmark: what its polling costs the server. The queue partial (every 2 s in every open
console) with 200 open handovers among 10,000 closed ones, for an agent given one of two bots, rendered and
when nothing changed (the usual answer, 204); and the transcript poll of an open conversation when nothing
happened (204 too). Figures are printed, never asserted;
what is timed is checked to have worked.

    .venv/bin/python -m pytest tests/bench/test_bench_agent_console.py -m bench -s -q -p no:xdist
"""

from __future__ import annotations

import copy
import re
from uuid import uuid4

import pytest
from test_bench_designer import timed

from runtime.extensions import db
from runtime.steps.base import Input
from runtime.store import bot_access, handovers
from runtime.store.accounts import create_user
from runtime.store.bots import import_bot
from runtime.store.models import HandoverSession, utcnow
from runtime.turns.turn import handle, start_conversation
from tests.golden import load_doc

pytestmark = pytest.mark.bench
OPEN, CLOSED = 200, 10_000


def test_queue_and_transcript_polls(app, client):
    with app.app_context():
        desk = load_doc("help-desk")
        other = copy.deepcopy(desk) | {"id": "help-desk-2", "name": "Help desk 2"}
        for doc in (desk, other):
            import_bot(doc, publish=True)
        sessions = []
        for n in range(OPEN):
            conversation, _ = start_conversation(("help-desk", "help-desk-2")[n % 2], f"u{n}", "webchat")
            handle(conversation.id, Input.message("Eva"))
            handle(conversation.id, Input.message("Talk to a person"))
            sessions.append(handovers.open_of(conversation.id))
        for session in sessions[:OPEN // 4]:
            handovers.accept(session.id, {"id": "designer:0", "name": "Carol"})
        now = utcnow()
        db.session.execute(HandoverSession.__table__.insert(), [
            {"id": uuid4().hex, "bot_id": of.bot_id, "conversation_id": of.conversation_id, "user_id": "old",
             "channel": "webchat", "status": "closed", "created_at": now, "closed_at": now}
            for of in (sessions[n % OPEN] for n in range(CLOSED))])
        db.session.commit()
        create_user("alice@example.com", "bench password", "agent")
        bot_access.grant("help-desk", "alice@example.com")
        watched = next(s for s in sessions if s.bot_id == "help-desk")
        db.session.remove()
    token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/designer/signin").text).group(1)
    client.post("/designer/signin", data={"csrf_token": token, "email": "alice@example.com",
                                          "password": "bench password"})
    page = client.get(f"/designer/agents/{watched.id}")
    after, status = re.search(r"transcript\?after=(\d+)&amp;status=(\w+)", page.text).groups()

    queue_ms, queue = timed(lambda: client.get("/designer/agents/queue", headers={"HX-Request": "true"}))
    assert queue.status_code == 200 and queue.text.count('data-testid="handover"') == OPEN // 2
    version = re.search(r"queue\?v=(\w+)", queue.text).group(1)
    idle_ms, idle = timed(lambda: client.get("/designer/agents/queue", query_string={"v": version},
                                             headers={"HX-Request": "true"}))
    assert idle.status_code == 204
    poll_ms, poll = timed(lambda: client.get(f"/designer/agents/{watched.id}/transcript",
                                             query_string={"after": after, "status": status},
                                             headers={"HX-Request": "true"}))
    assert poll.status_code == 204
    print(f"\nagent console, {OPEN} open handovers ({OPEN // 2} of the agent's bot) among {CLOSED:,} closed, "
          f"{app.config['SQLALCHEMY_DATABASE_URI'].split(':')[0]}:")
    print(f"  queue partial: {queue_ms:.1f} ms ({len(queue.data) / 1024:.0f} KB); the same poll when nothing changed "
          f"(204): {idle_ms:.1f} ms; transcript poll with nothing new (204): {poll_ms:.1f} ms")
