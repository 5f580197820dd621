"""An agent's reply to its frame on the visitor's Direct Line stream (issue 17): what the console's Send does
(`handovers.post`, its commit included) until the frame arrives on a stream that another thread of the served
app holds, woken through Redis. Printed, never asserted.

    .venv/bin/python -m pytest tests/bench/test_bench_agent_stream.py -m bench -s -q -p no:xdist
"""

from __future__ import annotations

import json
import time

import pytest
import requests
from simple_websocket import Client

from runtime.steps.base import Input
from runtime.store import handovers
from runtime.turns.turn import handle, start_conversation
from tests.directline_client import DL, secret_of

REPLIES = 200


def ms(values: list[float], q: float) -> str:
    ordered = sorted(values)
    return f"{ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000:.1f} ms"


@pytest.mark.bench
def test_an_agents_reply_reaches_the_visitors_stream(app, served, bots):
    """REPLIES replies, one at a time."""
    bots.load("help-desk")
    secret = secret_of(app, "help-desk")
    with app.app_context():
        conversation_id = start_conversation("help-desk", "dl_visitor", "webchat")[0].id
        handle(conversation_id, Input.message("Eva"))
        handle(conversation_id, Input.message("Talk to a person"))
        session_id = handovers.open_of(conversation_id).id
        agent = {"id": "designer:1", "name": "Alice"}
        handovers.accept(session_id, agent)
    answer = requests.get(f"{served}{DL}/conversations/{conversation_id}", timeout=30,
                          headers={"Authorization": f"Bearer {secret}"}).json()
    ws = Client.connect(answer["streamUrl"])
    seconds = []
    try:
        with app.app_context():
            for i in range(REPLIES):
                text = f"Reply {i}"
                began = time.perf_counter()
                handovers.post(session_id, agent, text)
                while True:
                    frame = ws.receive(timeout=30)
                    assert frame is not None, f"no frame for {text!r}"
                    if frame and any(a.get("text") == text for a in json.loads(frame)["activities"]):
                        break
                seconds.append(time.perf_counter() - began)
    finally:
        ws.close()
    print(f"\n  an agent's reply -> the frame on the visitor's stream ({REPLIES} replies, werkzeug threads, "
           f"SQLite, the suite's Redis; the reply's own commit included): median {ms(seconds, 0.5)}, "
           f"p99 {ms(seconds, 0.99)}")
