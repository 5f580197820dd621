"""A platform connection that has not passed its platform's handshake (Webex Connect's Verify) takes no
events: each is refused 403 with what to do, and nothing is stored; the handshake itself verifies it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

sys.path[:0] = [str(Path(__file__).resolve().parents[1] / "channels")]

from webex_standin import WebexConnect, custom_event, delivery, message, postback  # noqa: E402

from runtime.channels.platforms import connections  # noqa: E402
from runtime.extensions import db  # noqa: E402
from runtime.store.bots import import_bot  # noqa: E402
from runtime.store.models import Conversation, TranscriptEntry  # noqa: E402

BOT = {"format": 1, "id": "wunv", "name": "Webex", "start": "hi", "dialogs": [
    {"id": "hi", "title": "Hi", "steps": [{"id": "m", "type": "message", "text": "Hello."}]}]}
HOOK = "/b/wunv/hooks/webex"


@pytest.fixture
def app_config():
    return {"OUTBOUND_ALLOW_HOSTS": "127.0.0.1 ::1"}


def test_an_unverified_connection_refuses_every_event(app, client, httpserver):
    with app.app_context():
        import_bot(BOT, publish=True)
        made = connections.create("wunv", "webex", "Webex", WebexConnect(httpserver).webhook_url,
                                  kind="webex-connect")
    headers = {"Authorization": f"Bearer {made.token}"}
    for body in (message("Hi", "m1"), postback("x"), custom_event("1001"), delivery("c|0000001", "Read")):
        answer = client.post(HOOK, json=body, headers=headers)
        assert answer.status_code == 403 and "not verified yet" in answer.json["error"]["message"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Conversation)) == 0
        assert db.session.scalar(select(func.count()).select_from(TranscriptEntry)) == 0
    assert client.post(HOOK, json={}, headers=headers).status_code == 200  # Webex's Verify
    assert client.post(HOOK, json=message("Hi", "m1"), headers=headers).status_code == 200
