"""A newcomer builds, publishes and tries a bot in the designer, in real Chromium, only by clicking and typing;
then imports a broken file, and is told of a conflict between two tabs."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import Page, expect

from runtime.extensions import db
from runtime.store.drafts import load_draft
from tests.e2e.conftest import PASSWORD, person, sign_in

pytestmark = pytest.mark.e2e


@pytest.fixture
def newcomer(live) -> str:
    return person(live, "editor")


def signed_in(page: Page, url: str, email: str) -> None:
    sign_in(page, url, email)
    expect(page.get_by_role("heading", name="Bots")).to_be_visible()


def add_step(page: Page, kind: str, where=None) -> None:
    """Click an "+ Add a step" button (the dialog's own by default), pick the type; the new step's form opens."""
    before = page.locator(".node").count()
    (where or page.get_by_test_id("add-step")).click()
    page.get_by_test_id(f"menu-{kind}").click()
    expect(page.locator(".node")).to_have_count(before + 1)
    new = page.locator(f".node[data-type={kind}]:has(> .row.selected)").get_attribute("data-step")
    expect(page.locator(f'#step-form[data-step="{new}"]')).to_be_visible()


def saved(page: Page) -> None:
    expect(page.get_by_test_id("saved")).to_be_visible()


def fill(page: Page, label: str, text: str) -> None:
    field = page.locator("#step-form").get_by_label(label, exact=False).first
    field.fill(text)
    field.blur()
    saved(page)
    page.locator("#inspector-status").evaluate("el => el.replaceChildren()")


def test_a_newcomer_builds_publishes_and_talks_with_a_bot(live, page: Page, newcomer: str, tmp_path):
    page.set_default_timeout(10000)
    signed_in(page, live.url, newcomer)
    page.get_by_role("button", name="New bot").click()
    page.get_by_label("Name").fill("Coffee corner")
    page.get_by_role("button", name="Create bot").click()
    expect(page.get_by_test_id("dialog-title")).to_have_value("Welcome")

    add_step(page, "question")
    fill(page, "What the bot asks", "What is your name?")
    fill(page, "Keep the answer in", "name")

    add_step(page, "choice")
    fill(page, "What the bot asks", "Coffee or tea, {{ name }}?")
    fill(page, "Keep the answer in", "drink")
    titles = page.get_by_test_id("option-title")
    titles.nth(0).fill("Coffee")
    titles.nth(1).fill("Tea")
    titles.nth(1).blur()
    saved(page)
    expect(page.locator(".branch-label", has_text="Option “Tea”")).to_be_visible()

    add_step(page, "condition")  # picked, not typed (issue 19): what the bot knows, how, which option
    page.locator("#step-form").get_by_role("button", name="+ Add a row").click()
    saved(page)
    for name, label in (("Check", "drink (the answer to “Coffee or tea, name?”)"), ("How", "is"),
                        ("Value", "Coffee")):
        page.locator("#inspector-status").evaluate("el => el.replaceChildren()")
        page.locator("#step-form").get_by_role("combobox", name=re.compile(f"^{name}")).select_option(label=label)
        saved(page)
    expect(page.locator(".branch-label", has_text="If drink is Coffee")).to_be_visible()
    condition = page.locator(".node[data-type=condition]")
    add_step(page, "message", condition.locator(".add-here").first)
    fill(page, "What the bot says", "One coffee for {{ name }}, coming up!")

    add_step(page, "event")
    fill(page, "Event name", "order-done")
    add_step(page, "message")
    fill(page, "What the bot says", "Enjoy your tea!")

    # drag the last message into the "Tea" option of the choice
    tea = page.locator(".branch", has=page.locator(".branch-label", has_text="Option “Tea”")).locator("ol.steps")
    message = page.locator("ol.steps.root > .node").last
    handle = message.locator(".handle").first
    box, target = handle.bounding_box(), tea.bounding_box()
    page.mouse.move(box["x"] + 5, box["y"] + 10)
    page.mouse.down()
    page.mouse.move(box["x"] + 10, box["y"] - 20, steps=5)
    page.mouse.move(target["x"] + 40, target["y"] + 4, steps=20)
    page.mouse.up()
    expect(tea.locator(".node .summary", has_text="Enjoy your tea!")).to_be_visible()
    expect(page.get_by_test_id("problem-count")).to_have_text("0")
    page.screenshot(path=str(tmp_path / "editor.png"))

    page.get_by_test_id("publish").click()
    page.get_by_test_id("publish-note").fill("The first version")
    page.get_by_test_id("publish-confirm").click()
    expect(page.get_by_test_id("versions")).to_contain_text("The first version")
    expect(page.get_by_test_id("versions")).to_contain_text(newcomer)

    page.get_by_role("link", name="Back to the editor").click()
    page.get_by_test_id("open-preview").click()
    chat = page.locator("#chat-box")
    expect(chat.get_by_test_id("arbor-message").filter(has_text="What is your name?")).to_be_visible()
    chat.get_by_test_id("arbor-input").fill("Eva")
    chat.get_by_test_id("arbor-send").click()
    expect(chat.get_by_test_id("arbor-message").filter(has_text="Coffee or tea, Eva?")).to_be_visible()
    expect(page.get_by_test_id("preview-data")).to_contain_text("Eva")
    expect(page.locator(".node[data-type=choice] > .row.at")).to_be_visible()  # the step the chat is at
    chat.get_by_test_id("arbor-button").filter(has_text="Tea").click()
    expect(chat.get_by_test_id("arbor-message").filter(has_text="Enjoy your tea!")).to_be_visible()
    page.screenshot(path=str(tmp_path / "preview.png"))

    # a broken file: every problem with its place
    page.goto(f"{live.url}/designer/import")
    broken = {"format": 1, "id": "broken", "name": "Broken", "start": "nowhere",
              "dialogs": [{"id": "a", "title": "A", "steps": [{"id": "s1", "type": "goto", "dialog": "gone"}]}]}
    page.get_by_test_id("import-file").set_input_files(
        files=[{"name": "broken.json", "mimeType": "application/json", "buffer": json.dumps(broken).encode()}])
    page.get_by_role("button", name="Import").click()
    problems = page.get_by_test_id("import-problems")
    expect(problems).to_contain_text("/start")
    expect(problems).to_contain_text("/dialogs/0/steps/0/dialog")
    # import it anyway: the page posts back the id of the file kept on the server, never the file
    expect(page.locator("textarea[name=document]")).to_have_count(0)
    page.get_by_test_id("import-anyway").click()
    expect(page.get_by_test_id("dialog-title")).to_be_visible()


def test_two_tabs_editing_one_bot_are_told_of_the_conflict(live, page: Page, newcomer: str):
    signed_in(page, live.url, newcomer)
    page.get_by_role("button", name="New bot").click()
    page.get_by_label("Name").fill("Two tabs")
    page.get_by_role("button", name="Create bot").click()
    expect(page.get_by_test_id("dialog-title")).to_be_visible()
    other = page.context.new_page()
    other.goto(page.url)
    add_step(other, "message")
    page.get_by_test_id("add-step").click()  # this tab still shows the bot as it was
    page.get_by_test_id("menu-end").click()
    conflict = page.locator("#conflict")
    expect(conflict).to_be_visible()
    expect(conflict).to_contain_text("changed in another tab")
    conflict.get_by_role("button", name="Reload").click()
    expect(page.locator(".node[data-type=message]")).to_have_count(2)  # the other tab's work is there
    other.close()


def test_an_edit_after_the_session_ended_is_saved_after_signing_in_again(live, page: Page, newcomer: str):
    signed_in(page, live.url, newcomer)
    page.get_by_role("button", name="New bot").click()
    page.get_by_label("Name").fill("Session end")
    page.get_by_role("button", name="Create bot").click()
    page.get_by_test_id("step").first.click()
    text = page.locator("#step-form").get_by_label("What the bot says")
    expect(text).to_be_visible()
    other = page.context.new_page()  # signing out in another tab ends this tab's session too
    other.goto(f"{live.url}/designer/")
    other.get_by_role("button", name="Sign out").click()
    # signed out before the tab closes: closing a page in the middle of the sign-out's navigation can hang
    # Chromium's close, and the edit below must find the session ended
    expect(other.get_by_role("heading", name="Sign in to Arbor")).to_be_visible()
    other.close()
    text.fill("Typed while signed out")
    text.blur()
    dialog = page.locator("#signin-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_label("E-mail").fill(newcomer)
    dialog.get_by_label("Password").fill(PASSWORD)
    dialog.get_by_role("button", name="Sign in and save").click()
    saved(page)
    expect(text).to_have_value("Typed while signed out")
    page.reload()
    expect(page.locator(".node .summary").first).to_have_text("Typed while signed out")


def test_a_field_left_before_htmx_settles_the_new_form_is_saved(live, page: Page, newcomer: str):
    """On a busy machine htmx settles a swapped-in form late; a field filled and left before that is saved all
    the same (this lost the edit once, under CI's load). The settle delay is stretched to make it certain."""
    signed_in(page, live.url, newcomer)
    page.get_by_role("button", name="New bot").click()
    page.get_by_label("Name").fill("Quick hands")
    page.get_by_role("button", name="Create bot").click()
    expect(page.get_by_test_id("dialog-title")).to_have_value("Welcome")
    page.wait_for_function("() => window.htmx")  # the page's scripts are deferred: the form can come first
    page.evaluate("htmx.config.defaultSettleDelay = 3000")
    add_step(page, "event")
    field = page.locator("#step-form").get_by_label("Event name").first
    field.fill("order-done")
    field.blur()
    expect(page.get_by_test_id("saved")).to_be_visible(timeout=2500)  # before the 3 s settle
    with live.app.app_context():
        doc, _ = load_draft("quick-hands")
        db.session.remove()
    assert [step.get("name") for dialog in doc["dialogs"] for step in dialog["steps"] if step["type"] == "event"] \
        == ["order-done"]


def test_undo_lights_up_only_when_a_change_was_saved(live, page: Page, newcomer: str):
    signed_in(page, live.url, newcomer)
    page.get_by_role("button", name="New bot").click()
    page.get_by_label("Name").fill("Undo light")
    page.get_by_role("button", name="Create bot").click()
    undo = page.get_by_test_id("undo")
    expect(undo).to_be_disabled()
    expect(undo).to_have_attribute("title", "Nothing to undo")

    page.get_by_test_id("step").first.click()  # selecting a step changes nothing
    text = page.locator("#step-form").get_by_label("What the bot says")
    expect(text).to_be_visible()
    text.fill(text.input_value())  # nor does leaving a field as it was
    text.blur()
    expect(page.get_by_test_id("saved")).to_be_visible()
    expect(undo).to_be_disabled()
    expect(undo).to_have_attribute("title", "Nothing to undo")

    fill(page, "What the bot says", "Hello, Undo!")
    expect(undo).to_be_enabled()
    expect(undo).to_have_attribute("title", "Undo: Changed a step")
    undo.click()
    expect(page.get_by_role("status").filter(has_text="Undone: Changed a step")).to_be_visible()
    expect(page.locator(".node .summary").first).not_to_have_text("Hello, Undo!")
    expect(page.get_by_test_id("undo")).to_be_disabled()  # the one change is taken back: nothing left to undo


def test_a_refused_edit_quoting_markup_shows_it_as_text(live, page: Page, newcomer: str):
    """A refusal quotes the input (a dialog's name) escaped, as the answer is HTML to swap next to a form; the
    toast, which shows text, shows what it reads: the markup as typed, neither run nor as entities."""
    signed_in(page, live.url, newcomer)
    page.get_by_role("button", name="New bot").click()
    page.get_by_label("Name").fill("Markup in a refusal")
    page.get_by_role("button", name="Create bot").click()
    step = page.locator(".node").first.get_attribute("data-step")
    page.wait_for_function("() => window.htmx")  # the page's scripts are deferred: the tree can come first
    page.evaluate("""([url]) => htmx.ajax('POST', url, {source: document.body,
                                                        values: {place: '<b id="bold">x</b>', index: 0}})""",
                  [page.url.split("/edit")[0] + f"/steps/{step}/move"])
    alert = page.get_by_role("alert")
    expect(alert).to_have_text("There is no dialog '<b id=\"bold\">x</b>' any more; reload the page.")
    expect(page.locator("#bold")).to_have_count(0)
