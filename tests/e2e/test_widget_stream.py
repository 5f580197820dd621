"""The widget over the Direct Line stream (issue 17): replies pushed on one WebSocket, no polling; a message
committed out of the page's sight (an agent, a trigger, a worker) shown at once; polling where a proxy
refuses the upgrade; a dropped stream reconnected from its watermark with nothing lost."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from runtime.extensions import db
from runtime.steps.base import Input
from runtime.testing.playwright_plugin import Webchat
from runtime.turns.turn import handle

pytestmark = pytest.mark.e2e


class Traffic:
    """The page's WebSockets and its polls of the activities."""

    def __init__(self, page: Page):
        self.sockets, self.polls = [], []
        page.on("websocket", lambda ws: self.sockets.append(ws))
        page.on("request", lambda request: self.polls.append(request.url) if request.method == "GET"
                and "/activities?watermark=" in request.url else None)


@pytest.fixture
def refusing_proxy(live) -> Iterator[None]:
    """A proxy in front of Arbor that answers every WebSocket upgrade with 502, as some do."""
    served = live.app.wsgi_app

    def proxy(environ, start_response):
        if environ.get("HTTP_UPGRADE", "").lower() == "websocket":
            start_response("502 Bad Gateway", [("Content-Type", "text/plain")])
            return [b"upgrades are not allowed here"]
        return served(environ, start_response)

    live.app.wsgi_app = proxy
    yield
    live.app.wsgi_app = served


def test_replies_come_over_one_stream_and_nothing_polls(page: Page, live):
    traffic = Traffic(page)
    page.goto(live.demo("support"))
    chat = Webchat(page, "support").open()
    chat.expect_bot("How can I help?")
    chat.button("Track an order").click()
    chat.expect_bot("What is your order number?")
    assert len(traffic.sockets) == 1 and "/stream?t=" in traffic.sockets[0].url
    assert traffic.polls == []


def test_a_message_committed_elsewhere_shows_without_a_poll(page: Page, live):
    traffic = Traffic(page)
    page.goto(live.demo("support"))
    chat = Webchat(page, "support").open()
    chat.expect_bot("How can I help?")
    conversation = page.evaluate("Arbor.get('support').conv.conversationId")
    with live.app.app_context():  # as an agent's reply or a trigger would: not through the page's requests
        handle(conversation, Input.message("Track an order"))
        db.session.remove()
    chat.expect_bot("What is your order number?")
    assert traffic.polls == []


def test_where_a_proxy_refuses_the_upgrade_the_widget_polls(page: Page, live, refusing_proxy):
    traffic = Traffic(page)
    page.goto(live.demo("support"))
    chat = Webchat(page, "support").open()
    chat.expect_bot("How can I help?")
    chat.button("Track an order").click()
    chat.expect_bot("What is your order number?")
    assert traffic.polls  # it fell back to polling
    expect(chat.part("arbor-status")).to_be_hidden()  # and says nothing of it: the chat works


def test_a_dropped_stream_reconnects_from_its_watermark(page: Page, live):
    traffic = Traffic(page)
    page.goto(live.demo("support"))
    chat = Webchat(page, "support").open()
    chat.expect_bot("How can I help?")
    page.evaluate("Arbor.get('support').socket.close()")  # the network drops it
    chat.button("Track an order").click()  # answered while the stream is down: polling brings it
    chat.expect_bot("What is your order number?")
    page.wait_for_function("Arbor.get('support').streaming === true")  # reconnected
    assert len(traffic.sockets) == 2 and "watermark=" in traffic.sockets[1].url
    chat.part("arbor-input").fill("XY1234")
    chat.part("arbor-send").click()
    chat.expect_bot("Order XY1234 is on its way.")
    # greeting (2), the question, the order, the greeting again (2): each once, though both the poll and the
    # reconnected stream read after the same watermark
    expect(chat.messages("bot")).to_have_count(6)
