"""The Direct Line stream (issue 17): the Conversation object's streamUrl, upgraded to a WebSocket that pushes
activity sets as Microsoft's service does (DIRECTLINE.md, "The WebSocket stream").

Real parts: the app served by werkzeug on a port of 127.0.0.1 (threaded, as `make run` serves it), the suite's
Redis carrying the notes between the thread that commits a turn and the one holding the stream, and
simple-websocket's client (the library the server side uses too) speaking the WebSocket protocol."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest
import requests
from simple_websocket import Client, ConnectionClosed
from simple_websocket import ConnectionError as Refused
from werkzeug.serving import make_server

from runtime.channels.directline import tokens
from runtime.channels.directline.cors import set_allowed_origins
from runtime.steps.base import Input
from runtime.store.conversations import handle
from tests.api.directline_client import DL, FakeClock, bearer, secret_of

WAIT = 10  # seconds a frame may take to come; a generous bound, never a measurement


@pytest.fixture
def dl_clock() -> FakeClock:
    return FakeClock(1_900_000_000.0)


@pytest.fixture
def app_config(dl_clock):
    return {"DIRECTLINE_CLOCK": dl_clock, "DIRECTLINE_STREAM_KEEPALIVE": 0.3}


@pytest.fixture
def server(app, bots) -> Iterator[str]:
    bots.load("dl-shop")
    served = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=served.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{served.server_port}"
    served.shutdown()
    thread.join()


@pytest.fixture
def secret(app, server) -> str:
    return secret_of(app, "dl-shop")


def start(server: str, secret: str) -> dict:
    started = requests.post(f"{server}{DL}/conversations", headers=bearer(secret), json={"user": {"id": "dl_ann"}},
                            timeout=WAIT)
    assert started.status_code == 201, started.text
    return started.json()


def activity_set(ws: Client) -> dict:
    """The next ActivitySet on the stream (skipping keep-alives)."""
    while True:
        frame = ws.receive(timeout=WAIT)
        assert frame is not None, "no frame came"
        if frame:
            return json.loads(frame)


def texts(found: dict) -> list[str]:
    return [activity.get("text") for activity in found["activities"]]


def next_texts(ws: Client, count: int) -> list[str]:
    """The texts of the next `count` activities, in one ActivitySet or several."""
    found = []
    while len(found) < count:
        found += texts(activity_set(ws))
    return found


def say(server: str, conversation: dict, text: str) -> None:
    posted = requests.post(f"{server}{DL}/conversations/{conversation['conversationId']}/activities",
                           headers=bearer(conversation["token"]), timeout=WAIT,
                           json={"type": "message", "from": {"id": "dl_ann"}, "text": text})
    assert posted.status_code == 200, posted.text


def test_a_stream_pushes_the_greeting_then_every_turn(server, secret):
    conversation = start(server, secret)
    url = conversation["streamUrl"]
    assert url.startswith(f"ws://127.0.0.1:{server.rsplit(':', 1)[1]}{DL}/conversations/"
                          f"{conversation['conversationId']}/stream?t=")
    ws = Client.connect(url)  # no Authorization header: the URL is pre-authorized
    try:
        first = activity_set(ws)
        assert texts(first) == ["Hi there!", "What next?"] and first["watermark"] == "2"
        say(server, conversation, "echo")
        pushed = activity_set(ws)
        assert pushed["activities"][0]["from"]["id"] == "dl_ann"  # the user's own message, echoed
        assert texts(pushed) + next_texts(ws, 2 - len(texts(pushed))) == ["echo", "Say something."]
        ws.send("")  # DirectLineJS's own keep-alive: ignored
        assert ws.receive(timeout=WAIT) == ""  # the server's keep-alive (DIRECTLINE_STREAM_KEEPALIVE)
    finally:
        ws.close()


def test_a_turn_committed_elsewhere_reaches_the_stream(app, server, secret):
    conversation = start(server, secret)
    ws = Client.connect(conversation["streamUrl"])
    try:
        activity_set(ws)
        with app.app_context():  # not through the server: a worker, an agent, a trigger commit turns too
            handle(conversation["conversationId"], Input.message("echo"))
        assert next_texts(ws, 2) == ["echo", "Say something."]
    finally:
        ws.close()


def test_a_reconnect_from_a_watermark_misses_nothing(server, secret):
    conversation = start(server, secret)
    ws = Client.connect(conversation["streamUrl"])
    watermark = activity_set(ws)["watermark"]
    ws.close()
    say(server, conversation, "echo")  # while no stream is open
    again = requests.get(f"{server}{DL}/conversations/{conversation['conversationId']}?watermark={watermark}",
                         headers=bearer(conversation["token"]), timeout=WAIT).json()
    assert "watermark=" + watermark in again["streamUrl"] and again["token"]
    ws = Client.connect(again["streamUrl"])
    try:
        assert next_texts(ws, 2) == ["echo", "Say something."]  # not the greeting again
    finally:
        ws.close()
    fresh = requests.get(f"{server}{DL}/conversations/{conversation['conversationId']}",
                         headers=bearer(conversation["token"]), timeout=WAIT).json()
    ws = Client.connect(fresh["streamUrl"])  # no watermark: only what comes from now on
    try:
        assert ws.receive(timeout=WAIT) == ""  # a keep-alive, not the history
    finally:
        ws.close()


def test_a_newer_stream_of_the_conversation_closes_the_older(server, secret):
    conversation = start(server, secret)
    older = Client.connect(conversation["streamUrl"])
    activity_set(older)
    again = requests.get(f"{server}{DL}/conversations/{conversation['conversationId']}?watermark=2",
                         headers=bearer(conversation["token"]), timeout=WAIT).json()
    newer = Client.connect(again["streamUrl"])
    try:
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                older.receive(timeout=WAIT)
        assert (closed.value.reason, closed.value.message) == (4001, "collision")
        say(server, conversation, "echo")
        assert next_texts(newer, 2) == ["echo", "Say something."]
    finally:
        newer.close()


def test_what_does_not_open_a_stream_is_refused_before_the_upgrade(app, server, secret, dl_clock):
    conversation = start(server, secret)
    url, token = conversation["streamUrl"], conversation["token"]
    stream_token = url.split("t=")[1].split("&")[0]
    wrong = [url.replace(stream_token, token),  # the conversation's token is not a stream token
             url.replace(stream_token, stream_token[:-4] + "AAAA"),  # altered
             url.replace(conversation["conversationId"], start(server, secret)["conversationId"])]  # another's
    for refused_url in wrong:
        with pytest.raises(Refused) as refused:
            Client.connect(refused_url)
        assert refused.value.status_code == 403
    # A stream token opens nothing else.
    assert requests.get(f"{server}{DL}/conversations/{conversation['conversationId']}/activities",
                        headers=bearer(stream_token), timeout=WAIT).status_code == 403
    # Expired: a streamUrl is good for 60 s.
    dl_clock.advance(tokens.STREAM_TTL + 1)
    with pytest.raises(Refused) as expired:
        Client.connect(url)
    assert expired.value.status_code == 403


def test_a_page_of_an_origin_the_bot_does_not_allow_gets_no_stream(app, server, secret):
    with app.app_context():
        set_allowed_origins("dl-shop", ["https://shop.example"])
    conversation = start(server, secret)
    with pytest.raises(Refused) as refused:
        Client.connect(conversation["streamUrl"], headers={"Origin": "https://evil.example"})
    assert refused.value.status_code == 403
    allowed = Client.connect(conversation["streamUrl"], headers={"Origin": "https://shop.example"})
    try:
        assert texts(activity_set(allowed)) == ["Hi there!", "What next?"]
    finally:
        allowed.close()


def test_a_stream_closes_when_the_token_it_came_with_expires(server, secret, dl_clock):
    conversation = start(server, secret)
    ws = Client.connect(conversation["streamUrl"])
    activity_set(ws)
    dl_clock.advance(conversation["expires_in"])  # the token's whole life: a refreshed one opens the next stream
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            ws.receive(timeout=WAIT)
    assert (closed.value.reason, closed.value.message) == (4002, "expired")
    expired = requests.get(f"{server}{DL}/conversations/{conversation['conversationId']}?watermark=2",
                           headers=bearer(conversation["token"]), timeout=WAIT)
    assert expired.status_code == 403  # DirectLineJS's cue to get a new token
