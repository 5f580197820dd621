"""Open Direct Line streams when the bot's allowed websites change: a stream of a page the bot no longer allows
closes at once (4003 "OriginNotAllowed", which the widget shows as the website not being allowed), by the rule
the page's REST calls are refused by; streams of pages still allowed, and of callers that are no page, go on.
A stream acts on the list saved last, whatever order the changes' notes are heard in, and one that opens just as
its website is removed (after the upgrade's check, before it watches the notes) closes too.

Real parts: the app served on loopback (and the stream process, `stream_body`), the suite's Redis carrying the
note of the change from the process that saved it, simple-websocket's client (tests/stream_client.py)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import requests
from simple_websocket import Client, ConnectionClosed

from runtime.channels import live
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


@contextmanager
def unpublished(monkeypatch) -> Iterator[list[dict]]:
    """The notes of the list changes saved in the block, kept back (as if their processes were slow to publish)
    for the test to publish in the order it wants (`publish`)."""
    held, publish_now = [], live.Hub.publish

    def holding(hub, key: str, note: dict, activities: str | None = None) -> None:
        if key == live.websites_key("dl-shop"):
            held.append(note)
        else:
            publish_now(hub, key, note, activities)

    with monkeypatch.context() as patched:
        patched.setattr(live.Hub, "publish", holding)
        yield held


def publish(app, *notes: dict) -> None:
    for note in notes:
        live.hub(app).publish(live.websites_key("dl-shop"), note)


def test_a_change_heard_after_a_newer_one_changes_nothing(app, dl_server, dl_secret, monkeypatch):
    allow(app, SHOP, OTHER)
    conversations = [start(dl_server, dl_secret) for _ in range(2)]
    shop, other = (opened(conversation, origin) for conversation, origin in zip(conversations, (SHOP, OTHER),
                                                                                 strict=True))
    with unpublished(monkeypatch) as notes:
        allow(app, OTHER)  # the shop is removed, and put back moments later by another process,
        allow(app, SHOP, OTHER)
    publish(app, *reversed(notes))  # which publishes first: the removal is heard last
    still_streams(dl_server, conversations[0], shop)
    # The other way round: a removal heard before an older change closes the stream, and the older change does
    # not open it again.
    with unpublished(monkeypatch) as notes:
        allow(app, SHOP, OTHER)
        allow(app, SHOP)
    publish(app, *reversed(notes))
    assert closed_with(dl_server, conversations[1], other) == (stream.REFUSED, "OriginNotAllowed")


def test_a_change_older_than_the_list_a_stream_opened_with_changes_nothing(app, dl_server, dl_secret, monkeypatch):
    allow(app, SHOP, OTHER)
    conversation = start(dl_server, dl_secret)
    with unpublished(monkeypatch) as notes:
        allow(app, OTHER)
        allow(app, SHOP, OTHER)
    shop = opened(conversation, SHOP)  # reads the list saved last: the shop is allowed
    publish(app, notes[0])  # the removal, heard late
    still_streams(dl_server, conversation, shop)


def test_a_website_removed_after_the_upgrade_is_checked_closes_the_stream(app, dl_server, dl_secret, monkeypatch):
    """The stream is held after its upgrade was checked (the page allowed), before it watches the list's notes,
    until the website is removed: it never hears that note, and closes all the same."""
    allow(app, SHOP, OTHER)
    conversation = start(dl_server, dl_secret)
    checked, removed, watching = threading.Event(), threading.Event(), live.Hub.watching

    def held(hub, *keys: str, **kwargs):
        if live.websites_key("dl-shop") in keys:
            checked.set()
            assert removed.wait(WAIT)
        return watching(hub, *keys, **kwargs)

    monkeypatch.setattr(live.Hub, "watching", held)
    ws = Client.connect(conversation["streamUrl"], headers={"Origin": SHOP})  # upgraded: checked already
    assert checked.wait(WAIT)
    allow(app, OTHER)
    removed.set()
    assert closed_with(dl_server, conversation, ws) == (stream.REFUSED, "OriginNotAllowed")


def test_a_change_told_by_an_older_arbor_is_acted_on(app, dl_server, dl_secret):
    """During a rolling upgrade a process of an older Arbor saves the list and tells it without a revision: the
    stream acts on it as that Arbor's streams did, and goes on hearing the newer ones."""
    allow(app, SHOP, OTHER)
    conversations = [start(dl_server, dl_secret) for _ in range(2)]
    shop, other = (opened(conversation, origin) for conversation, origin in zip(conversations, (SHOP, OTHER),
                                                                                 strict=True))
    publish(app, {"origins": [OTHER]})  # as an older Arbor tells the shop's removal
    assert closed_with(dl_server, conversations[0], shop) == (stream.REFUSED, "OriginNotAllowed")
    still_streams(dl_server, conversations[1], other)
