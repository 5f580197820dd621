"""The Direct Line stream (issue 17): the Conversation object's streamUrl, upgraded to a WebSocket that pushes
activity sets as Microsoft's service does (DIRECTLINE.md, "The WebSocket stream").

Real parts: the app served by werkzeug on a port of 127.0.0.1 (threaded, as `make run` serves it), the suite's
Redis carrying the notes between the thread that commits a turn and the one holding the stream, and
simple-websocket's client (the library the server side uses too) speaking the WebSocket protocol."""

from __future__ import annotations

import json

import pytest
import requests
from simple_websocket import Client, ConnectionClosed

from runtime.channels.directline import stream
from runtime.steps.base import Input
from runtime.store.activities import ARBOR
from runtime.turns.turn import handle
from tests.directline_client import DL, bearer
from tests.stream_client import WAIT, activity_set, next_texts, say, start, stream_body, texts

assert stream_body  # the autouse fixture: every test here runs against the web app and the stream process


@pytest.fixture
def app_config(dl_clock):
    return {"DIRECTLINE_CLOCK": dl_clock, "DIRECTLINE_STREAM_KEEPALIVE": 0.3}


def test_a_stream_pushes_the_greeting_then_every_turn(dl_server, dl_secret, stream_body):
    conversation = start(dl_server, dl_secret)
    url = conversation["streamUrl"]
    base = stream_body or f"ws://127.0.0.1:{dl_server.rsplit(':', 1)[1]}"
    assert url.startswith(f"{base}{DL}/conversations/{conversation['conversationId']}/stream?t=")
    ws = Client.connect(url)  # no Authorization header: the URL is pre-authorized
    try:
        first = activity_set(ws)
        assert texts(first) == ["Hi there!", "What next?"] and first["watermark"] == "2"
        say(dl_server, conversation, "echo")
        pushed = activity_set(ws)
        assert pushed["activities"][0]["from"]["id"] == "dl_ann"  # the user's own message, echoed
        assert texts(pushed) + next_texts(ws, 2 - len(texts(pushed))) == ["echo", "Say something."]
        ws.send("")  # DirectLineJS's own keep-alive: ignored
        assert ws.receive(timeout=WAIT) == ""  # the server's keep-alive (DIRECTLINE_STREAM_KEEPALIVE)
    finally:
        ws.close()


def test_a_turn_committed_elsewhere_reaches_the_stream(app, dl_server, dl_secret):
    conversation = start(dl_server, dl_secret)
    ws = Client.connect(conversation["streamUrl"])
    try:
        activity_set(ws)
        with app.app_context():  # not through the server: a worker, an agent, a trigger commit turns too
            handle(conversation["conversationId"], Input.message("echo"))
        assert next_texts(ws, 2) == ["echo", "Say something."]
    finally:
        ws.close()


def test_a_reconnect_from_a_watermark_misses_nothing(dl_server, dl_secret):
    conversation = start(dl_server, dl_secret)
    ws = Client.connect(conversation["streamUrl"])
    watermark = activity_set(ws)["watermark"]
    ws.close()
    say(dl_server, conversation, "echo")  # while no stream is open
    again = requests.get(f"{dl_server}{DL}/conversations/{conversation['conversationId']}?watermark={watermark}",
                         headers=bearer(conversation["token"]), timeout=WAIT).json()
    assert "watermark=" + watermark in again["streamUrl"] and again["token"]
    ws = Client.connect(again["streamUrl"])
    try:
        assert next_texts(ws, 2) == ["echo", "Say something."]  # not the greeting again
    finally:
        ws.close()
    fresh = requests.get(f"{dl_server}{DL}/conversations/{conversation['conversationId']}",
                         headers=bearer(conversation["token"]), timeout=WAIT).json()
    ws = Client.connect(fresh["streamUrl"])  # no watermark: only what comes from now on
    try:
        assert ws.receive(timeout=WAIT) == ""  # a keep-alive, not the history
    finally:
        ws.close()


