"""Hole 3 of issue 15: `NaN`, `Infinity`, `-Infinity` and lone surrogates (`"\\ud800"`) are refused at every way
in (Direct Line, platform hooks, the management API, the designer's forms and imports) with a 400 (a 422
page in the designer) that says what was wrong, so nothing Arbor stores, and writes back out, is
non-standard JSON (`JSON.parse` and PostgreSQL's JSONB refuse it)."""

from __future__ import annotations

import json
import sys
from io import BytesIO
from pathlib import Path

import pytest
from sqlalchemy import func, select

sys.path[:0] = [str(Path(__file__).resolve().parents[1] / folder) for folder in ("api", "channels")]

from designer_client import Designer  # noqa: E402
from directline_client import Chat, bearer, secret_of  # noqa: E402
from management import address, make_key  # noqa: E402
from platform_samples import BOT, WHO  # noqa: E402

from runtime.channels.platforms import connections  # noqa: E402
from runtime.extensions import db  # noqa: E402
from runtime.store.bots import import_bot  # noqa: E402
from runtime.store.models import Conversation, TranscriptEntry  # noqa: E402

# Raw bodies: Python's json.dumps would write NaN too, but a lone surrogate needs its escape written by hand.
BAD = [
    ('{"type": "event", "name": "price", "value": NaN}', "NaN is not a JSON number"),
    ('{"type": "event", "name": "price", "value": {"total": [1, Infinity]}}', "Infinity is not a JSON number"),
    ('{"type": "message", "text": "hi", "channelData": {"x": -Infinity}}', "-Infinity is not a JSON number"),
    ('{"type": "message", "text": "a\\ud800b"}', "lone surrogate"),
    ('{"type": "message", "text": "hi", "channelData": {"\\udfff": 1}}', "lone surrogate"),
    ('{"type": "event", "name": "price", "value": 1e999}', "Infinity is not a JSON number"),  # too big: Infinity
]


@pytest.fixture
def app_config():
    return {"OUTBOUND_ALLOW_HOSTS": "127.0.0.1 ::1"}  # the platform's outbound address is the local receiver


def strict(data: bytes):
    """Parse as a browser's JSON.parse would: no NaN, no Infinity."""
    def refuse(constant):
        raise AssertionError(f"non-standard JSON written out: {constant}")
    return json.loads(data, parse_constant=refuse)


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize("body, says", BAD)
def test_direct_line_refuses_and_stores_nothing(app, client, bots, body, says):
    bots.load("dl-shop")
    chat = Chat.generate(client, secret_of(app, "dl-shop"))
    chat.poll()
    before = count(app, TranscriptEntry)
    answer = client.post(chat.url, data=body, headers={**bearer(chat.token), "Content-Type": "application/json"})
    assert answer.status_code == 400
    assert answer.get_json()["error"]["code"] == "BadArgument" and says in answer.get_json()["error"]["message"]
    assert count(app, TranscriptEntry) == before
    polled = chat.get("")
    assert polled.status_code == 200 and strict(polled.data)["activities"]  # what is polled back parses


def test_a_body_in_utf16_is_checked_as_closely(app, client, bots):
    """JSON may come in UTF-16 (json.loads reads it): its escapes are not the bytes of UTF-8's, and still count."""
    bots.load("dl-shop")
    chat = Chat.generate(client, secret_of(app, "dl-shop"))
    answer = client.post(chat.url, data='{"type": "message", "text": "a\\ud800b"}'.encode("utf-16"),
                         headers={**bearer(chat.token), "Content-Type": "application/json"})
    assert answer.status_code == 400 and "lone surrogate" in answer.get_json()["error"]["message"]


@pytest.mark.parametrize("body, says", [
    ('{"type": "message", "id": "m1", %s, "messageType": "text", "text": "x", "meta": NaN}', "NaN"),
    ('{"type": "event", %s, "eventId": "order-shipped", "parameters": {"order": Infinity}}', "Infinity"),
    ('{"type": "message", "id": "m1", %s, "messageType": "text", "text": "Tea \\ud83d"}', "lone surrogate"),
])
def test_platform_hooks_refuse(app, client, receiver, body, says):
    with app.app_context():
        import_bot(BOT, publish=True)
        token = connections.create("pbot", "acme", "Acme CX", receiver.url,
                                   credentials={"kind": "bearer", "token": "t"}).token
    who = json.dumps(WHO)[1:-1]
    answer = client.post("/b/pbot/hooks/acme", data=body % who,
                         headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    assert answer.status_code == 400 and says in answer.json["error"]["message"]
    assert count(app, Conversation) == 0


@pytest.mark.parametrize("body, says", [('{"transaction": {"points": NaN}}', "NaN is not a JSON number"),
                                        ('{"note": "\\ud800"}', "lone surrogate")])
def test_the_management_api_refuses(app, client, bots, body, says):
    bots.load("loyalty")
    key = make_key(app, "loyalty", "crm")
    chat = Chat.generate(client, secret_of(app, "loyalty"), {"user": {"id": "dl_eva"}})
    chat.poll()
    before = count(app, TranscriptEntry)
    answer = client.post(f"/b/loyalty/api/management/trigger/{address('loyalty', 'dl_eva')}/transfer-complete"
                         f"?code={key}", data=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 400 and says in answer.text
    assert count(app, TranscriptEntry) == before
    hooks = client.post(f"/b/loyalty/api/management/webhooks?code={key}",
                        data='{"url": "https://example.com/hook", "events": ["message.sent"], "x": Infinity}',
                        headers={"Content-Type": "application/json"})
    assert hooks.status_code == 400 and "Infinity is not a JSON number" in hooks.text


@pytest.mark.parametrize("text, says", [
    ('{"format": 1, "id": "nan", "name": "N", "start": "a", "dialogs": [{"id": "a", "title": "A", "steps": '
     '[{"id": "s", "type": "wait", "events": ["x"], "timeout": NaN, "onEvent": [], "onTimeout": []}]}]}',
     "NaN is not a JSON number"),
    ('{"format": 1, "id": "sur", "name": "\\ud800", "start": "a", "dialogs": []}', "lone surrogate"),
])
def test_designer_imports_refuse(app, client, text, says):
    designer = Designer(app, client).sign_in()
    designer.csrf("/designer/import")
    answer = designer.post("/designer/import", {"file": (BytesIO(text.encode()), "bot.json")},
                           content_type="multipart/form-data")
    assert answer.status_code == 422 and says in answer.text
    assert "Not standard JSON" in answer.text


def test_designer_forms_refuse(app, client):
    designer = Designer(app, client).sign_in()
    bot_id = designer.create_bot()
    step = designer.add_step(bot_id, "faq", "welcome")
    for value in ("nan", "inf", "-Infinity"):
        answer = designer.edit(f"/designer/bots/{bot_id}/steps/{step}", {"threshold": value})
        assert "NaN and Infinity are not numbers JSON can keep" in answer.text, value
    doc, _ = designer.draft(bot_id)
    assert json.dumps(doc, allow_nan=False)  # the draft holds no NaN or Infinity
