"""Analytics drawn on the tree, in real Chromium: after conversations that stop at different steps, every
step shows how many reached it and a bar whose red part is those who stopped there."""

from __future__ import annotations

import copy
import json

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from runtime.extensions import db
from runtime.steps.base import Input
from runtime.store import bot_access
from runtime.store.accounts import create_user
from runtime.store.bots import import_bot
from runtime.turns.turn import handle, start_conversation
from tests.e2e.conftest import PASSWORD, ROOT, sign_in

pytestmark = pytest.mark.e2e
BOT = "lead-analytics"
# Who said what: 3 stop at the first choice, 2 at the name, 3 at the e-mail, 1 at the size, 3 finish.
CONVERSATIONS = ([["pizza"]] * 3 + [["Book a demo"]] * 2 + [["Book a demo", "Ann"]] * 3
                 + [["Book a demo", "Bob", "bob@example.com"]]
                 + [["Book a demo", "Eva", "eva@example.com", "12"]] * 3)


def seed(app: Flask) -> str:
    """A copy of the lead-capture example, published, with CONVERSATIONS held on it; its id (also for the
    screenshot generator, tests/e2e/screenshots.py)."""
    doc = copy.deepcopy(json.loads((ROOT / "examples" / "lead-capture.json").read_text()))
    doc.update(id=BOT, name="Lead analytics")
    with app.app_context():
        import_bot(doc, publish=True)
        for n, said in enumerate(CONVERSATIONS):
            conversation_id = start_conversation(BOT, f"user-{n}", "webchat")[0].id
            for text in said:
                handle(conversation_id, Input.message(text))
        db.session.remove()
    return BOT


@pytest.fixture(scope="module")
def seeded(live) -> str:
    seed(live.app)
    with live.app.app_context():
        create_user("analyst@example.com", PASSWORD, "editor")
        bot_access.grant(BOT, "analyst@example.com")  # an imported bot is for admins until an editor is given it
        db.session.remove()
    return BOT


def test_the_tree_reads_where_users_drop_off(live, page: Page, seeded: str, tmp_path):
    page.set_viewport_size({"width": 1280, "height": 760})
    sign_in(page, live.url, "analyst@example.com")
    page.goto(f"{live.url}/designer/bots/{seeded}/edit?dialog=contact")
    page.get_by_role("button", name="Results").click()
    page.get_by_test_id("show-analytics").click()
    reach = page.locator("#node-lc-c2 [data-testid=reach]").first
    expect(reach).to_have_attribute("title", "7 reached this step; 3 stopped here (43%)")
    expect(page.locator("#node-lc-c1 .reach-count").first).to_have_text("9 −2")
    expect(page.locator("#node-lc-c8 .reach-count").first).to_have_text("3")
    widths = [page.locator(f"#node-{s} .reach-fill").first.evaluate("e => e.getBoundingClientRect().width")
              for s in ("lc-c1", "lc-c2", "lc-c3", "lc-c8")]
    assert widths == sorted(widths, reverse=True) and widths[-1] < widths[0] / 2  # the funnel narrows
    page.screenshot(path=str(tmp_path / "tree-analytics.png"))
    page.get_by_label("Users in the last").select_option("7")
    expect(page).to_have_url(f"{live.url}/designer/bots/{seeded}/edit?dialog=contact&days=7")
    expect(page.locator("#node-lc-c1 .reach-count").first).to_have_text("9 −2")


def test_the_insight_and_misses_pages_draw_the_same_conversations(live, page: Page, seeded: str, tmp_path):
    page.set_viewport_size({"width": 1280, "height": 1100})
    sign_in(page, live.url, "analyst@example.com")
    page.goto(f"{live.url}/designer/bots/{seeded}/insight")
    page.get_by_label("Goal step").select_option("lc-c8")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_test_id("goal")).to_contain_text("3 of 12 conversations reached step")
    expect(page.get_by_test_id("chart").locator("rect").last).to_have_attribute("height", "140.0")  # the tallest day
    page.screenshot(path=str(tmp_path / "insight.png"), full_page=True)
    page.goto(f"{live.url}/designer/bots/{seeded}/misses")
    expect(page.get_by_test_id("miss")).to_have_count(3)
    page.screenshot(path=str(tmp_path / "misses.png"))
