"""The `webchat` fixture Arbor ships for QA teams, on a plain third-party page of another origin that embeds
the widget with one tag, as a shop would."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from runtime.channels.directline.cors import set_allowed_origins
from runtime.testing.playwright_plugin import Webchat

pytestmark = pytest.mark.e2e

SHOP = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Gadget Shop</title></head>
<body><h1>Gadget Shop</h1><p>Phones, cables and chargers since 1999.</p>
<script src="{arbor}/static/webchat.js" data-bot="support" async></script></body></html>"""


@pytest.fixture
def shop(live, site) -> str:
    with live.app.app_context():
        set_allowed_origins("support", [live.url, site.url])
    return site.add("/shop.html", SHOP.format(arbor=live.url))


def test_a_qa_flow_on_a_third_party_page_through_the_plugin(page, webchat: Webchat, shop, site, live):
    assert not site.url.startswith(live.url)  # another origin than Arbor's
    page.goto(shop)
    webchat.open()
    webchat.expect_bot("I am the support bot.")
    webchat.expect_bot("How can I help?")
    webchat.click("Track an order")
    webchat.expect_bot(re.compile(r"order number\? \(two letters"))
    webchat.say("12")
    webchat.expect_bot("Order numbers look like AB1234")
    webchat.say("ab1234")
    webchat.expect_bot("Order AB1234 is on its way.")
    assert webchat.expect_event("show-order") == {"id": "AB1234"}
    webchat.expect_bot("How can I help?")  # the same question again: expected again, not matched twice

    webchat.send_event("checkout-opened")
    webchat.expect_bot("I will wait here until you are done.")
    webchat.send_event("checkout-done", {"total": 12})
    webchat.expect_bot("Thank you for your order!")
    assert webchat.expect_event("confetti") == {"total": "12"}


def test_a_difference_is_reported_with_what_the_bot_said_instead(page, shop, live):
    page.goto(shop)
    chat = Webchat(page, "support", timeout_ms=1500).open()
    chat.expect_bot("How can I help?")
    with pytest.raises(AssertionError, match=r"did not say 'Goodbye' .* it said: \[\]"):
        chat.expect_bot("Goodbye")
    with pytest.raises(AssertionError, match=r"No button 'Pizza' in the chat; buttons shown: \['Track an order', "):
        chat.click("Pizza")
    with pytest.raises(AssertionError, match=r"did not send the event 'confetti'"):
        chat.expect_event("confetti")


def test_the_plugin_loads_without_importing_playwright():
    code = "import sys, runtime.testing.playwright_plugin; print('playwright' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
