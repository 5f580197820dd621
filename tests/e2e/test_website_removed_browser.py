"""A website taken off the bot's allowed ones while a visitor chats on it: the widget says the website is not
allowed (as on a page refused from the start), not that the visitor is offline, and stops asking the server.

What the page sees then: every Direct Line call is refused unread (the preflight gets no CORS answer, so fetch
fails as if the network were down) and the stream's reconnection is refused before the upgrade (a WebSocket
says nothing of why); the widget asks `/b/<bot>/webchat/allowed`, whose refusal the page may read.
"""

from __future__ import annotations

import json
import uuid

from playwright.sync_api import Browser, expect

from runtime.channels.directline.cors import allowed_origins, set_allowed_origins
from runtime.extensions import db
from runtime.store.bots import import_bot
from runtime.testing.playwright_plugin import Webchat
from tests.e2e.conftest import ROOT, Live, Site, person, sign_in

REFUSED = "This website is not allowed to open this chat."


def bot_on(live: Live, site: Site) -> str:
    """A published copy of the lead-capture example that the site (and the server's own pages) may open."""
    doc = json.loads((ROOT / "examples" / "lead-capture.json").read_text())
    doc.update(id=f"shop-{uuid.uuid4().hex[:8]}", name="Shop assistant")
    with live.app.app_context():
        bot = import_bot(doc, publish=True).id
        set_allowed_origins(bot, [live.url, site.url])
        db.session.remove()
    return bot


def test_a_website_removed_in_the_share_panel_while_a_visitor_chats_gets_the_refusal(browser: Browser, live, site):
    bot = bot_on(live, site)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.clock.install()  # time flows, and the test can run the page's timers ahead
    errors: list[str] = []
    context.on("weberror", lambda error: errors.append(str(error.error)))
    shop = context.new_page()
    shop.goto(site.add(f"/{bot}-removed.html", f"<!doctype html><title>My shop</title><h1>My shop</h1>"
                       f'<script src="{live.url}/static/webchat.js" data-bot="{bot}" async></script>'))
    chat = Webchat(shop, bot).open()
    chat.expect_bot("What brings you here?")
    chat.click("Book a demo")
    chat.expect_bot("name")

    # The bot's owner removes the website in the Share panel.
    owner = context.new_page()
    sign_in(owner, live.url, person(live))
    owner.goto(f"{live.url}/designer/bots/{bot}/share")
    owner.get_by_role("button", name=f"Remove {site.url}").click()
    expect(owner.get_by_test_id("websites")).not_to_contain_text(site.url)
    with live.app.app_context():
        assert allowed_origins(bot) == [live.url]
        db.session.remove()

    asked: list[str] = []
    shop.on("request", lambda request: asked.append(request.url))
    chat.say("Olga")
    expect(chat.part("arbor-status")).to_have_text(REFUSED)
    assert any(url.endswith(f"/b/{bot}/webchat/allowed") for url in asked)
    # And it has stopped asking: two minutes of the page's timers later (its polls, the stream's reconnections,
    # the token's refresh) the server has heard nothing more from it, and the refusal stays.
    asked.clear()
    shop.clock.run_for(120_000)
    with shop.expect_request(f"{site.url}/after"):  # requests go out in order: any the timers made are seen
        shop.evaluate("fetch('/after')")
    assert [url for url in asked if url.startswith(live.url)] == []
    expect(chat.part("arbor-status")).to_have_text(REFUSED)
    # A reload resumes the stored conversation, and is refused the same way.
    shop.reload()
    expect(Webchat(shop, bot).open().part("arbor-status")).to_have_text(REFUSED)
    context.close()
    assert not errors, errors
