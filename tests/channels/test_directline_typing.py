"""The bot types while its reply waits for the world: once the visitor's message is echoed, the stream pushes a
`typing` activity from the bot until the reply comes (as Microsoft's service streams a bot's typing), from the
web app and from the stream process alike. A turn that only computes pushes its reply and no typing.

The turn is held by its integration call, which a local HTTP server answers only once the test has seen the
typing activity on the stream: no sleeps, no race between the notes."""

from __future__ import annotations

import json
import threading

import pytest
from simple_websocket import Client
from werkzeug import Response

from runtime.store.bots import import_bot
from tests.directline_client import secret_of
from tests.stream_client import WAIT, activity_set, say, start, stream_body, texts

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


def test_the_stream_pushes_typing_while_the_reply_waits_for_an_outside_system(app, served, slow_bot):
    conversation = start(served, secret_of(app, "dl-slow"))
    ws = Client.connect(conversation["streamUrl"])
    saying = threading.Thread(target=say, args=(served, conversation, "A-17"))
    try:
        greeting = activity_set(ws)
        assert texts(greeting) == ["Your order?"]
        saying.start()
        echo = frame(ws)
        assert texts(echo) == ["A-17"] and echo["watermark"]  # the visitor's message is kept before the call
        typing = frame(ws)
        assert "watermark" not in typing  # not kept: the client's watermark stays where it is
        [activity] = typing["activities"]
        assert activity["type"] == "typing" and activity["from"] == {"id": "dl-slow", "role": "bot"}
        assert activity["conversation"] == {"id": conversation["conversationId"]} and activity["id"]
        slow_bot.set()  # the outside system answers: the turn ends with its reply
        reply = frame(ws)
        assert texts(reply) == ["Found it."] and int(reply["watermark"]) > int(echo["watermark"])
    finally:
        slow_bot.set()
        saying.join(WAIT)
        ws.close()


def test_a_turn_that_only_computes_pushes_its_reply_and_no_typing(app, served):
    with app.app_context():
        import_bot({"format": 3, "id": "dl-quick", "name": "Quick", "languages": ["en"], "start": "main",
                    "dialogs": [{"id": "main", "steps": [
                        {"id": "q", "type": "question", "text": "Your name?", "storage": "name"},
                        {"id": "m", "type": "message", "text": "Hello {{ name }}."}]}]}, publish=True)
    conversation = start(served, secret_of(app, "dl-quick"))
    ws = Client.connect(conversation["streamUrl"])
    try:
        assert texts(activity_set(ws)) == ["Your name?"]
        say(served, conversation, "Ada")
        turn = frame(ws)  # the echo and the reply, in one set: no typing before them
        assert texts(turn) == ["Ada", "Hello Ada."]
        assert [a["type"] for a in turn["activities"]] == ["message", "message"]
    finally:
        ws.close()
