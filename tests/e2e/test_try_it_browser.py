"""“Try it” follows the chat: the step the conversation is at is named by its text and highlighted in the tree,
and "What the bot knows" is brought up to date by each reply the widget shows, not by a timer (issue 19)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import person, sign_in

pytestmark = pytest.mark.e2e

# The designer's safety-net refresh of the preview state runs every 10 s; this test switches it off, so the state
# it sees can only have come from the chat's own `arbor:activities` event.
NO_SAFETY_NET = """(() => { const every = window.setInterval;
  window.setInterval = (fn, ms, ...rest) => ms === 10000 ? 0 : every(fn, ms, ...rest); })();"""


def test_try_it_names_the_step_by_its_text_and_follows_each_reply(live, page: Page, tmp_path):
    page.add_init_script(NO_SAFETY_NET)
    sign_in(page, live.url, person(live, "admin"))
    page.goto(f"{live.url}/designer/bots/lead-capture/edit")
    page.get_by_test_id("open-preview").click()
    chat = page.locator("#chat-box")
    expect(chat.get_by_test_id("arbor-message").filter(has_text="What brings you here?")).to_be_visible()
    now_at = page.get_by_test_id("now-at")
    expect(now_at).to_have_text(re.compile(r"^What brings you here\?"))  # its text, never `step lc-w3`
    expect(page.locator("#node-lc-w3 > .row.at")).to_be_visible()
    # the question stays in view above its buttons
    question = chat.get_by_test_id("arbor-message").filter(has_text="What brings you here?")
    expect(question).to_be_in_viewport()
    expect(chat.get_by_test_id("arbor-button").first).to_be_in_viewport()
    chat.get_by_test_id("arbor-button").first.click()
    expect(now_at).not_to_have_text(re.compile(r"^What brings you here\?"))
    expect(page.locator("#node-lc-w3 > .row.at")).to_have_count(0)
    assert not re.search(r"\b(lc-w\d+|step [a-z]+-[0-9a-f]{6})\b", page.locator("#preview-state").inner_text())
    page.screenshot(path=str(tmp_path / "try-it.png"))
