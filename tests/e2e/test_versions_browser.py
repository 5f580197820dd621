"""Issue 19, items 8–10 in real Chromium: a bot made from the gallery, edited, published, compared and rolled back
through the confirmation, by roles and labels; the header says where the draft stands at each stage. Screenshots
of the gallery, the grouped toolbar with a menu open, the Developers page, What changed and the confirmation go to
docs/screenshots/."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import person, sign_in

pytestmark = pytest.mark.e2e
# Its pictures go to docs/screenshots/ when `make docs` runs it (ARBOR_SCREENSHOTS=1); else to the temp folder.
DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
SHOTS = DOCS if os.environ.get("ARBOR_SCREENSHOTS") else Path(tempfile.gettempdir())


def publish(page: Page, note: str) -> None:
    page.get_by_role("button", name="Publish", exact=True).click()
    page.get_by_label("What changed?").fill(note)
    page.get_by_role("dialog").get_by_role("button", name="Publish", exact=True).click()
    expect(page.get_by_role("heading", name="Versions")).to_be_visible()
    page.get_by_role("link", name="Back to the editor").click()


def test_a_gallery_bot_is_edited_published_compared_and_rolled_back(live, page: Page):
    page.set_viewport_size({"width": 1360, "height": 860})
    sign_in(page, live.url, person(live, "editor"))
    page.get_by_role("button", name="New bot").click()
    gallery = page.get_by_role("group", name="Start from")
    expect(gallery.get_by_role("radio")).to_have_count(6)  # blank, the four of the issue, and jobs-crm
    gallery.get_by_role("radio", name=re.compile("^Lead capture")).check()
    page.get_by_label("Name").fill("Website leads")
    page.screenshot(path=SHOTS / "gallery.png")
    page.get_by_role("button", name="Create bot").click()

    status = page.get_by_test_id("bot-status")
    expect(status).to_have_text("Never published")
    expect(page.get_by_role("status").filter(has_text="3 conversation tests")).to_be_visible()
    publish(page, "From the gallery")
    expect(status).to_have_text("Published")

    # An edit autosaves; the header follows without a reload.
    page.get_by_role("button", name=re.compile(r"What brings you here\?")).click()
    field = page.get_by_label("What the bot asks").first
    field.fill("What can we do for you?")
    field.blur()
    expect(page.get_by_test_id("saved")).to_be_visible()
    expect(status).to_have_text("Unpublished changes")
    publish(page, "Friendlier question")
    expect(status).to_have_text("Published")

    page.get_by_role("link", name="Developers").click()
    expect(page.get_by_role("heading", name="Management API keys")).to_be_visible()
    page.screenshot(path=SHOTS / "developers.png", full_page=True)
    page.get_by_role("link", name="Back to the editor").click()

    page.get_by_role("link", name="Versions").click()
    page.get_by_role("row", name=re.compile("^2 ")).get_by_role("link", name="What changed").click()
    change = page.get_by_test_id("change").filter(has_text="What can we do for you?")
    expect(change.get_by_test_id("before")).to_have_text("What brings you here?")
    expect(change.get_by_test_id("after")).to_have_text("What can we do for you?")
    page.locator("#changes").screenshot(path=SHOTS / "what-changed.png")

    page.get_by_role("link", name="Roll back to version 1").click()
    sentence = page.get_by_test_id("rollback-sentence")
    expect(sentence).to_have_text("Version 1 becomes the draft; publish to make it live.")
    page.screenshot(path=SHOTS / "rollback.png")
    page.get_by_role("button", name="Confirm").click()
    expect(status).to_have_text("Unpublished changes")
    expect(page.get_by_role("button", name=re.compile(r"What brings you here\?"))).to_be_visible()

    # The toolbar's menus open by role and name; Escape closes them.
    page.get_by_role("button", name="Results").click()
    expect(page.get_by_role("link", name="Insight")).to_be_visible()
    page.screenshot(path=SHOTS / "toolbar.png", clip={"x": 0, "y": 0, "width": 1360, "height": 300})
    page.keyboard.press("Escape")
    expect(page.get_by_role("link", name="Insight")).to_be_hidden()
    page.get_by_role("button", name="Build").click()  # keyboard: the menu button takes Enter, its links Tab
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Translations")).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")  # past the menu's last link: it closes
    expect(page.get_by_role("link", name="Translations")).to_be_hidden()
