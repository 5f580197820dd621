"""The Direct Line stream's promises (issue 17): a stream opens only with the stream token its Conversation
object gave (60 s to use, for that conversation only, opening nothing else), only for pages of origins the bot
allows (WebSockets have no CORS of their own), and no longer than the token it came with lives. Refusals come
before the upgrade, as Direct Line error JSON with 403.

Real parts: the app served on loopback, the suite's Redis, simple-websocket's client (tests/stream_client.py)."""

from __future__ import annotations

import pytest
import requests
from simple_websocket import Client, ConnectionClosed
from simple_websocket import ConnectionError as Refused

from runtime.channels.directline import tokens
from runtime.channels.directline.cors import set_allowed_origins
from tests.directline_client import DL, bearer
from tests.stream_client import WAIT, activity_set, start, stream_body, texts

assert stream_body  # the autouse fixture: every promise here holds for the web app and for the stream process


@pytest.fixture
def app_config(dl_clock):
    return {"DIRECTLINE_CLOCK": dl_clock, "DIRECTLINE_STREAM_KEEPALIVE": 0.3}


def test_what_does_not_open_a_stream_is_refused_before_the_upgrade(app, dl_server, dl_secret, dl_clock):
    conversation = start(dl_server, dl_secret)
    url, token = conversation["streamUrl"], conversation["token"]
    stream_token = url.split("t=")[1].split("&")[0]
    wrong = [url.replace(stream_token, token),  # the conversation's token is not a stream token
             url.replace(stream_token, stream_token[:-4] + "AAAA"),  # altered
             url.replace(conversation["conversationId"], start(dl_server, dl_secret)["conversationId"])]  # another's
    for refused_url in wrong:
        with pytest.raises(Refused) as refused:
            Client.connect(refused_url)
        assert refused.value.status_code == 403
    # A stream token opens nothing else.
    assert requests.get(f"{dl_server}{DL}/conversations/{conversation['conversationId']}/activities",
                        headers=bearer(stream_token), timeout=WAIT).status_code == 403
    # Expired: a streamUrl is good for 60 s.
    dl_clock.advance(tokens.STREAM_TTL + 1)
    with pytest.raises(Refused) as expired:
        Client.connect(url)
    assert expired.value.status_code == 403


def test_a_page_of_an_origin_the_bot_does_not_allow_gets_no_stream(app, dl_server, dl_secret):
    with app.app_context():
        set_allowed_origins("dl-shop", ["https://shop.example"])
    conversation = start(dl_server, dl_secret)
    with pytest.raises(Refused) as refused:
        Client.connect(conversation["streamUrl"], headers={"Origin": "https://evil.example"})
    assert refused.value.status_code == 403
    allowed = Client.connect(conversation["streamUrl"], headers={"Origin": "https://shop.example"})
    try:
        assert texts(activity_set(allowed)) == ["Hi there!", "What next?"]
    finally:
        allowed.close()


def test_a_stream_closes_when_the_token_it_came_with_expires(dl_server, dl_secret, dl_clock):
    conversation = start(dl_server, dl_secret)
    ws = Client.connect(conversation["streamUrl"])
    activity_set(ws)
    dl_clock.advance(conversation["expires_in"])  # the token's whole life: a refreshed one opens the next stream
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            ws.receive(timeout=WAIT)
    assert (closed.value.reason, closed.value.message) == (4002, "expired")
    expired = requests.get(f"{dl_server}{DL}/conversations/{conversation['conversationId']}?watermark=2",
                           headers=bearer(conversation["token"]), timeout=WAIT)
    assert expired.status_code == 403  # DirectLineJS's cue to get a new token
