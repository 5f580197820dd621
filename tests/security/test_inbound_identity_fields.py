"""Hole 5 of issue 15: a visitor cannot pose as the bot, an agent or the system. Every inbound boundary
(Direct Line, platform hooks, the management trigger) drops or overwrites the fields only Arbor sets:
`from` (id and role) and `channelData.arbor` (agent, notice, handover), `channelData.delivery`. What is
stored, polled back and shown in the agent console is the user's."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

sys.path[:0] = [str(Path(__file__).resolve().parents[1] / folder) for folder in ("api", "channels")]

from designer_client import Designer  # noqa: E402
from directline_client import Chat, secret_of  # noqa: E402
from management import address, make_key  # noqa: E402
from platform_samples import BOT, message  # noqa: E402

from runtime.channels.platforms import connections  # noqa: E402
from runtime.extensions import db  # noqa: E402
from runtime.store import handovers  # noqa: E402
from runtime.store.bots import import_bot  # noqa: E402
from runtime.store.models import TranscriptEntry  # noqa: E402

POSING = [
    {"type": "message", "text": "I am the bot", "from": {"id": "help-desk", "name": "Help desk", "role": "bot"}},
    {"type": "message", "text": "Your account is locked, send your password",
     "from": {"id": "agent:1", "role": "bot"}, "channelData": {"arbor": {"agent": "Alice (supervisor)"}}},
    {"type": "message", "text": "Alice joined the conversation.",
     "channelData": {"arbor": {"notice": "agent-joined", "handover": "x"}, "delivery": {"status": "read"},
                     "clientActivityID": "c-3"}},
    {"type": "event", "name": "hello", "from": {"id": "arbor", "role": "channel"}, "channelData": {"arbor": {}}},
]


@pytest.fixture
def app_config():
    return {"OUTBOUND_ALLOW_HOSTS": "127.0.0.1 ::1"}  # the platform's outbound address is the local receiver


def inbound_rows(app, conversation_id: str) -> list[dict]:
    with app.app_context():
        rows = db.session.scalars(select(TranscriptEntry).where(
            TranscriptEntry.conversation_id == conversation_id, TranscriptEntry.direction == "in")
            .order_by(TranscriptEntry.seq)).all()
        return [row.activity for row in rows]


def assert_the_users(activity: dict, user_id: str) -> None:
    assert activity["from"]["id"] == user_id and activity["from"]["role"] == "user", activity
    channel_data = activity.get("channelData") or {}
    assert "arbor" not in channel_data and "delivery" not in channel_data, activity


def test_direct_line_keeps_the_user_as_the_sender_in_store_poll_and_console(app, client, bots):
    bots.load("help-desk")
    admin = Designer(app, app.test_client()).sign_in("admin@example.com", "admin pass", role="admin")
    chat = Chat.generate(client, secret_of(app, "help-desk"))
    chat.poll()
    chat.say("Eva")
    chat.say("Talk to a person")
    with app.app_context():
        session = handovers.open_of(chat.conversation_id)
        db.session.remove()
    for activity in POSING:
        assert chat.post(activity).status_code == 200
    echoed = [a for a in chat.poll() if (a.get("text"), a.get("name")) in
              {(p.get("text"), p.get("name")) for p in POSING}]
    assert [a.get("text") for a in echoed] == [p.get("text") for p in POSING]
    for activity in echoed:
        assert_the_users(activity, chat.user_id)
    assert echoed[-2]["channelData"] == {"clientActivityID": "c-3"}  # the client's own fields stay (WebChat's echo)
    for activity in inbound_rows(app, chat.conversation_id)[-4:]:
        assert_the_users(activity, chat.user_id)

    admin.post(f"/designer/agents/{session.id}/accept")
    page = admin.client.get(f"/designer/agents/{session.id}")
    assert page.status_code == 200
    entries = re.findall(r'<li class="entry (\w+)"[^>]*>(.*?)</li>', page.text, re.S)
    posed = [kind for kind, body in entries if any(p.get("text", "\0") in body for p in POSING)]
    assert posed == ["user", "user", "user"], entries  # no "bot", no agent pill, no system notice
    assert "Alice (supervisor)" not in page.text
    assert page.text.count('data-notice="agent-joined"') == 1  # the real one, when the admin joined
    assert "The user’s page sent the event <code>hello</code>" in page.text


def test_platform_hooks_keep_the_user_as_the_sender(app, client, receiver):
    with app.app_context():
        import_bot(BOT, publish=True)
        token = connections.create("pbot", "acme", "Acme CX", receiver.url,
                                   credentials={"kind": "bearer", "token": "t"}).token
    body = {**message("Tea", "m1"), "from": {"id": "pbot", "role": "bot"},
            "channelData": {"arbor": {"agent": "Alice (supervisor)"}, "delivery": {"status": "read"}}}
    answer = client.post("/b/pbot/hooks/acme", data=json.dumps(body),
                         headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    assert answer.status_code == 200, answer.json
    rows = inbound_rows(app, answer.json["conversationId"])
    assert rows and all(row["from"]["role"] == "user" for row in rows)
    for row in rows:
        assert_the_users(row, row["from"]["id"])
        assert row["from"]["id"] != "pbot"


def test_the_management_trigger_sends_as_arbor_whatever_the_body_says(app, client, bots):
    bots.load("loyalty")
    key = make_key(app, "loyalty", "crm")
    chat = Chat.generate(client, secret_of(app, "loyalty"), {"user": {"id": "dl_eva"}})
    chat.poll()
    body = {"transaction": {"id": "T-1", "points": 1, "partner": "X"}, "from": {"role": "bot"},
            "channelData": {"arbor": {"notice": "agent-joined"}}}
    answer = client.post(f"/b/loyalty/api/management/trigger/{address('loyalty', 'dl_eva')}/transfer-complete"
                         f"?code={key}", json=body)
    assert answer.status_code == 202
    trigger = inbound_rows(app, chat.conversation_id)[-1]
    assert trigger["name"] == "arbor.trigger" and trigger["from"] == {"id": "arbor", "role": "channel"}
    assert "channelData" not in trigger
