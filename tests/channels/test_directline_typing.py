"""The bot types as soon as a turn begins: the stream pushes a `typing` activity from the bot before the turn's
replies (as Microsoft's service streams a bot's typing), from the web app and from the stream process alike.

The turn is held by its integration call, which a local HTTP server answers only once the test has seen the
typing activity on the stream: no sleeps, no race between the two notes."""

from __future__ import annotations

import json
import threading

import pytest
from simple_websocket import Client
from werkzeug import Response

from runtime.store.bots import import_bot
from tests.directline_client import secret_of
from tests.stream_client import WAIT, activity_set, next_texts, say, start, stream_body, texts

assert stream_body  # the autouse fixture: every test here runs against the web app and the stream process


@pytest.fixture
def app_config(dl_clock):
    return {"DIRECTLINE_CLOCK": dl_clock, "DIRECTLINE_STREAM_KEEPALIVE": 0.3, "OUTBOUND_ALLOW_HOSTS": "127.0.0.1"}


@pytest.fixture
def slow_bot(app, httpserver) -> threading.Event:
    """A bot whose answer waits for an outside system; the event lets that system answer."""
    release = threading.Event()

    def answer(_request):
        release.wait(WAIT)
        return Response(json.dumps({"ok": True}), content_type="application/json")

    httpserver.expect_request("/slow").respond_with_handler(answer)
    with app.app_context():
        import_bot({"format": 3, "id": "dl-slow", "name": "Slow", "languages": ["en"], "start": "main",
                    "integrations": {"crm": {"template": "http-request"}},
                    "dialogs": [{"id": "main", "steps": [
                        {"id": "q", "type": "question", "text": "Your order?", "storage": "order"},
                        {"id": "i", "type": "integration", "use": "crm", "timing": "sync", "timeout": 30,
                         "params": {"url": httpserver.url_for("/slow")}},
                        {"id": "m", "type": "message", "text": "Found it."}]}]}, publish=True)
    return release


def frame(ws: Client) -> dict:
    """The next ActivitySet, typing included (skipping keep-alives)."""
    while True:
        text = ws.receive(timeout=WAIT)
        assert text is not None, "no frame came"
        if text:
            return json.loads(text)


def test_the_stream_pushes_typing_when_the_turn_begins(app, served, slow_bot):
    conversation = start(served, secret_of(app, "dl-slow"))
    ws = Client.connect(conversation["streamUrl"])
    saying = threading.Thread(target=say, args=(served, conversation, "A-17"))
    try:
        greeting = activity_set(ws)
        assert texts(greeting) == ["Your order?"]
        saying.start()
        typing = frame(ws)
        assert "watermark" not in typing  # not kept: the client's watermark stays where it is
        [activity] = typing["activities"]
        assert activity["type"] == "typing" and activity["from"] == {"id": "dl-slow", "role": "bot"}
        assert activity["conversation"] == {"id": conversation["conversationId"]} and activity["id"]
        slow_bot.set()  # the outside system answers: the turn ends with its replies
        assert next_texts(ws, 2) == ["A-17", "Found it."]
    finally:
        slow_bot.set()
        saying.join(WAIT)
        ws.close()