def test_a_newer_stream_of_the_conversation_closes_the_older(dl_server, dl_secret):
    conversation = start(dl_server, dl_secret)
    older = Client.connect(conversation["streamUrl"])
    activity_set(older)
    again = requests.get(f"{dl_server}{DL}/conversations/{conversation['conversationId']}?watermark=2",
                         headers=bearer(conversation["token"]), timeout=WAIT).json()
    newer = Client.connect(again["streamUrl"])
    try:
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                older.receive(timeout=WAIT)
        assert (closed.value.reason, closed.value.message) == (4001, "collision")
        say(dl_server, conversation, "echo")
        assert next_texts(newer, 2) == ["echo", "Say something."]
    finally:
        newer.close()


def test_a_turn_too_big_for_its_note_is_read_from_the_store(dl_server, dl_secret, monkeypatch):
    from runtime.channels import live
    monkeypatch.setattr(live, "MAX_CARRIED", 10)  # every turn's activities are over it: the note carries none
    conversation = start(dl_server, dl_secret)
    ws = Client.connect(conversation["streamUrl"])
    try:
        activity_set(ws)
        say(dl_server, conversation, "echo")
        assert next_texts(ws, 2) == ["echo", "Say something."]
    finally:
        ws.close()


def turn_note(first: int, last: int, *texts_: str, sender: dict | None = None) -> dict:
    """A committed turn's note as the hub hands it to a stream (`live.on_turn`)."""
    activities = [{"type": "message", "id": f"c|{seq:07d}", "text": text, "from": sender or {"id": "u"}}
                  for seq, text in zip(range(first, last + 1), texts_, strict=True)]
    return {"first": first, "seq": last, "bot": "b", "conversation": "c", "activities": json.dumps(activities)}


def test_notes_that_continue_the_stream_are_sent_as_they_are_carried():
    sets, reached = stream.pushed([turn_note(3, 4, "hi", "hello"), {"typing": "bot"}, turn_note(5, 5, "next")], 2)
    assert [json.loads(text) for text in sets] == [
        {"activities": json.loads(turn_note(3, 4, "hi", "hello")["activities"]), "watermark": "4"},
        {"activities": json.loads(turn_note(5, 5, "next")["activities"]), "watermark": "5"}]
    assert reached == 5


def test_an_input_arbor_made_moves_the_watermark_and_is_not_sent():
    assert stream.pushed([turn_note(3, 3, "t", sender=ARBOR)], 2) == ([], 3)


def test_a_note_already_sent_is_skipped():
    assert stream.pushed([turn_note(3, 4, "hi", "hello")], 4) == ([], 4)


@pytest.mark.parametrize("notes", [
    [turn_note(4, 4, "after a gap")],  # the note of turn 3 was not heard (yet)
    [turn_note(4, 4, "later"), turn_note(3, 3, "earlier")],  # two processes' turns heard out of order
    [{"first": 3, "seq": 3, "bot": "b", "conversation": "c"}],  # too big to carry
    [{"reconnected": True}],  # the listener heard Redis again: notes may be lost
])
def test_after_a_gap_the_stream_reads_the_store(notes):
    assert stream.pushed(notes, 2) is None


def test_the_bot_types_after_a_turn_only_when_its_typing_came_last():
    assert stream.typing_last([turn_note(3, 3, "A-17"), {"typing": "bot"}])
    assert not stream.typing_last([{"typing": "bot"}, turn_note(3, 4, "A-17", "Found it.")])
    assert not stream.typing_last([turn_note(3, 3, "A-17"), {"typing": "user"}])


def test_the_stream_asked_for_over_plain_http_says_to_open_it_as_a_websocket(dl_server, dl_secret):
    """A client that GETs the streamUrl without the upgrade (an HTTP library, a misread of the docs) is told what the
    URL is and what to do, as a Direct Line error; werkzeug's own words were about browsers and proxies."""
    conversation = start(dl_server, dl_secret)
    answer = requests.get(conversation["streamUrl"].replace("ws://", "http://", 1), timeout=WAIT)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "BadArgument"
    assert answer.json()["error"]["message"].startswith("A conversation's stream is a WebSocket: open the streamUrl")
