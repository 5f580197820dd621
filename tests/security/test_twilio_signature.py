"""A Twilio connection takes only requests Twilio signed with the account's auth token over the public URL
Arbor is configured with: the Host header (which a proxy or an attacker sets) plays no part, a signature
made for another URL, with another token or over other fields is refused 403 and nothing is stored, and a
request for another account is refused. The auth token is never shown again."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

sys.path[:0] = [str(Path(__file__).resolve().parents[1] / "channels")]

from twilio_standin import ACCOUNT, AUTH_TOKEN, NUMBER, PUBLIC, signed, sms  # noqa: E402

from runtime.channels.platforms import connections  # noqa: E402
from runtime.extensions import db  # noqa: E402
from runtime.store.bots import import_bot  # noqa: E402
from runtime.store.models import Conversation  # noqa: E402

BOT = {"format": 1, "id": "tbot", "name": "SMS", "start": "hi", "dialogs": [
    {"id": "hi", "title": "Hi", "steps": [{"id": "m", "type": "message", "text": "Hello."}]}]}
HOOK = "/b/tbot/hooks/sms"


@pytest.fixture
def app_config():
    return {"OUTBOUND_ALLOW_HOSTS": "127.0.0.1 ::1", "TWILIO_API_URL": "http://127.0.0.1:9"}


@pytest.fixture
def connected(app):
    with app.app_context():
        import_bot(BOT, publish=True)
        connections.create("tbot", "sms", "Twilio", "", kind="twilio",
                           settings={"accountSid": ACCOUNT, "phoneNumber": NUMBER, "publicUrl": PUBLIC},
                           secrets={"authToken": AUTH_TOKEN})


def stored(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Conversation))


@pytest.mark.parametrize("forged", ["the Host's URL", "another URL", "another token", "other fields", "none"])
def test_a_request_not_signed_for_the_configured_url_is_refused(app, client, connected, forged):
    fields = sms("METER 1", "SM1")
    headers = {"Host": "arbor.example.com", "X-Forwarded-Host": "arbor.example.com", "X-Forwarded-Proto": "https"}
    if forged == "the Host's URL":  # what a server trusting the Host header would check against
        headers.update(signed(f"http://localhost{HOOK}", fields))
    elif forged == "another URL":
        headers.update(signed("https://attacker.example/b/tbot/hooks/sms", fields))
    elif forged == "another token":
        headers.update(signed(PUBLIC, fields, token="guessed-token"))
    elif forged == "other fields":
        headers.update(signed(PUBLIC, {**fields, "Body": "METER 2"}))
    answer = client.post(HOOK, data=fields, headers=headers)
    assert answer.status_code == 403 and "Twilio" in answer.json["error"]["message"]
    assert stored(app) == 0


def test_the_configured_url_alone_decides_whatever_the_host(app, client, connected):
    fields = sms("METER 1", "SM1")
    answer = client.post(HOOK, data=fields, headers={**signed(PUBLIC, fields), "Host": "anything.example"})
    assert answer.status_code == 200 and stored(app) == 1


def test_a_request_for_another_account_is_refused(app, client, connected):
    fields = {**sms("METER 1", "SM1"), "AccountSid": "AC" + "e" * 32}
    answer = client.post(HOOK, data=fields, headers=signed(PUBLIC, fields))
    assert answer.status_code == 403 and stored(app) == 0


def test_the_auth_token_is_never_shown_again(app, connected):
    with app.app_context():
        shown = str(connections.get("tbot", "sms")) + str(connections.list_for("tbot"))
    assert AUTH_TOKEN not in shown
