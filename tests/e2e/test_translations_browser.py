"""The support example in English and Czech through the widget on the demo page, the page setting its locale;
the widget's own words follow it (issue 20)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from runtime.channels.directline.cors import set_allowed_origins
from runtime.extensions import db
from runtime.store.bots import import_bot
from runtime.testing.playwright_plugin import Webchat
from tests.golden import load_doc

pytestmark = pytest.mark.e2e


@pytest.fixture
def browser_in() -> Iterator:
    """Pages of a fresh context whose browser speaks `locale` (navigator.language and Accept-Language)."""
    contexts = []

    def open_page(browser: Browser, locale: str) -> Page:
        context = browser.new_context(viewport={"width": 1280, "height": 800}, locale=locale)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def test_the_page_asks_for_czech_and_the_bot_and_the_widget_speak_it(browser, browser_in, live):
    page = browser_in(browser, "en-US")
    page.goto(live.demo("support") + "?locale=cs")
    chat = Webchat(page, "support").open()
    chat.expect_bot("Dobrý den! Jsem bot zákaznické podpory.")
    chat.expect_bot("S čím vám mohu pomoci?")
    expect(chat.part("arbor-button")).to_have_text(["Sledovat objednávku", "Pomoc s pokladnou", "Zavřít chat",
                                                    "Mluvit s člověkem"])
    expect(chat.part("arbor-input")).to_have_attribute("placeholder", "Napište zprávu…")
    expect(chat.part("arbor-send")).to_have_attribute("aria-label", "Odeslat")
    expect(chat.part("arbor-close")).to_have_attribute("title", "Zavřít chat")
    chat.say("sledovat objednavku")  # typed, without the accents
    chat.expect_bot("Jaké je číslo vaší objednávky? (dvě písmena a čtyři číslice, třeba AB1234)")
    chat.say("12")
    chat.expect_bot("Čísla objednávek vypadají jako AB1234. Zkuste to prosím znovu.")
    chat.say("ab1234")
    chat.expect_bot("Objednávka AB1234 je na cestě. Otevřel jsem vám ji na stránce.")


def test_the_page_asks_for_english_whatever_the_browser_speaks(browser, browser_in, live):
    page = browser_in(browser, "cs-CZ")
    page.goto(live.demo("support") + "?locale=en")
    chat = Webchat(page, "support").open()
    chat.expect_bot("Hello! I am the support bot.")
    expect(chat.part("arbor-input")).to_have_attribute("placeholder", "Type a message…")
    chat.click("Track an order")
    chat.expect_bot("What is your order number? (two letters and four digits, like AB1234)")


def test_without_a_page_locale_the_browser_language_counts(browser, browser_in, live):
    czech = browser_in(browser, "cs-CZ")
    czech.goto(live.demo("support"))
    Webchat(czech, "support").open().expect_bot("S čím vám mohu pomoci?")
    german = browser_in(browser, "de-DE")  # the bot has no German: its default; the widget has German words
    german.goto(live.demo("support"))
    chat = Webchat(german, "support").open()
    chat.expect_bot("How can I help?")
    expect(chat.part("arbor-input")).to_have_attribute("placeholder", "Nachricht eingeben…")


def test_the_visitor_switches_language_and_the_widget_words_follow_the_bot(page: Page, live):
    with live.app.app_context():
        import_bot(load_doc("polyglot"), publish=True)
        set_allowed_origins("polyglot", [live.url])
        db.session.remove()
    page.goto(live.demo("polyglot") + "?locale=en")
    chat = Webchat(page, "polyglot").open()
    chat.expect_bot("Hello there!")
    expect(chat.part("arbor-input")).to_have_attribute("placeholder", "Type a message…")
    chat.click("Change language")
    chat.expect_bot("Which language?")
    chat.click("Deutsch")
    chat.expect_bot("Hallo du!")
    expect(chat.part("arbor-input")).to_have_attribute("placeholder", "Nachricht eingeben…")
    expect(chat.part("arbor-send")).to_have_attribute("aria-label", "Senden")
    chat.say("kaffee")
    chat.expect_bot("Ein coffee kommt.")
