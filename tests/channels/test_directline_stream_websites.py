"""Open Direct Line streams when the bot's allowed websites change: a stream of a page the bot no longer allows
closes at once (4003 "OriginNotAllowed", which the widget shows as the website not being allowed), by the rule
the page's REST calls are refused by; streams of pages still allowed, and of callers that are no page, go on.

Real parts: the app served on loopback (and the stream process, `stream_body`), the suite's Redis carrying the
note of the change from the process that saved it, simple-websocket's client (tests/stream_client.py)."""

from __future__ import annotations

import pytest
import requests
from simple_websocket import Client, ConnectionClosed

from runtime.channels.directline import stream
from runtime.channels.directline.cors import set_allowed_origins
from tests.stream_client import WAIT, activity_set, next_texts, say, start, stream_body, texts

assert stream_body  # the autouse fixture: every test here runs against the web app and the stream process

SHOP, OTHER = "https://shop.example", "https://other.example"


@pytest.fixture
def app_config(dl_clock):
    return {"DIRECTLINE_CLOCK": dl_clock, "DIRECTLINE_STREAM_KEEPALIVE": 0.3}


def allow(app, *origins: str) -> None:
    with app.app_context():
        set_allowed_origins("dl-shop", list(origins))


def opened(conversation: dict, origin: str | None) -> Client:
    """The conversation's stream, opened by a page of `origin` (None: no page), past its greeting."""
    ws = Client.connect(conversation["streamUrl"], headers={"Origin": origin} if origin else {})
    assert texts(activity_set(ws)) == ["Hi there!", "What next?"]
    return ws


def closed_with(server: str, conversation: dict, ws: Client) -> tuple[int, str]:
    """How the server closes the stream, which pushes nothing more: a turn committed after the change (by a
    caller that is no page, never refused) is not sent on it."""
    say(server, conversation, "echo")
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            assert ws.receive(timeout=WAIT) == "", "the stream sent something other than keep-alives"
    return closed.value.reason, closed.value.message


def still_streams(server: str, conversation: dict, ws: Client) -> None:
    say(server, conversation, "echo")
    assert next_texts(ws, 2) == ["echo", "Say something."]
    ws.close()


def test_the_stream_of_a_removed_website_closes_and_the_others_go_on(app, dl_server, dl_secret):
    allow(app, SHOP, OTHER)
    conversations = [start(dl_server, dl_secret) for _ in range(3)]
    shop, other, backend = (opened(conversation, origin)
                            for conversation, origin in zip(conversations, (SHOP, OTHER, None), strict=True))
    allow(app, OTHER)
    assert closed_with(dl_server, conversations[0], shop) == (stream.REFUSED, "OriginNotAllowed")
    still_streams(dl_server, conversations[1], other)
    still_streams(dl_server, conversations[2], backend)


def test_removing_the_last_website_closes_the_stream_of_a_pages_conversation(app, dl_server, dl_secret):
    allow(app, SHOP)
    given = requests.post(f"{dl_server}/b/dl-shop/webchat/token", headers={"Origin": SHOP}, json={}, timeout=WAIT)
    assert given.status_code == 200, given.text
    page, backends = given.json(), start(dl_server, dl_secret)  # the visitor's conversation; a backend's
    visitor, backend = opened(page, SHOP), opened(backends, SHOP)
    allow(app)
    assert closed_with(dl_server, page, visitor) == (stream.REFUSED, "OriginNotAllowed")
    still_streams(dl_server, backends, backend)  # a conversation opened with the secret: no list, any page
