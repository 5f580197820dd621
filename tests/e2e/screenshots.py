"""Regenerates every picture README.md and docs/ show, from a live Arbor: `make docs`, or
`.venv/bin/python -m tests.e2e.screenshots [NAME ...]` for some of them (home, demo, designer, tree-analytics,
platforms, platforms-botframework, translations, share, conditions, readme).

The live Arbor is the browser tests' (tests/e2e/conftest.py `running`): the Flask app on a random port of
127.0.0.1, on a temp data folder of its own, with the example bots imported and published; a designer
administrator is made for the designer's pictures (after the home page's: a newcomer sees it before anyone
has an account). Chromium is Debian's, at 1280 x 800. Not a test: pytest
does not collect it (its name does not start with test_), and it writes into docs/screenshots/.

`readme` renders README.md's first screen with the `markdown` package when it is importable (it is no
dependency of Arbor), else it is skipped with a message.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

from runtime.channels.platforms import connections
from runtime.extensions import db
from runtime.store.drafts import load_draft, save_draft
from runtime.testing.playwright_plugin import Webchat
from runtime.webhooks.models import WebhookSubscription
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, ROOT, Live, Site, person, running, serving, sign_in
from tests.e2e.test_condition_builder_browser import build_by_picking
from tests.e2e.test_share_browser import refused_on_another_site, shop_bot
from tests.e2e.test_tree_analytics import seed

OUT = ROOT / "docs" / "screenshots"
VIEWPORT = {"width": 1280, "height": 800}
# README's look on a code host, near enough: the text column, its fonts, code blocks and tables.
README_CSS = """
body { margin: 0; background: #fff; color: #1f2328; font: 16px/1.5 -apple-system, "Segoe UI", "Noto Sans",
       Helvetica, Arial, sans-serif; }
