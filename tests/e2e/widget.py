"""The widget as a test sees it: one bot's chat on a page, found by role and test id."""

from __future__ import annotations

from playwright.sync_api import Locator, Page, expect


class Widget:
    def __init__(self, page: Page, bot: str):
        self.page = page
        self.host = page.locator(f'arbor-webchat[data-bot="{bot}"]')

    def part(self, test_id: str) -> Locator:
        return self.host.get_by_test_id(test_id)

    @property
    def panel(self) -> Locator:
        return self.part("arbor-panel")

    def messages(self, role: str | None = None) -> Locator:
        found = self.part("arbor-message")
        return found.and_(self.host.locator(f'[data-role="{role}"]')) if role else found

    def bot_said(self, text: str) -> Locator:
        """The bot's message containing `text`, once it is on screen."""
        message = self.messages("bot").filter(has_text=text)
        expect(message).to_be_visible()
        return message

    def button(self, title: str) -> Locator:
        return self.part("arbor-button").filter(has_text=title)

    def open(self) -> Widget:
        self.part("arbor-launcher").click()
        expect(self.panel).to_be_visible()
        expect(self.part("arbor-input")).to_be_focused()
        return self

    def say(self, text: str) -> None:
        self.part("arbor-input").fill(text)
        self.part("arbor-input").press("Enter")
        expect(self.messages("user").filter(has_text=text).last).to_be_visible()
