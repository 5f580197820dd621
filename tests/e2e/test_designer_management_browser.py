"""The designer's management pages in real Chromium: a bot's users (search, the address to copy), the API page,
and the outbox settings; screenshots of each in the temp folder to look at."""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from runtime.extensions import db
from runtime.store.accounts import create_user
from runtime.turns.turn import start_conversation
from tests.e2e.conftest import PASSWORD, sign_in

pytestmark = pytest.mark.e2e
SHOTS = Path(tempfile.gettempdir())


@pytest.fixture
def admin(live, page: Page) -> Page:
    email = f"admin-{uuid.uuid4().hex[:8]}@example.com"
    with live.app.app_context():
        create_user(email, PASSWORD, "admin")
        for user in ("dl_eva", "dl_adam", "<b>bold</b>"):
            start_conversation("support", f"{user}-{email[6:14]}", "webchat")
        db.session.remove()
    page.set_viewport_size({"width": 1280, "height": 860})
    sign_in(page, live.url, email)
    expect(page.get_by_role("heading", name="Bots")).to_be_visible()
    return page


def test_users_page_searches_and_shows_addresses(live, admin: Page):
    admin.goto(f"{live.url}/designer/bots/support/edit")
    admin.get_by_role("button", name="Results").click()
    admin.get_by_role("link", name="Users", exact=True).last.click()
    expect(admin.get_by_role("heading", name="Users")).to_be_visible()
    expect(admin.get_by_test_id("address").first).to_be_visible()
    admin.screenshot(path=SHOTS / "arbor-designer-users.png", full_page=True)
    admin.get_by_placeholder("Search by user id…").fill("dl_eva")
    expect(admin.get_by_test_id("bot-user")).to_have_count(1)
    expect(admin.get_by_text("<b>bold</b>", exact=False)).to_have_count(0)


def test_api_page_from_the_navigation(live, admin: Page):
    admin.get_by_role("button", name="Developers").click()
    admin.get_by_role("link", name="API docs", exact=True).click()
    expect(admin.get_by_role("heading", name="Arbor API")).to_be_visible()
    spec = admin.request.get(f"{live.url}/api/openapi.json").json()
    operations = [method for path in spec["paths"].values() for method in path if method != "parameters"]
    expect(admin.get_by_test_id("operation")).to_have_count(len(operations))
    admin.screenshot(path=SHOTS / "arbor-designer-api.png")
    admin.locator("#trigger").screenshot(path=SHOTS / "arbor-designer-api-trigger.png")


def test_outbox_settings_keep_the_password_unshown(live, admin: Page):
    admin.goto(f"{live.url}/designer/bots/support/developers#outbox")
    smtp = admin.get_by_test_id("smtp")
    smtp.get_by_label("Host").fill("smtp.example.com")
    smtp.get_by_label("Password").fill("not-to-be-seen")
    smtp.get_by_label("From").fill("bot@example.com")
    smtp.get_by_role("button", name="Save SMTP server").click()
    expect(admin.get_by_test_id("smtp-password")).to_contain_text("set")
    expect(admin.get_by_test_id("smtp").get_by_label("Password")).to_have_value("")
    assert "not-to-be-seen" not in admin.content()
    admin.locator("#outbox").screenshot(path=SHOTS / "arbor-designer-outbox.png")
