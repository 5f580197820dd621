"""Issue 19's walk, as a marketing person does it alone: from a blank start, a lead-capture bot (greeting, name,
e-mail asked again when mistyped, a choice with a nested choice, a condition), tried with a bad e-mail,
published, opened on its share page, embedded on a site of a second origin after allowing it in the Share panel
and chatted with there, edited, published again and rolled back.

Only visible labels and roles lead the way (no CSS selectors), and nothing typed looks like code: no `{{ }}`
(the Insert menu puts what the bot knows in a text) and no `==` (the condition is picked). Every click and every
field typed into is counted, and the counts are printed; each stage's screenshot goes to docs/screenshots/walk-*.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from runtime.extensions import db
from runtime.store.bots import get_bot
from runtime.store.drafts import load_draft
from tests.e2e.conftest import ROOT, Live, Site, person, sign_in

pytestmark = pytest.mark.e2e
# Its pictures go to docs/screenshots/ when `make docs` runs it (ARBOR_SCREENSHOTS=1); else to the temp folder.
SHOTS = ROOT / "docs" / "screenshots" if os.environ.get("ARBOR_SCREENSHOTS") else Path(tempfile.gettempdir())
CODE = re.compile(r"\{\{|\}\}|==|\{%")


@dataclass
class Walk:
    """The person's hands: every click and every field typed into goes through here, and is counted."""

    page: Page
    clicks: int = 0
    typed: int = 0
    stage: int = 0

    def click(self, target: Locator) -> None:
        target.click()
        self.clicks += 1
        # A click that opened a page: its scripts (htmx) run before the next click, as a person's eyes wait too.
        self.page.wait_for_load_state()

    def type(self, field: Locator, text: str) -> None:
        assert not CODE.search(text), f"a newcomer would not type {text!r}"
        field.fill(text)
        field.blur()
        self.typed += 1

    def pick(self, field: Locator, label: str) -> None:
        field.select_option(label=label)
        self.clicks += 1

    def shot(self, name: str) -> None:
        self.stage += 1
        self.page.screenshot(path=str(SHOTS / f"walk-{self.stage:02d}-{name}.png"))

    # --- the designer ---

    def saved(self) -> None:
        expect(self.page.get_by_test_id("saved")).to_be_visible()
        self.page.get_by_role("status").filter(has_text="Saved").first.evaluate("el => el.replaceChildren()")

    def add(self, kind: str, where: str = "Add a step at the end of “Welcome”") -> Locator:
        """Add a step of the type named `kind` by the "+ Add a step" button named `where`; its form, once the new
        step's form has taken the place of the one open before."""
        form = self.page.get_by_role("form", name="The step's settings")
        before = form.element_handle() if form.count() else None
        self.click(self.page.get_by_role("button", name=where, exact=True))
        self.click(self.page.get_by_role("dialog", name="Add a step").get_by_role("button", name=re.compile(kind)))
        if before is not None:
            self.page.wait_for_function("form => !form.isConnected", arg=before)
        expect(form).to_be_visible()
        return form

    def write(self, form: Locator, label: str, text: str) -> None:
        self.type(form.get_by_label(label, exact=False).first, text)
        self.saved()

    def publish(self, note: str) -> None:
        self.click(self.page.get_by_role("button", name="Publish", exact=True))
        self.type(self.page.get_by_label("What changed?"), note)
        self.click(self.page.get_by_role("dialog").get_by_role("button", name="Publish", exact=True))
        expect(self.page.get_by_role("heading", name="Versions")).to_be_visible()

    # --- a chat (the widget, in the preview or on a page) ---

    def say(self, text: str) -> None:
        self.type(self.page.get_by_role("textbox", name="Your message"), text)
        self.click(self.page.get_by_role("button", name="Send"))

    def answer(self, title: str) -> None:
        self.click(self.page.get_by_role("group", name="Suggested answers").get_by_role("button", name=title))

    def expect_bot(self, text: str) -> None:
        expect(self.page.get_by_text(text).last).to_be_visible()


