"""The widget sends a message again when the server says it is away for a moment (503 with Retry-After, as Arbor
answers while its database restarts: runtime/store/outage.py), with the same clientActivityID, so the visitor
never sees it fail and the bot hears it once (the faults suite, tests/faults/, counts that server side)."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Page, expect

from runtime.testing.playwright_plugin import Webchat

pytestmark = pytest.mark.e2e


def test_a_message_refused_with_503_is_sent_again_and_heard_once(page: Page, live):
    page.goto(live.demo("support"))
    chat = Webchat(page, "support").open()
    chat.expect_bot("How can I help?")

    posted: list[str] = []

    def away_once(route) -> None:  # the first POST of a message: the database is away
        if route.request.method != "POST":
            route.continue_()
            return
        posted.append(json.loads(route.request.post_data)["channelData"]["clientActivityID"])
        if len(posted) == 1:
            route.fulfill(status=503, headers={"Retry-After": "1", "Content-Type": "application/json"},
                          body=json.dumps({"error": {"code": "ServiceUnavailable", "message": "away"}}))
        else:
            route.continue_()

    page.route(lambda url: url.split("?")[0].endswith("/activities"), away_once)
    chat.button("Track an order").click()
    chat.expect_bot("What is your order number?")
    assert len(posted) == 2 and posted[0] == posted[1], posted  # the same message, sent again
    expect(chat.messages("user").get_by_role("button", name="Not sent. Retry")).to_have_count(0)
    expect(chat.messages("user")).to_have_count(1)
    expect(chat.messages("bot").filter(has_text="What is your order number?")).to_have_count(1)