article { max-width: 880px; margin: 12px auto; padding: 0 32px; }
article > :first-child { margin-top: 0; }
h1, h2 { padding-bottom: .3em; border-bottom: 1px solid #d1d9e0; margin: 24px 0 16px; }
h1 { font-size: 2em; } h2 { font-size: 1.5em; }
p, ul, pre { margin: 0 0 16px; }
a { color: #0969da; text-decoration: none; }
code { padding: .2em .4em; font: 85% ui-monospace, monospace; background: #eff1f3; border-radius: 6px; }
pre { padding: 16px; background: #f6f8fa; border-radius: 6px; overflow: auto; }
pre code { padding: 0; background: none; font-size: 85%; }
img { max-width: 100%; vertical-align: top; }
"""


def home(browser: Browser, live: Live, admin: str | None, out: Path) -> None:
    """The `/` page of a fresh Arbor with the example bots, as a newcomer first sees it (nobody has an account
    yet, so it leads to the first-run page)."""
    page = _page(browser)
    page.goto(f"{live.url}/")
    page.wait_for_load_state("networkidle")
    _save(page, out / "home.png")


def demo(browser: Browser, live: Live, admin: str, out: Path) -> None:
    """The support bot's demo page, the widget open after a reply with buttons (an order tracked: the bot's
    answer, the event it sent to the page, and its buttons again)."""
    page = _page(browser)
    page.goto(live.demo("support"))
    chat = Webchat(page, "support")
    chat.open()
    chat.expect_bot("How can I help?")
    chat.click("Track an order")
    chat.expect_bot("order number")
    chat.say("ab1234")
    chat.expect_bot("Order AB1234 is on its way")
    chat.expect_event("show-order")
    chat.expect_bot("How can I help?")
    expect(chat.button("Talk to a person")).to_be_visible()
    page.wait_for_timeout(500)  # the last message's entrance
    _save(page, out / "demo.png")


def designer(browser: Browser, live: Live, admin: str, out: Path) -> None:
    """The tree editor of the support bot, a step's form open."""
    page = _page(browser)
    sign_in(page, live.url, admin)
    page.goto(f"{live.url}/designer/bots/support/edit")
    page.locator("#node-sp-w2 [data-testid=step]").first.click()  # the choice "How can I help?"
    expect(page.locator('#step-form[data-step="sp-w2"]')).to_be_visible()
    page.wait_for_load_state("networkidle")
    _save(page, out / "designer.png")


def tree_analytics(browser: Browser, live: Live, admin: str, out: Path) -> None:
    """Analytics on the tree: the contact dialog of a copy of lead-capture after twelve conversations that
    stopped at different steps (tests/e2e/test_tree_analytics.py)."""
    bot = seed(live.app)
    page = _page(browser, height=760)
    sign_in(page, live.url, admin)
    page.goto(f"{live.url}/designer/bots/{bot}/edit?dialog=contact")
    page.get_by_role("button", name="Results").click()
    page.get_by_test_id("show-analytics").click()
    expect(page.locator("#node-lc-c2 [data-testid=reach]").first).to_have_attribute(
        "title", "7 reached this step; 3 stopped here (43%)")
    _save(page, out / "tree-analytics.png")


def platforms(browser: Browser, live: Live, admin: str, out: Path) -> None:
    """The support bot's Platforms page: a Webex Connect connection waiting for Webex's Verify, a Twilio one, and
    each platform's own form for a new connection."""
    with live.app.app_context():
        for made in connections.list_for("support"):
            connections.delete("support", made["slug"])
        webex = connections.create("support", "webex", "Webex Connect (WhatsApp)", "http://127.0.0.1:9/bot-webhook",
                                   kind="webex-connect")
        # What a real integration shows (the live Arbor allows loopback only, and never posts to it here).
        db.session.get(WebhookSubscription, webex.connection["targetId"]).url = \
            "https://eu.webexconnect.example/bots/3f2a/webhook"
        db.session.commit()
        connections.create("support", "sms", "Twilio SMS", "", kind="twilio",
                           settings={"accountSid": "AC" + "0123456789abcdef" * 2, "phoneNumber": "+442071234567",
                                     "publicUrl": "https://bots.example.com/b/support/hooks/sms"},
                           secrets={"authToken": "not-a-real-token"})
        db.session.remove()
    page = _page(browser, height=1760)
    sign_in(page, live.url, admin)
    page.goto(f"{live.url}/designer/bots/support/platforms")
    expect(page.get_by_test_id("connection")).to_have_count(2)
    page.wait_for_load_state("networkidle")
    _save(page, out / "platforms.png")
    with live.app.app_context():  # the live Arbor is the screenshots' only: leave the support bot as it was
        for made in connections.list_for("support"):
            connections.delete("support", made["slug"])
        db.session.remove()


def platforms_botframework(browser: Browser, live: Live, admin: str, out: Path) -> None:
    """The support bot's Platforms page with a Microsoft Bot Framework connection (Microsoft's public addresses),
    and the Bot Framework's form for a new one, its Advanced fold open."""
    with live.app.app_context():
        for made in connections.list_for("support"):
            connections.delete("support", made["slug"])
        connections.create("support", "teams", "Teams via Azure Bot Service", "", kind="botframework",
                           settings={"appId": "2f1c6a9e-5b7d-4e0a-9c3b-8d6e1f2a3b4c"},
                           secrets={"appPassword": "not-a-real-password"})
        db.session.remove()
    page = _page(browser, height=2320)
    sign_in(page, live.url, admin)
    page.goto(f"{live.url}/designer/bots/support/platforms")
    expect(page.get_by_test_id("connection")).to_have_count(1)
    form = page.get_by_test_id("new-botframework")
    form.locator("summary").click()
    expect(form.locator('input[name="token_endpoint"]')).to_be_visible()
    page.evaluate("window.scrollTo(0, 0)")
    page.wait_for_load_state("networkidle")
    _save(page, out / "platforms-botframework.png")
    with live.app.app_context():  # leave the support bot as it was
        for made in connections.list_for("support"):
            connections.delete("support", made["slug"])
        db.session.remove()


def translations(browser: Browser, live: Live, admin: str, out: Path) -> None:
    """The support bot's translation table with German added and half done: the missing cells highlighted."""
    with live.app.app_context():
        doc, revision = load_draft("support")
        german = {"sp-w11/text": "Hallo, {{ name }}! Ich bin der Support-Bot.", "sp-w1/text": "Hallo! Ich bin der "
                  "Support-Bot.", "sp-w2/text": "Wie kann ich helfen?", "sp-w2/options/0/title": "Eine Bestellung "
                  "verfolgen", "sp-w2/options/1/title": "Hilfe beim Bezahlen"}
        save_draft("support", {**doc, "languages": ["en", "cs", "de"],
                               "translations": {**doc["translations"], "de": german}}, revision, label="screenshot")
        db.session.remove()
    page = _page(browser, height=1500)
    sign_in(page, live.url, admin)
    page.goto(f"{live.url}/designer/bots/support/translations")
    expect(page.get_by_test_id("translation-table")).to_be_visible()
    page.wait_for_load_state("networkidle")
    _save(page, out / "translations.png")
    with live.app.app_context():  # leave the support bot as it was
        save_draft("support", doc, load_draft("support")[1], label="screenshot")
        db.session.remove()


def share(browser: Browser, live: Live, admin: str, out: Path) -> None:
    """The snippet pasted on a shop's own site (a page of another loopback origin): the widget there says the
    website is not allowed (widget-refused.png), and the Share panel offers to add it (share-panel.png)."""
    bot = shop_bot(live)
    pages = Site()
    with serving(pages) as url:
        pages.url = url
        page = _page(browser, height=940)
        sign_in(page, live.url, admin)
        shop, _ = refused_on_another_site(page, live, pages, bot)
        visitor = _page(browser)
        visitor.goto(shop)
        chat = Webchat(visitor, bot).open()
        expect(chat.part("arbor-status")).to_be_visible()
        _save(visitor, out / "widget-refused.png")
        page.goto(f"{live.url}/designer/bots/{bot}/share")
        expect(page.get_by_role("textbox", name="Website")).to_have_value(url)
        _save(page, out / "share-panel.png")


def conditions(browser: Browser, live: Live, admin: str, out: Path) -> None:
    """A bot built by picking (tests/e2e/test_condition_builder_browser.py): a message's form with the name put in
    from the Insert menu, a chip in the preview and the tree (insert-menu.png); the condition builder with "If
    interest is Website" in the tree (condition-builder.png)."""
    page = _page(browser, height=860)
    sign_in(page, live.url, admin)

    def shot(name: str, what: Page | Locator) -> None:
        if errors := _ERRORS[page]:
            raise RuntimeError(f"{name}.png: the page's scripts failed: {errors}")
        what.screenshot(path=str(out / f"{name}.png"))
        print(f"wrote {(out / f'{name}.png').relative_to(ROOT)}")

    build_by_picking(page, shot)
    _ERRORS.pop(page)
    page.context.close()


def readme(browser: Browser, live: Live, admin: str, out: Path) -> None:
    """README.md's first screen, rendered as a code host would (its pictures are those in docs/screenshots)."""
    try:
        import markdown
    except ImportError:
        print("readme.png skipped: the markdown package is not installed (pip install markdown)", file=sys.stderr)
        return
    body = markdown.markdown((ROOT / "README.md").read_text(), extensions=["fenced_code", "tables"])
    html = (f'<!doctype html><html><head><meta charset="utf-8"><base href="{ROOT.as_uri()}/">'
            f"<style>{README_CSS}</style></head><body><article>{body}</article></body></html>")
    with tempfile.TemporaryDirectory() as folder:
        file = Path(folder) / "README.html"
        file.write_text(html)
        page = _page(browser)
        page.goto(file.as_uri())
        page.wait_for_load_state("load")
        _save(page, out / "readme.png")


SHOTS: dict[str, Callable[[Browser, Live, str | None, Path], None]] = {
    "home": home, "demo": demo, "designer": designer, "tree-analytics": tree_analytics,
    "platforms": platforms, "platforms-botframework": platforms_botframework, "translations": translations,
    "share": share, "conditions": conditions, "readme": readme}


def _page(browser: Browser, height: int = VIEWPORT["height"]) -> Page:
    """A page in a fresh context (its own cookies and storage); a script error on it stops the run."""
    page = browser.new_context(viewport={**VIEWPORT, "height": height}).new_page()
    errors = _ERRORS[page] = []
    page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))
    return page


_ERRORS: dict[Page, list[str]] = {}


def _save(page: Page, path: Path) -> None:
    """The page's screenshot at `path`, unless a script on it failed."""
    if errors := _ERRORS.pop(page):
        raise RuntimeError(f"{path.name}: the page's scripts failed: {errors}")
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path))
    page.context.close()
    print(f"wrote {path.relative_to(ROOT)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.e2e.screenshots", description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help=f"the pictures to make ({', '.join(SHOTS)}); all when none is named")
    names = parser.parse_args(argv).names or list(SHOTS)
    if unknown := set(names) - set(SHOTS):
        parser.error(f"no picture named {', '.join(sorted(unknown))} (there are {', '.join(SHOTS)})")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # not a line per request
    if CHROMIUM is None:
        print("chromium is not installed (make test-tools installs Debian's package)", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as data, running(Path(data)) as live, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        admin = None
        for name in SHOTS:  # in this order: the home page before anyone has an account
            if name in names:
                if name != "home" and admin is None:
                    admin = person(live)
                SHOTS[name](browser, live, admin, OUT)
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
