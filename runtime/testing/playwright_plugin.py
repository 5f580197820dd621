"""A pytest plugin for driving Arbor's webchat widget with Playwright, on any page that embeds it.

Installed with Arbor (a `pytest11` entry point), it adds the fixture `webchat`: the widget on the
test's Playwright `page` (from pytest-playwright, or a `page` fixture of your own):

    def test_order_help(page, webchat):
        page.goto("https://shop.example/")
        webchat.open()                          # clicks the launcher; the bot starts talking
        webchat.say("Track an order")           # types and sends (opening the chat if needed)
        webchat.expect_bot("order number")      # the bot's next messages: a text it contains, or re.compile(...)
        webchat.click("Track an order")         # a button (suggested reply or card button) by its title
        webchat.send_event("checkout-done", {"total": 12})   # as the page's own script would
        assert webchat.expect_event("confetti") == {"total": "12"}   # an event the bot sent to the page

`webchat` talks to the first chat on the page; `webchat("support")` to the chat of bot `support`.
`expect_bot` looks only at messages after the one it matched last, so a question asked twice must
be expected twice. Everything is found through the widget's stable `data-testid`s (docs/webchat.md).
Playwright is imported only when the fixture is used, so the plugin never breaks a run without it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

TIMEOUT_MS = 8_000
# Records the events bots send to the page (the widget's `arbor:event`), from the first script on.
_RECORD_EVENTS = """(() => { if (window.__arborEvents) return; window.__arborEvents = [];
  addEventListener('arbor:event', (e) => window.__arborEvents.push({bot: e.detail.bot, name: e.detail.name,
                                                                     value: e.detail.value})); })()"""
# The bot messages of a chat after the one last matched by Webchat `key` (all of them when that one is gone,
# as after "start over" or a reload): their elements and text (bubble and cards).
_BOT_ROWS = """([selector, key]) => { const host = document.querySelector(selector);
  if (!host || !host.shadowRoot) return [];
  const rows = [...host.shadowRoot.querySelectorAll('[data-testid=arbor-message][data-role=bot]')];
  const last = (window.__arborSeen || {})[key];
  return rows.slice(rows.indexOf(last) + 1).map((row) => [row, [...row.querySelectorAll(
    '.bubble, [data-testid=arbor-card]')].map((n) => n.innerText).join('\\n')]); }"""
_BOT_TEXTS = f"""(args) => ({_BOT_ROWS})(args).map(([row, text]) => text)"""
# Polled by wait_for_function: the first of those that matches a regex, marked as matched; its index among
# all bot messages, or null.
_FIRST_MATCH = f"""([selector, key, source, flags]) => {{ const re = new RegExp(source, flags);
  const hit = ({_BOT_ROWS})([selector, key]).find(([row, text]) => re.test(text));
  if (!hit) return null;
  (window.__arborSeen = window.__arborSeen || {{}})[key] = hit[0];
  return {{i: [...hit[0].parentNode.querySelectorAll('[data-testid=arbor-message][data-role=bot]')].indexOf(hit[0])}};
}}"""


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("webchat_timeout_ms", f"How long webchat expectations wait (default {TIMEOUT_MS} ms).",
                  default=str(TIMEOUT_MS))


class Webchat:
    """One bot's chat widget on a page (the first chat on the page when `bot` is None)."""

    def __init__(self, page: Page, bot: str | None = None, *, timeout_ms: int = TIMEOUT_MS):
        self.page, self.bot, self.timeout_ms = page, bot, timeout_ms
        self.selector = f'arbor-webchat[data-bot="{bot}"]' if bot else "arbor-webchat"
        self.host = page.locator(self.selector).first
        self.key = f"webchat-{id(self)}"  # names, in the page, the bot message this object matched last
        self.seen_events = 0
        page.add_init_script(_RECORD_EVENTS)  # for pages opened from now on
        if page.url.startswith("http"):
            page.evaluate(_RECORD_EVENTS)  # and the page already open

    def __call__(self, bot: str) -> Webchat:
        """The chat of another bot on the same page."""
        return Webchat(self.page, bot, timeout_ms=self.timeout_ms)

    # --- parts, by their data-testid ---------------------------------------------------------------

    def part(self, test_id: str) -> Locator:
        return self.host.get_by_test_id(test_id)

    @property
    def panel(self) -> Locator:
        return self.part("arbor-panel")

    def messages(self, role: str | None = None) -> Locator:
        """Message rows; `role` "bot" or "user" keeps one side."""
        found = self.part("arbor-message")
        return found.and_(self.host.locator(f'[data-role="{role}"]')) if role else found

    def button(self, title: str) -> Locator:
        """The buttons with this title: suggested replies and card buttons, newest last."""
        return self.host.locator("[data-testid=arbor-button], [data-testid=arbor-card-button]").filter(
            has_text=re.compile(rf"^\s*{re.escape(title)}\s*$"))

    # --- what a user does ----------------------------------------------------------------------

    def open(self) -> Webchat:
        """Open the chat panel (if it is closed) and wait until it takes input."""
        from playwright.sync_api import expect

        if not self.panel.is_visible():
            self.part("arbor-launcher").click()
        expect(self.panel).to_be_visible(timeout=self.timeout_ms)
        expect(self.part("arbor-input")).to_be_focused(timeout=self.timeout_ms)
        return self

    def say(self, text: str) -> None:
        """Type a message and send it; returns once it shows in the conversation."""
        from playwright.sync_api import expect

        if not self.panel.is_visible():
            self.open()
        before = self.messages("user").count()
        self.part("arbor-input").fill(text)
        self.part("arbor-input").press("Enter")
        expect(self.messages("user")).to_have_count(before + 1, timeout=self.timeout_ms)

    def click(self, title: str) -> None:
        """Click the newest button with this title (a suggested reply or a card's button)."""
        from playwright.sync_api import expect

        button = self.button(title).last
        try:
            expect(button).to_be_visible(timeout=self.timeout_ms)
        except AssertionError:
            offered = [t.strip() for t in self.host.locator(
                "[data-testid=arbor-button], [data-testid=arbor-card-button]").all_inner_texts()]
            raise AssertionError(f"No button '{title}' in the chat; buttons shown: {offered}") from None
        button.click()

    def send_event(self, name: str, value: Any = None) -> None:
        """Send a page event to the bot, as the page's script does with `chat.sendEvent(name, value)`."""
        self.page.wait_for_function("(s) => { const h = document.querySelector(s); return h && window.Arbor && "
                                    "Arbor.get(h.dataset.bot); }", arg=self.selector, timeout=self.timeout_ms)
        self.page.evaluate("([s, name, value]) => Arbor.get(document.querySelector(s).dataset.bot)"
                           ".sendEvent(name, value)", [self.selector, name, value])

    # --- what the bot should do ------------------------------------------------------------------

    def expect_bot(self, expected: str | re.Pattern) -> Locator:
        """Wait for a bot message after the last one matched that contains `expected` (or matches the
        pattern, in JavaScript's regex dialect); returns it. Fails saying what the bot said instead."""
        if isinstance(expected, re.Pattern):
            source, flags, shown = expected.pattern, "i" if expected.flags & re.IGNORECASE else "", expected.pattern
        else:
            source, flags, shown = re.escape(expected), "", expected
        try:
            hit = self.page.wait_for_function(_FIRST_MATCH, arg=[self.selector, self.key, source, flags],
                                              timeout=self.timeout_ms).json_value()["i"]
        except Exception as e:  # playwright's TimeoutError
            said = self.page.evaluate(_BOT_TEXTS, [self.selector, self.key])
            raise AssertionError(f"The bot did not say {shown!r} within {self.timeout_ms} ms; after the last message "
                                 f"matched it said: {said!r}") from e
        return self.messages("bot").nth(hit)

    def expect_event(self, name: str) -> Any:
        """Wait for the bot to send the page event `name` (after those already expected); returns its value."""
        script = """([bot, name, seen]) => { const all = window.__arborEvents || [];
          for (let i = seen; i < all.length; i++) if (all[i].name === name && (!bot || all[i].bot === bot))
            return {index: i, value: all[i].value === undefined ? null : all[i].value};
          return null; }"""
        try:
            handle = self.page.wait_for_function(script, arg=[self.bot, name, self.seen_events],
                                                 timeout=self.timeout_ms)
        except Exception as e:  # playwright's TimeoutError
            sent = self.page.evaluate("() => (window.__arborEvents || []).map((e) => e.name)")
            raise AssertionError(f"The bot did not send the event '{name}' within {self.timeout_ms} ms; events "
                                 f"sent: {sent}") from e
        found = handle.json_value()
        self.seen_events = found["index"] + 1
        return found["value"]


@pytest.fixture
def webchat(request: pytest.FixtureRequest) -> Webchat:
    """The webchat widget on the test's Playwright `page`; `webchat("bot")` picks one chat of several."""
    page = request.getfixturevalue("page")
    try:
        timeout_ms = int(request.config.getini("webchat_timeout_ms"))
    except ValueError:  # the fixture imported by a conftest, the plugin itself not loaded
        timeout_ms = TIMEOUT_MS
    return Webchat(page, timeout_ms=timeout_ms)
