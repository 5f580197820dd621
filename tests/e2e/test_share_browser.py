"""The Share panel in a browser: a person copies the snippet, pastes it on their own site (a page of a second
loopback origin), sees the widget say the website is not allowed, finds that website in the panel's "Add this
website", adds it, reloads and chats. And "Try it" (the draft) and the share page (the live version) never share
a conversation in one browser, each saying which one the person talks to."""

from __future__ import annotations

import json
import uuid

from playwright.sync_api import Browser, Page, expect

from runtime.channels.directline.cors import set_allowed_origins
from runtime.extensions import db
from runtime.store.bots import import_bot
from runtime.store.drafts import load_draft, save_draft
from runtime.testing.playwright_plugin import Webchat
from tests.e2e.conftest import ROOT, Live, Site, person, sign_in

REFUSED = "This website is not allowed to open this chat."


def shop_bot(live: Live) -> str:
    """A published copy of the lead-capture example that no website may open yet; its id."""
    doc = json.loads((ROOT / "examples" / "lead-capture.json").read_text())
    doc.update(id=f"shop-{uuid.uuid4().hex[:8]}", name="Shop assistant")
    with live.app.app_context():
        bot = import_bot(doc, publish=True).id
        set_allowed_origins(bot, [])
        db.session.remove()
    return bot


def refused_on_another_site(page: Page, live: Live, site: Site, bot: str) -> tuple[str, Webchat]:
    """Sign-in done: from the editor, open Share, copy the snippet, serve it on `site`, open the chat there
    and see it refused. Returns the site page's URL and its chat."""
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live.url)
    page.goto(f"{live.url}/designer/bots/{bot}/edit")
    page.get_by_role("link", name="Share", exact=True).click()
    expect(page.get_by_role("heading", name="Share", exact=True)).to_be_visible()
    expect(page.get_by_test_id("no-websites")).to_be_visible()
    page.get_by_test_id("snippet").locator("..").get_by_role("button", name="Copy").click()
    snippet = page.evaluate("navigator.clipboard.readText()")
    assert snippet == f'<script src="{live.url}/static/webchat.js" data-bot="{bot}" async></script>'
    shop = site.add(f"/{bot}.html", f"<!doctype html><title>My shop</title><h1>My shop</h1>{snippet}")
    visitor = page.context.new_page()
    visitor.goto(shop)
    chat = Webchat(visitor, bot).open()
    expect(chat.part("arbor-status")).to_have_text(REFUSED)
    expect(chat.messages()).to_have_count(0)
    return shop, chat


def test_a_website_refused_the_chat_is_added_from_the_share_panel_and_then_chats(browser: Browser, live, site):
    bot = shop_bot(live)
    page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, live.url, person(live))
    shop, chat = refused_on_another_site(page, live, site, bot)
    # The editor lists the refusal among the bot's problems, leading to the panel.
    page.goto(f"{live.url}/designer/bots/{bot}/edit")
    problem = page.locator(f'#problems [data-origin="{site.url}"]')
    expect(problem).to_contain_text(f"The chat was refused on {site.url}")
    problem.get_by_role("link").click()
    website = page.get_by_role("textbox", name="Website")
    expect(website).to_have_value(site.url)  # "Add this website" filled from where it was refused
    page.get_by_role("button", name="Add this website").click()
    expect(page.get_by_test_id("websites")).to_contain_text(site.url)
    expect(website).to_have_value("")
    # Back on the site: a reload, and the chat works.
    chat.page.reload()
    chat = Webchat(chat.page, bot).open()
    chat.expect_bot("What brings you here?")
    expect(chat.part("arbor-status")).to_be_hidden()
    chat.click("Book a demo")
    chat.expect_bot("name")
    page.goto(f"{live.url}/designer/bots/{bot}/edit")
    expect(page.locator("#problems [data-origin]")).to_have_count(0)
    page.context.close()
    assert not errors, errors


def test_try_it_talks_to_the_draft_and_the_share_page_to_the_live_version_apart(page: Page, live):
    bot = shop_bot(live)
    with live.app.app_context():
        doc, revision = load_draft(bot)
        doc["dialogs"][0]["steps"][1]["else"][0]["text"] = "Hello from the draft!"  # a first visit, no name
        save_draft(bot, doc, revision, label="A new greeting", by=None)
        db.session.remove()
    sign_in(page, live.url, person(live))
    page.goto(f"{live.url}/designer/bots/{bot}/edit")
    page.get_by_test_id("open-preview").click()
    expect(page.get_by_test_id("talking-to")).to_have_text(
        "You are talking to the draft. Visitors talk to the live version (version 1).")
    preview = Webchat(page, bot)
    preview.expect_bot("Hello from the draft!")
    preview.click("Just looking")
    preview.expect_bot("Take your time.")
    # The share page in the same browser: the live version, in a conversation of its own.
    page.get_by_role("link", name="Share", exact=True).click()
    shown = page.get_by_test_id("share-link")
    expect(shown).to_be_visible()  # the page is wired up (conftest.READY_FIRST): before, its text reads empty
    link = shown.inner_text()
    page.goto(link)
    expect(page.get_by_test_id("talking-to")).to_have_text(
        "You are talking to the live version of Shop assistant (version 1), as visitors do.")
    live_chat = Webchat(page, bot).open()
    live_chat.expect_bot("I am Arbor's demo assistant.")
    expect(live_chat.messages().filter(has_text="draft")).to_have_count(0)
    expect(live_chat.messages("user")).to_have_count(0)  # nothing the person said to the draft
    # And Try it again starts from the draft, not from the live conversation.
    page.goto(f"{live.url}/designer/bots/{bot}/edit")
    page.get_by_test_id("open-preview").click()
    Webchat(page, bot).expect_bot("Hello from the draft!")
    expect(Webchat(page, bot).messages().filter(has_text="demo assistant")).to_have_count(0)
