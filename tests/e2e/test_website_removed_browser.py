"""A website taken off the bot's allowed ones while a visitor chats on it: the widget says the website is not
allowed (as on a page refused from the start), not that the visitor is offline, and stops asking the server.

What the page sees then: its open stream is closed by the server at once (4003, OriginNotAllowed); a message it
sends while the browser still keeps the CORS preflight it was allowed reaches the server, which refuses it
(readably) without applying it; calls whose preflight is asked again are refused unread (no CORS answer, so
fetch fails as if the network were down), and the widget asks `/b/<bot>/webchat/allowed`, whose refusal the page
may read.
"""

from __future__ import annotations

import json
import uuid

from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select

from runtime.channels.directline.cors import allowed_origins, set_allowed_origins
from runtime.extensions import db
from runtime.store.bots import import_bot
from runtime.store.models import Conversation, TranscriptEntry
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


def chatting(context: BrowserContext, live: Live, site: Site, bot: str, name: str
             ) -> tuple[Page, Webchat, list[str]]:
    """A visitor on the shop's page `name` chatting with the bot, past its first answer; the page's errors kept. The
    context's clock is installed: time flows, and the test can run the page's timers ahead."""
    context.clock.install()
    errors: list[str] = []
    context.on("weberror", lambda error: errors.append(str(error.error)))
    shop = context.new_page()
    shop.goto(site.add(f"/{bot}-{name}.html", f"<!doctype html><title>My shop</title><h1>My shop</h1>"
                       f'<script src="{live.url}/static/webchat.js" data-bot="{bot}" async></script>'))
    chat = Webchat(shop, bot).open()
    chat.expect_bot("What brings you here?")
    chat.click("Book a demo")
    chat.expect_bot("name")
    return shop, chat, errors


def test_a_website_removed_in_the_share_panel_while_a_visitor_chats_gets_the_refusal(browser: Browser, live, site):
    bot = bot_on(live, site)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    shop, chat, errors = chatting(context, live, site, bot, "removed")

    # The bot's owner removes the website in the Share panel.
    owner = context.new_page()
    sign_in(owner, live.url, person(live))
    owner.goto(f"{live.url}/designer/bots/{bot}/share")
    owner.get_by_role("button", name=f"Remove {site.url}").click()
    expect(owner.get_by_test_id("websites")).not_to_contain_text(site.url)
    with live.app.app_context():
        assert allowed_origins(bot) == [live.url]
        db.session.remove()

    # The server closes the page's stream: the widget says so at once, before the visitor types anything.
    expect(chat.part("arbor-status")).to_have_text(REFUSED)
    asked: list[str] = []
    shop.on("request", lambda request: asked.append(request.url))
    chat.say("Olga")
    expect(chat.part("arbor-status")).to_have_text(REFUSED)
    # And it has stopped asking: two minutes of the page's timers later (its polls, the stream's reconnections,
    # the token's refresh) the server has heard nothing more from it, and the refusal stays.
    shop.clock.run_for(120_000)
    with shop.expect_request(f"{site.url}/after"):  # requests go out in order: any the timers made are seen
        shop.evaluate("fetch('/after')")
    assert [url for url in asked if url.startswith(live.url)] == []
    expect(chat.part("arbor-status")).to_have_text(REFUSED)
    assert not said(live, bot, "Olga")
    # A reload resumes the stored conversation, and is refused the same way (its calls now unread: the widget
    # asks the server why).
    shop.reload()
    expect(Webchat(shop, bot).open().part("arbor-status")).to_have_text(REFUSED)
    assert any(url.endswith(f"/b/{bot}/webchat/allowed") for url in asked)
    context.close()
    assert not errors, errors


def test_a_message_sent_right_after_the_removal_is_refused_by_the_server_and_not_answered(browser: Browser, live,
                                                                                         site):
    """A polling widget (no WebSocket: no stream to close) sends a message right after the removal, while its
    browser keeps the preflight of the messages before: the server refuses it, applies nothing, and the widget
    says the website is not allowed."""
    bot = bot_on(live, site)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.add_init_script("window.WebSocket = undefined")  # as behind a proxy that refuses WebSockets
    shop, chat, errors = chatting(context, live, site, bot, "polling")
    replies = chat.messages("bot").count()
    shop.clock.pause_at(shop.evaluate("Date.now()") / 1000 + 1)  # (seconds) no poll learns of the removal first

    owner_context = browser.new_context()
    owner = owner_context.new_page()
    sign_in(owner, live.url, person(live))
    owner.goto(f"{live.url}/designer/bots/{bot}/share")
    owner.get_by_role("button", name=f"Remove {site.url}").click()
    expect(owner.get_by_test_id("websites")).not_to_contain_text(site.url)
    owner_context.close()

    chat.say("Olga")
    expect(chat.part("arbor-status")).to_have_text(REFUSED)
    assert not said(live, bot, "Olga")  # refused before it was applied: not kept, no reply
    shop.clock.run_for(10_000)
    expect(chat.messages("bot")).to_have_count(replies)
    context.close()
    assert not errors, errors


def said(live: Live, bot: str, text: str) -> bool:
    """Whether the store kept a visitor's message with this text in a conversation of the bot."""
    with live.app.app_context():
        kept = db.session.scalars(select(TranscriptEntry.activity).join(
            Conversation, Conversation.id == TranscriptEntry.conversation_id).where(Conversation.bot_id == bot)).all()
        db.session.remove()
    return any(activity.get("text") == text for activity in kept)
