"""The trigger API reaches an SMS user who never wrote to the bot: a conversation is begun through the bot's
Twilio connection and its messages go out at once (the Messages API, a local stand-in), and the user's answer
by SMS continues that conversation. A platform where Arbor cannot write first answers 404 saying why."""

from __future__ import annotations

import base64
import json

import pytest
from sqlalchemy import select
from test_twilio import app_config, post, twilio, twiml  # noqa: F401  (fixtures)
from twilio_standin import ACCOUNT, AUTH_TOKEN, NUMBER, PUBLIC, USER, sms

from runtime.channels.platforms import connections
from runtime.extensions import db
from runtime.management.keys import create_key
from runtime.store.bots import import_bot
from runtime.store.models import Conversation

BOT = {"format": 3, "id": "tbot", "name": "Meter bot", "languages": ["en"], "start": "welcome", "dialogs": [
    {"id": "welcome", "title": "Welcome", "steps": [
        {"id": "q1", "type": "question", "text": "Send METER and your reading.", "storage": "reading"},
        {"id": "m1", "type": "message", "text": "Stored {{ reading }} for {{ user.phone }}."}]},
    {"id": "reading-due", "title": "Reading due", "steps": [
        {"id": "d1", "type": "message", "text": "Your meter reading is due, {{ user.phone }}."}]}]}


@pytest.fixture
def key(app):
    with app.app_context():
        import_bot(BOT, publish=True)
        connections.create("tbot", "sms", "Twilio SMS", "", kind="twilio",
                           settings={"accountSid": ACCOUNT, "phoneNumber": NUMBER, "publicUrl": PUBLIC},
                           secrets={"authToken": AUTH_TOKEN})
        return create_key("tbot", "crm")[1]


def address(user: str) -> str:
    raw = json.dumps({"bot": "tbot", "user": {"id": user}, "channelId": "platform"}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def test_a_trigger_texts_a_user_who_never_wrote(app, client, key, twilio, jobs):  # noqa: F811
    answer = client.post(f"/b/tbot/api/management/trigger/{address(f'twilio:{USER}')}/reading-due?code={key}")
    assert answer.status_code == 202, answer.json
    jobs.drain()
    assert [(sent["To"], sent["From"], sent["Body"]) for sent in twilio.sent] == [
        (USER, NUMBER, "Send METER and your reading."), (USER, NUMBER, f"Your meter reading is due, {USER}."),
        (USER, NUMBER, "Send METER and your reading.")]
    # The user answers by SMS: the same conversation goes on.
    assert twiml(post(client, sms("METER 4711", "SM1")))[0]["text"] == f"Stored METER 4711 for {USER}."
    with app.app_context():
        assert db.session.scalars(select(Conversation.id)).all() == [answer.json["conversationId"]]


def test_where_arbor_cannot_write_first_the_trigger_says_so(client, key):
    answer = client.post(f"/b/tbot/api/management/trigger/{address('webex:abc')}/reading-due?code={key}")
    assert answer.status_code == 404
    assert "Arbor can write first only to an SMS or WhatsApp number" in answer.json["error"]["message"]
