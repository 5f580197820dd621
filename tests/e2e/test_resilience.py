"""What the widget does when things go wrong or happen out of sight: the network drops, tokens expire,
the bot speaks while the chat is closed, the bot's links point where they must not."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Page, expect

from runtime.testing.playwright_plugin import Webchat

pytestmark = pytest.mark.e2e


def test_offline_is_shown_and_a_message_that_failed_can_be_sent_again(page: Page, live):
    page.goto(live.demo("support"))
    chat = Webchat(page, "support").open()
    chat.expect_bot("How can I help?")

    page.context.set_offline(True)
    chat.part("arbor-input").fill("Track an order")
    chat.part("arbor-send").click()
    expect(chat.part("arbor-status")).to_have_text("You are offline. Retrying when you are back.")
    retry = chat.messages("user").get_by_role("button", name="Not sent. Retry")
    expect(retry).to_be_visible()

    page.context.set_offline(False)
    expect(chat.part("arbor-status")).to_be_hidden()
    retry.click()
    chat.expect_bot("What is your order number?")


def test_the_bot_speaking_while_the_chat_is_closed_shows_a_badge(page: Page, live):
    page.goto(live.demo("support"))
    page.wait_for_function("window.Arbor && Arbor.get('support')")
    page.evaluate("Arbor.get('support').sendEvent('order-help', 'XY9876')")  # the page alone, chat closed
    chat = Webchat(page, "support")
    badge = chat.part("arbor-badge")
    expect(badge).to_have_text("5")  # greeting (2), the order (1), greeting again (2)
    expect(chat.part("arbor-launcher")).to_have_accessible_name("Open chat: Support desk, 5 unread")
    chat.open().expect_bot("Order XY9876 is on its way.")
    expect(badge).to_be_hidden()


def test_tokens_are_refreshed_before_they_expire(page: Page, live, monkeypatch):
    monkeypatch.setitem(live.app.config, "DIRECTLINE_TOKEN_TTL", 3)  # refreshed 1.5 s before expiry
    page.goto(live.demo("support"))
    chat = Webchat(page, "support").open()
    chat.expect_bot("How can I help?")
    for _ in range(2):
        with page.expect_response("**/v3/directline/tokens/refresh") as refreshed:
            pass
        assert refreshed.value.ok
    chat.button("Track an order").click()
    chat.expect_bot("What is your order number?")
    expect(chat.messages()).to_have_count(4)  # the same conversation throughout


def test_an_expired_token_starts_a_new_conversation(page: Page, live, monkeypatch):
    page.goto(live.demo("support"))
    chat = Webchat(page, "support").open()
    chat.expect_bot("How can I help?")
    monkeypatch.setitem(live.app.config, "DIRECTLINE_CLOCK", lambda: time.time() + 24 * 3600)  # a day later
    expect(chat.host.get_by_text("The conversation expired, so a new one started.")).to_be_visible()
    expect(chat.messages("bot")).to_have_count(2)  # the new greeting only
    chat.button("Track an order").click()
    chat.expect_bot("What is your order number?")


def test_links_the_bot_makes_are_followed_only_when_they_are_http(page: Page, live):
    page.goto(live.demo("widget-kit"))
    page.evaluate("() => { window.open = (...args) => { window.opened = args; }; }")
    chat = Webchat(page, "widget-kit").open()
    chat.button("A script").click()
    card = chat.expect_bot("Opening javascript:window.pwned=1").get_by_test_id("arbor-card")
    expect(card.locator("img")).to_have_count(0)
    expect(card.get_by_test_id("arbor-card-button")).to_have_count(0)  # the server dropped the javascript: link
    expect(chat.button("A page")).to_be_visible()  # asked again: the navigate event was ignored
    assert page.evaluate("[window.opened, window.pwned]") == [None, None]

    with page.expect_navigation(url=f"{live.url}/b/widget-kit/demo?went=1"):
        chat.button("A page").click()


def test_the_typing_indicator_shows_while_the_reply_is_on_its_way(page: Page, live):
    page.goto(live.demo("support"))
    chat = Webchat(page, "support").open()
    chat.expect_bot("How can I help?")

    held, gate = [], {"open": False}

    def hold(route) -> None:  # the message waits to be sent until the test opens the gate: no reply before
        if gate["open"] or route.request.method != "POST":
            route.continue_()
        else:
            held.append(route)

    page.route(lambda url: url.split("?")[0].endswith("/activities"), hold)
    chat.button("Track an order").click()
    typing = chat.part("arbor-typing")
    expect(typing).to_be_visible()
    gate["open"] = True
    for route in held:
        route.continue_()
    chat.expect_bot("What is your order number?")
    expect(typing).to_be_hidden()
