"""Issue 19 items 1 and 4 in real Chromium, by visible labels and roles only: a condition built by picking (no
`==` typed) shows in the tree as "If interest is Website"; a message takes what the bot knows from the Insert
menu (no `{{ }}` typed) and shows it as a chip under the field and in the tree. `build_by_picking` also makes
the pictures condition-builder.png and insert-menu.png (tests/e2e/screenshots.py)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Locator, Page, expect

from runtime.extensions import db
from runtime.store.drafts import load_draft
from tests.e2e.conftest import person
from tests.e2e.test_designer_browser import add_step, fill, saved, signed_in

pytestmark = pytest.mark.e2e


def pick(page: Page, name: str, label: str) -> None:
    """Choose an option, by its words, in a list of the step's form; wait until it is saved (and the form drawn
    again, for a pick that changes it)."""
    page.locator("#step-form").get_by_role("combobox", name=re.compile(f"^{name}")).select_option(label=label)
    saved(page)
    page.locator("#inspector-status").evaluate("el => el.replaceChildren()")


def click(page: Page, name: str) -> None:
    page.locator("#step-form").get_by_role("button", name=name).click()
    saved(page)
    page.locator("#inspector-status").evaluate("el => el.replaceChildren()")


def build_by_picking(page: Page, shot: Callable[[str, Page | Locator], None] = lambda name, what: None) -> str:
    """From the bots page of a signed-in person: a new bot asking a name and an interest, a message thanking by
    name (inserted from the menu) and a condition "If interest is Website" (picked); its id. `shot` is called
    with the picture's name and what it shows, at the moments worth a picture."""
    page.get_by_role("button", name="New bot").click()
    page.get_by_role("textbox", name=re.compile("^Name")).fill("Leads")
    page.get_by_role("button", name="Create bot").click()
    bot_id = page.url.split("/bots/")[1].split("/")[0]

    add_step(page, "question")
    fill(page, "What the bot asks", "What is your name?")
    fill(page, "Keep the", "name")
    add_step(page, "choice")
    fill(page, "What the bot asks", "What are you interested in?")
    fill(page, "Keep the", "interest")
    titles = page.get_by_test_id("option-title")
    titles.nth(0).fill("Website")
    titles.nth(1).fill("Online shop")
    titles.nth(1).blur()
    saved(page)

    # Item 4: the name from the Insert menu, at the cursor; a chip in the preview and in the tree.
    add_step(page, "message")
    text = page.locator("#step-form").get_by_label("What the bot says")
    text.fill("Thank you, !")
    text.press("End")
    text.press("ArrowLeft")
    text.blur()
    page.get_by_role("combobox", name="Insert what the bot knows").select_option(
        label="name (the answer to “What is your name?”)")
    expect(text).to_have_value("Thank you, {{ name }}!")
    saved(page)
    expect(page.locator(".template-preview .chip")).to_have_text("name")
    message = page.locator(".node[data-type=message]").last
    expect(message.locator(".summary .chip")).to_have_text("name")
    shot("insert-menu", page.locator("#inspector"))

    # Item 1: a condition by picking.
    add_step(page, "condition")
    form = page.locator("#step-form")
    expect(form.get_by_text("Always holds.")).to_be_visible()
    click(page, "+ Add a row")
    pick(page, "Check", "interest (the answer to “What are you interested in?”)")
    pick(page, "How", "is")
    expect(form.get_by_role("combobox", name=re.compile("^Value"))).to_be_visible()
    pick(page, "Value", "Website")
    condition = page.locator(".node[data-type=condition]")
    expect(condition.locator(".branch-label").first).to_have_text("If interest is Website")
    expect(form.get_by_test_id("condition-words")).to_have_text("In words: if interest is Website")
    expect(form.get_by_role("checkbox", name="Write it as an expression")).not_to_be_checked()
    shot("condition-builder", page)
    return bot_id


def test_a_condition_is_picked_and_a_name_inserted_without_typing_code(live, page: Page):
    page.set_default_timeout(10000)
    page.set_viewport_size({"width": 1280, "height": 860})
    signed_in(page, live.url, person(live, "editor"))
    bot_id = build_by_picking(page)
    with live.app.app_context():
        doc, _ = load_draft(bot_id)
        db.session.remove()
    step = next(s for s in doc["dialogs"][0]["steps"] if s["type"] == "condition")
    assert step["branches"][0]["when"] == 'interest == "Website"'

    # A second row, "any" of them; then the expression behind "Write it as an expression".
    form = page.locator("#step-form")
    condition = page.locator(".node[data-type=condition]")
    click(page, "+ Add a row")
    pick(page, "The steps run when", "any of these holds")
    expect(condition.locator(".branch-label").first).to_have_text(re.compile(r"^If interest is Website or "))
    form.get_by_role("checkbox", name="Write it as an expression").click()
    expect(form.get_by_role("checkbox", name="Write it as an expression")).to_be_checked()
    written = form.get_by_role("combobox", name=re.compile("^If"))
    expect(written).to_have_value(re.compile(r'^interest == "Website" or '))
