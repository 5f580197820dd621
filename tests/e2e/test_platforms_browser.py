"""The designer's Platforms page in real Chromium: connect a bot to a messaging platform, copy the inbound
address and the token shown once, the platform posting with it; the token and the reply credentials are not
on the page again; a screenshot in the temp folder to look at."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Page, expect

from runtime.channels.platforms import connections
from runtime.extensions import db
from tests.e2e.conftest import person, sign_in

pytestmark = pytest.mark.e2e
SHOTS = Path(tempfile.gettempdir())
SECRET = "bearer-the-platform-expects"


@pytest.fixture
def cleanup(live):
    yield
    with live.app.app_context():  # the live app is shared: leave the support bot without connections
        for made in connections.list_for("support"):
            connections.delete("support", made["slug"])
        db.session.remove()


def test_platforms_page_connects_and_shows_the_token_once(live, page: Page, cleanup):
    sign_in(page, live.url, person(live))
    page.goto(f"{live.url}/designer/bots/support/edit")
    page.get_by_role("button", name="Connect").click()
    page.get_by_role("link", name="Platforms", exact=True).click()
    expect(page.get_by_role("heading", name="Platforms", exact=True)).to_be_visible()
    form = page.get_by_test_id("new-connection")
    form.get_by_label("Name", exact=True).fill("WhatsApp via Acme")
    form.get_by_label("Short name", exact=False).fill("whatsapp")
    form.get_by_label("Platform's address for replies").fill("http://127.0.0.1:9/replies")
    form.get_by_role("combobox", name="Kind").select_option("bearer")
    form.get_by_role("textbox", name="Bearer token").fill(SECRET)
    form.get_by_role("button", name="Connect").click()
    expect(page.get_by_text("Connected: WhatsApp via Acme")).to_be_visible()
    shown = page.get_by_test_id("shown-once")
    expect(shown).to_have_count(2)
    inbound, token = shown.nth(0).inner_text(), shown.nth(1).inner_text()
    assert inbound == f"{live.url}/b/support/hooks/whatsapp"
    page.screenshot(path=SHOTS / "arbor-designer-platforms-created.png", full_page=True)
    said = requests.post(inbound, json={"type": "message", "id": "e2e-1", "service": "acme", "channel": "WHATSAPP",
                                        "assetId": "+4420", "userId": "+4477", "text": "Hello"},
                         headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert said.status_code == 200 and said.json()["conversationId"]
    page.goto(f"{live.url}/designer/bots/support/platforms")
    expect(page.get_by_test_id("connection")).to_have_count(1)
    expect(page.get_by_test_id("shown-once")).to_have_count(0)
    assert token not in page.content() and SECRET not in page.content()
    page.screenshot(path=SHOTS / "arbor-designer-platforms.png", full_page=True)
