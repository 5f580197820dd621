"""The designer's Webhooks page in real Chromium: a subscription that passes the handshake (its secret shown
once) and one that fails it, against a real local receiver; a screenshot in the temp folder to look at."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from pytest_httpserver import HTTPServer
from webhook_receiver import Receiver

from runtime.extensions import db
from runtime.webhooks import subscriptions
from tests.e2e.conftest import person, sign_in

pytestmark = pytest.mark.e2e
SHOTS = Path(tempfile.gettempdir())


@pytest.fixture
def receiver(live):
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield Receiver(server)
    with live.app.app_context():  # the live app is shared: leave the support bot without subscriptions
        for sub in subscriptions.list_for("support"):
            subscriptions.delete("support", sub["id"])
        db.session.remove()
    server.clear()
    server.stop()


def test_webhooks_page_subscribes_and_shows_a_failed_handshake(live, page: Page, receiver):
    sign_in(page, live.url, person(live))
    page.goto(f"{live.url}/designer/bots/support/edit")
    page.get_by_role("button", name="Connect").click()
    page.get_by_role("link", name="Webhooks", exact=True).click()
    expect(page.get_by_role("heading", name="Webhooks")).to_be_visible()
    form = page.get_by_test_id("new-subscription")
    form.get_by_label("Address").fill(receiver.url)
    form.get_by_label("handover", exact=True).check()
    form.get_by_role("button", name="Subscribe and verify").click()
    expect(page.get_by_text("Subscribed: the handshake passed")).to_be_visible()
    expect(page.get_by_test_id("shown-once").first).to_contain_text("whsec_")
    receiver.handshake = 500
    form = page.get_by_test_id("new-subscription")
    form.get_by_label("Address").fill(receiver.url.replace("/hook", "/hook?second"))
    form.get_by_role("button", name="Subscribe and verify").click()
    expect(page.get_by_test_id("handshake-failure")).to_contain_text("answered 500")
    page.screenshot(path=SHOTS / "arbor-designer-webhooks-created.png", full_page=True)
    page.goto(f"{live.url}/designer/bots/support/webhooks")
    expect(page.get_by_test_id("subscription")).to_have_count(2)
    expect(page.get_by_test_id("shown-once")).to_have_count(0)
    page.screenshot(path=SHOTS / "arbor-designer-webhooks.png", full_page=True)
