"""The widget's layout on a desktop and on a narrow phone, with screenshots in the temp folder to look at."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from runtime.testing.playwright_plugin import Webchat

pytestmark = pytest.mark.e2e

SHOTS = Path(tempfile.gettempdir())


@pytest.mark.parametrize(("device", "width", "height"), [("desktop", 1280, 800), ("phone", 390, 844)])
def test_the_open_widget_on_the_demo_page(browser: Browser, live, device: str, width: int, height: int):
    context = browser.new_context(viewport={"width": width, "height": height}, is_mobile=device == "phone")
    page = context.new_page()
    page.goto(live.demo("lead-capture"))
    chat = Webchat(page, "lead-capture").open()
    chat.button("See the plans").click()
    expect(chat.part("arbor-card")).to_have_count(3)
    page.screenshot(path=SHOTS / f"arbor-webchat-{device}.png")

    panel = chat.panel.bounding_box()
    if device == "phone":  # narrower than 480 px: the chat takes the whole screen
        assert (panel["x"], panel["y"], panel["width"], panel["height"]) == (0, 0, width, height)
    else:
        assert panel["width"] == 380 and panel["x"] + panel["width"] <= width - 20
    context.close()