def draft_of(live: Live, bot: str) -> dict:
    with live.app.app_context():
        doc, _ = load_draft(bot)
        db.session.remove()
    return doc


def test_a_newcomer_builds_tries_publishes_shares_embeds_edits_and_rolls_back(live, site: Site, browser):
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10000)
    walk = Walk(page)
    email = person(live, "editor")
    sign_in(page, live.url, email)  # the sign-in page's two fields and its button
    walk.typed, walk.clicks = 2, 1

    # A bot from the gallery's blank start.
    walk.click(page.get_by_role("button", name="New bot"))
    walk.click(page.get_by_role("group", name="Start from").get_by_role("radio", name=re.compile("^Blank")))
    walk.type(page.get_by_role("textbox", name=re.compile("^Name")), "Website leads")
    walk.click(page.get_by_role("button", name="Create bot"))
    bot = page.url.split("/bots/")[1].split("/")[0]

    # The greeting: the blank bot's hello, reworded.
    walk.click(page.get_by_role("button", name=re.compile("^Message: ")).first)
    form = page.get_by_role("form", name="The step's settings")
    walk.write(form, "What the bot says", "Hi! I help you find the right offer.")

    # The name; then the e-mail, asked again when it does not look like one, greeting the person by name.
    form = walk.add("Question")
    walk.write(form, "What the bot asks", "What is your name?")
    walk.write(form, "Keep the answer in", "name")
    form = walk.add("Question")
    asks = form.get_by_role("textbox", name="What the bot asks")
    walk.type(asks, "Thanks, ! What is your e-mail address?")
    walk.saved()
    asks.press("Home")
    for _ in range(len("Thanks, ")):
        asks.press("ArrowRight")
    asks.blur()  # the Insert menu puts the name where the cursor was
    walk.pick(form.get_by_role("combobox", name="Insert what the bot knows").first,
              "name (the answer to “What is your name?”)")
    expect(asks).to_have_value("Thanks, {{ name }}! What is your e-mail address?")
    walk.saved()
    walk.pick(form.get_by_role("combobox", name="Expected answer"), "An e-mail address")
    walk.saved()
    walk.write(form, "Keep the answer in", "email")
    walk.write(form, "When the answer does not fit, say", "That does not look like an e-mail address. Type it again?")

    # A choice, which keeps its answer by itself, with a nested choice under one option.
    form = walk.add("Choice")
    walk.write(form, "What the bot asks", "What are you interested in?")
    expect(form.get_by_label("Keep the answer in")).to_have_value("interest")
    walk.type(form.get_by_label("Option 1 title"), "Website")
    walk.saved()
    walk.type(form.get_by_label("Option 2 title"), "Online shop")
    walk.saved()
    form = walk.add("Choice", "Add a step to Option “Website”")
    walk.write(form, "What the bot asks", "Do you have a website already?")

    # A condition, picked rather than written, with its own message.
    form = walk.add("Condition")
    walk.click(form.get_by_role("button", name="+ Add a row"))
    walk.saved()
    walk.pick(form.get_by_role("combobox", name=re.compile("^Check")),
              "interest (the answer to “What are you interested in?”)")
    walk.saved()
    walk.pick(form.get_by_role("combobox", name=re.compile("^How")), "is")
    walk.saved()
    walk.pick(form.get_by_role("combobox", name=re.compile("^Value")), "Website")
    walk.saved()
    expect(page.get_by_text("If interest is Website", exact=True)).to_be_visible()
    form = walk.add("Message", "Add a step to If interest is Website")
    walk.write(form, "What the bot says", "Great! Our web team will write to you today.")
    expect(page.get_by_text("No problems. The bot is ready to publish.")).to_be_visible()
    walk.shot("built")

    # Try it, with a mistyped e-mail first.
    walk.click(page.get_by_role("button", name="▶ Try it"))
    walk.expect_bot("What is your name?")
    walk.say("Eva")
    walk.expect_bot("Thanks, Eva! What is your e-mail address?")
    walk.say("eva-at-example")
    walk.expect_bot("That does not look like an e-mail address. Type it again?")
    walk.say("eva@example.com")
    walk.expect_bot("What are you interested in?")
    walk.answer("Website")
    walk.expect_bot("Do you have a website already?")
    walk.answer("Yes")
    walk.expect_bot("Great! Our web team will write to you today.")
    expect(page.get_by_test_id("preview-data")).to_contain_text("eva@example.com")
    walk.shot("tried")

    walk.publish("The first version")
    walk.click(page.get_by_role("link", name="Back to the editor"))
    expect(page.get_by_text("Published", exact=True)).to_be_visible()

    # Share: the share page, then the snippet on the person's own site, allowed from the panel.
    walk.click(page.get_by_role("link", name="Share", exact=True))
    walk.shot("share")
    with context.expect_page() as opened:
        walk.click(page.get_by_role("region", name="Share link").get_by_role("link", name="Open"))
    share = opened.value
    expect(share.get_by_text("You are talking to the live version")).to_be_visible()
    shared = Walk(share)
    shared.click(share.get_by_role("button", name=re.compile("^Open chat")))
    shared.expect_bot("What is your name?")
    shared.say("Jan")
    shared.expect_bot("Thanks, Jan!")
    walk.clicks, walk.typed = walk.clicks + shared.clicks, walk.typed + shared.typed
    share.close()
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live.url)
    walk.click(page.get_by_role("region", name="Put the chat on your website").get_by_role("button", name="Copy"))
    snippet = page.evaluate("navigator.clipboard.readText()")
    walk.type(page.get_by_role("textbox", name="Website"), site.url)
    walk.click(page.get_by_role("button", name="Add this website"))
    expect(page.get_by_role("region", name="Websites allowed")).to_contain_text(site.url)
    shop = context.new_page()
    shop.goto(site.add(f"/{bot}.html", f"<!doctype html><title>My shop</title><h1>My shop</h1>{snippet}"))
    visitor = Walk(shop)
    visitor.click(shop.get_by_role("button", name=re.compile("^Open chat")))
    visitor.expect_bot("What is your name?")
    visitor.say("Petr")
    visitor.expect_bot("Thanks, Petr! What is your e-mail address?")
    shop.screenshot(path=str(SHOTS / f"walk-{walk.stage + 1:02d}-embedded.png"))
    walk.stage += 1
    walk.clicks, walk.typed = walk.clicks + visitor.clicks, walk.typed + visitor.typed
    shop.close()

    # Edit, publish again, and roll back.
    walk.click(page.get_by_role("link", name="Back to the editor"))
    walk.click(page.get_by_role("button", name=re.compile("^Message: Hi! I help you")))
    form = page.get_by_role("form", name="The step's settings")
    walk.write(form, "What the bot says", "Hello! I help you find the right offer in a minute.")
    expect(page.get_by_text("Unpublished changes", exact=True)).to_be_visible()
    walk.publish("A friendlier greeting")
    walk.click(page.get_by_role("row", name=re.compile("^2 ")).get_by_role("link", name="What changed"))
    walk.shot("what-changed")
    walk.click(page.get_by_role("link", name="Roll back to version 1"))
    expect(page.get_by_text("Version 1 becomes the draft; publish to make it live.")).to_be_visible()
    walk.click(page.get_by_role("button", name="Confirm"))
    expect(page.get_by_text("Unpublished changes", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("^Message: Hi! I help you"))).to_be_visible()
    walk.shot("rolled-back")

    doc = draft_of(live, bot)
    steps = doc["dialogs"][0]["steps"]
    assert [s["type"] for s in steps] == ["message", "question", "question", "choice", "condition"]
    assert steps[3]["storage"] == "interest" and steps[4]["branches"][0]["when"] == 'interest == "Website"'
    with live.app.app_context():
        assert get_bot(bot).published_version == 2
        db.session.remove()
    print(f"\nissue 19 walk: {walk.clicks} clicks and {walk.typed} typed fields (before: about 84 and 33)")
    context.close()
