"""Browser tests against a live Arbor: the Flask app served by werkzeug in a thread on a random port of
127.0.0.1, on a temp SQLite database of its own, with the example bots and the `widget-kit` fixture bot
imported, published and open to pages of the server itself. Chromium is Debian's (`make test-tools`
installs it when it is missing).

`site` serves pages from another origin (another port), for clients embedded in someone else's site.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from app import create_app
from runtime.channels.directline.cors import set_allowed_origins
from runtime.extensions import db
from runtime.store.accounts import create_user
from runtime.store.bots import import_bot
from runtime.store.examples import import_examples
from runtime.testing.playwright_plugin import webchat  # noqa: F401 - also a pytest11 plugin once Arbor is installed

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
KIT = ROOT / "tests" / "fixtures" / "bots" / "widget-kit.json"
# The live server runs on SQLite whatever DATABASE_URL says, so a PostgreSQL pass would only repeat the suite.
POSTGRES_PASS = os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql"))
# Polls run every second; a shared CI machine gets some slack beyond the default 5 s.
expect.set_options(timeout=8000)
PASSWORD = "a designer user's password"


def person(live: Live, role: str = "admin", email: str | None = None) -> str:
    """A designer account on the live server (a new e-mail unless one is given); its e-mail."""
    email = email or f"{role}-{uuid.uuid4().hex[:8]}@example.com"
    with live.app.app_context():
        create_user(email, PASSWORD, role)
        db.session.remove()
    return email


def sign_in(page: Page, url: str, email: str) -> None:
    """Sign in on the designer's sign-in page, as a person would (where it leads is the caller's to check)."""
    page.goto(f"{url}/designer/")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


@contextmanager
def serving(app: Callable) -> Iterator[str]:
    """Serve a WSGI app on a free port of 127.0.0.1 in a thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()


@dataclass
class Live:
    app: Flask
    url: str

    def demo(self, bot: str) -> str:
        return f"{self.url}/b/{bot}/demo"


@contextmanager
def running(data: Path, *docs: dict) -> Iterator[Live]:
    """A live Arbor on the data folder `data`: the example bots and the bot documents `docs` imported, published
    and open to pages of the server itself (also the screenshot generator's, tests/e2e/screenshots.py)."""
    app = create_app({"TESTING": True, "ARBOR_DATA": str(data), "SECRET_KEY": "e2e",
                      "WEBCHAT_TOKEN_RATE_LIMIT": "1000 per minute",
                      # streams check their token's expiry at each keep-alive: every 2 s, not 15, when tests move
                      # the clock
                      "DIRECTLINE_STREAM_KEEPALIVE": 2,
                      # the outside systems of these tests (webhook receivers) listen on loopback
                      "OUTBOUND_ALLOW_HOSTS": "127.0.0.1"})
    with serving(app) as url:
        with app.app_context():
            bots = [*import_examples(ROOT / "examples"), *(import_bot(doc, publish=True).id for doc in docs)]
            for bot in bots:
                set_allowed_origins(bot, [url])
        yield Live(app, url)
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="session")
def live(tmp_path_factory) -> Iterator[Live]:
    with running(tmp_path_factory.mktemp("arbor"), json.loads(KIT.read_text())) as server:
        yield server


class Site:
    """Pages of another origin: `add(path, body)` then open `url + path`; node_modules is served too."""

    def __init__(self):
        self.pages: dict[str, str] = {}
        self.url = ""

    def add(self, path: str, html: str) -> str:
        self.pages[path] = html
        return self.url + path

    def __call__(self, environ, start_response):
        path = Request(environ).path
        file = ROOT / path.lstrip("/")
        if path in self.pages:
            response = Response(self.pages[path], content_type="text/html; charset=utf-8")
        elif path.startswith("/node_modules/") and ".." not in path and file.is_file():
            response = Response(file.read_bytes(), content_type="text/javascript")
        else:
            response = Response("not found", status=404)
        return response(environ, start_response)


@pytest.fixture(scope="session")
def site() -> Iterator[Site]:
    pages = Site()
    with serving(pages) as url:
        pages.url = url
        yield pages


# A designer page acts through htmx, which wires it up once the page's deferred scripts have run: a button clicked
# or a field filled before then does nothing. A person is never that quick; a test on a busy machine was (a step
# clicked before htmx was there, a call to htmx before it was defined). So in the tests a designer page stays hidden
# until its load event, and Playwright's actions, which wait for what they act on to be visible, wait for that.
# What only reads does not wait: `inner_text()` of a hidden page is empty, so expect something visible first.
# (Other pages, the widget's among them, are left as they are.)
READY_FIRST = """(() => {
  if (!location.pathname.startsWith('/designer')) return;
  const sheet = new CSSStyleSheet();
  sheet.replaceSync('body { visibility: hidden !important; }');
  document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
  addEventListener('load', () => {
    document.adoptedStyleSheets = document.adoptedStyleSheets.filter((other) => other !== sheet);
  });
})();"""


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if POSTGRES_PASS:
        pytest.skip("browser tests run in the SQLite pass only")
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (make test-tools installs Debian's package)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        opened = browser.new_context

        def new_context(**options) -> BrowserContext:
            context = opened(**options)
            context.add_init_script(READY_FIRST)
            return context

        browser.new_context = new_context  # every context a test opens, the fixtures' and the tests' own
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A page in a fresh browser context (its own localStorage); browser errors fail the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert not errors, errors

