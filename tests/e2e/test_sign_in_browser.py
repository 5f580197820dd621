"""Integrations on the visitor's behalf, in the browser (issue 18 §4): the visitor clicks the sign-in button in
the widget, consents on the provider's page (a local OAuth 2.0 provider built with Authlib's server side), and
the bot answers in the widget with data fetched with the visitor's own token. Microsoft's Web Chat shows the
same sign-in card and goes on the same way."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from oauth_provider import Provider, Running
from playwright.sync_api import Page, expect
from sign_in_flow import BOT, callback_url, publish_orders_bot
from test_botframework_webchat import PAGE, WEBCHAT_JS, site_backend_token

from runtime.channels.directline.cors import set_allowed_origins
from runtime.extensions import db
from runtime.testing.playwright_plugin import Webchat

pytestmark = pytest.mark.e2e


@pytest.fixture
def provider(live) -> Iterator[Provider]:
    running = Running(Provider(redirect_uris=[callback_url(live.url)]))
    # The address the provider sends visitors back to, whichever request ran the turn that showed the button (a
    # site's backend makes Web Chat's conversation, so its first turn runs in that backend's request).
    live.app.config["ARBOR_BASE_URL"] = live.url
    with live.app.app_context():
        publish_orders_bot(running.provider)
        set_allowed_origins(BOT, [live.url])
        db.session.remove()
    yield running.provider
    del live.app.config["ARBOR_BASE_URL"]
    running.stop()


def test_the_visitor_signs_in_from_the_widget_and_the_bot_answers_with_their_data(page: Page, live, provider):
    page.goto(live.demo(BOT))
    chat = Webchat(page, BOT).open()
    chat.expect_bot("Sign in to Example ID to see your orders.")
    with page.context.expect_page() as opened:
        chat.click("Sign in")
    consent = opened.value
    expect(consent.get_by_role("heading", name="Example ID")).to_be_visible()
    consent.get_by_role("button", name="Allow").click()
    expect(consent.get_by_test_id("sign-in-outcome")).to_have_text("You are signed in. Go back to the chat.")
    chat.expect_bot("Hello Eva Novak: order A-1001 is shipped.")
    assert len(provider.tokens) == 1 and provider.tokens[0].user["id"] == "eva"


@pytest.mark.skipif(not WEBCHAT_JS.exists(), reason="botframework-webchat is not installed (make test-tools)")
def test_microsoft_web_chat_shows_the_sign_in_card_and_goes_on_after_consent(page: Page, live, site, provider):
    token = site_backend_token(live, site, BOT, {})
    page.goto(site.add("/webchat-sign-in.html", PAGE % {"token": json.dumps(token), "ws": "true",
                                                         "domain": json.dumps(f"{live.url}/v3/directline")}))
    said = page.locator(".webchat__bubble__content")
    expect(said.get_by_text("Sign in to Example ID to see your orders.")).to_be_visible()
    with page.context.expect_page() as opened:
        page.locator(".ac-pushButton", has_text="Sign in").click()  # the card's button (Adaptive Cards)
    consent = opened.value
    consent.get_by_role("button", name="Allow").click()
    expect(said.get_by_text("Hello Eva Novak: order A-1001 is shipped.")).to_be_visible()
