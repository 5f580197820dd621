"""What a newcomer meets first: the home page (what Arbor is, the way into the designer, the example bots'
demo pages and no other bot), the favicon on every page, the sign-in redirect that brings them back where
they were going."""

from __future__ import annotations

import re
from pathlib import Path

from designer_client import Designer

from runtime.channels.directline.cors import set_allowed_origins
from runtime.extensions import db
from runtime.store.accounts import create_user
from runtime.store.bots import get_bot
from runtime.store.examples import import_examples

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
HERE = "http://localhost"  # the test client's origin


def demo_links(html: str) -> list[str]:
    return re.findall(r'href="(/b/[^"]+/demo)"', html)


def links(html: str) -> list[str]:
    return re.findall(r'<a class="button primary" href="([^"]+)">([^<]+)</a>', html)


def test_the_home_page_lists_the_demo_pages_of_the_example_bots_and_no_other_bot(app, client, bots):
    bots.load("store-basics")  # somebody's own bot, published and open to any site
    with app.app_context():
        assert import_examples(EXAMPLES) == ["booking", "faq", "jobs-crm", "lead-capture", "support"]
        for bot in ("jobs-crm", "lead-capture", "support", "store-basics"):
            set_allowed_origins(bot, ["*"] if bot == "store-basics" else [HERE])
    page = client.get("/")
    assert page.status_code == 200
    assert "Arbor lets people who do not program build chatbots in the browser" in page.text
    assert demo_links(page.text) == ["/b/jobs-crm/demo", "/b/lead-capture/demo", "/b/support/demo"]
    assert all(name in page.text for name in ("Jobs and CRM", "Lead capture", "Support desk"))
    assert "store-basics" not in page.text and "Store basics" not in page.text
    assert 'href="/api/docs"' in page.text and client.get("/api/docs").status_code == 200

    with app.app_context():  # a person's bot that took an example's id; an example whose demo cannot chat here
        get_bot("support").created_by = "eva@example.com"
        db.session.commit()
        set_allowed_origins("lead-capture", ["https://shop.example"])
    assert demo_links(client.get("/").text) == ["/b/jobs-crm/demo"]


def test_the_home_page_lists_nothing_when_no_example_is_loaded(client, bots):
    bots.load("store-basics")
    page = client.get("/").text
    assert demo_links(page) == [] and "Store basics" not in page
    assert "No example bots are loaded here." in page


def test_the_home_page_leads_into_the_designer_first_run_sign_in_your_bots_or_the_console(app, client):
    assert links(client.get("/").text) == [("/designer/welcome", "Set up the designer")]
    designer = Designer(app, client).sign_in()
    assert links(client.get("/").text) == [("/designer/", "Go to your bots")]
    designer.post("/designer/signout")
    assert links(client.get("/").text) == [("/designer/signin", "Sign in to the designer")]
    Designer(app, client).sign_in("alice@example.com", "an agent's password", role="agent")
    assert links(client.get("/").text) == [("/designer/agents", "Open the agent console")]


def test_signing_in_brings_back_the_page_asked_for_without_a_stray_question_mark(app, client):
    with app.app_context():
        create_user("eva@example.com", "long enough", "admin")
    assert client.get("/designer/").location == "/designer/signin?next=/designer/"
    assert client.get("/designer/import?from=home").location == "/designer/signin?next=/designer/import?from%3Dhome"
    page = client.get("/designer/signin?next=/designer/")
    token = page.text.split('name="csrf-token" content="')[1].split('"')[0]
    assert 'name="next" value="/designer/"' in page.text
    signed_in = client.post("/designer/signin", data={"csrf_token": token, "email": "eva@example.com",
                                                      "password": "long enough", "next": "/designer/import?from=home"})
    assert signed_in.location == "/designer/import?from=home"


def icons_of(html: str) -> list[str]:
    return re.findall(r'<link rel="icon" href="([^"]+)"', html)


def test_every_page_has_a_favicon_that_answers(app, client, bots):
    bots.load("support")
    favicon = client.get("/favicon.ico")
    assert favicon.status_code == 200 and favicon.data[:4] == b"\0\0\1\0"  # an ICO file
    assert favicon.content_type in ("image/vnd.microsoft.icon", "image/x-icon")
    assert client.get("/static/favicon.svg").content_type.startswith("image/svg+xml")
    pages = [client.get(path) for path in ("/", "/designer/welcome", "/b/support/demo", "/api/docs")]
    designer = Designer(app, client).sign_in()
    pages += [client.get("/designer/api")]
    designer.post("/designer/signout")
    pages += [client.get("/designer/signin")]
    for page in pages:
        assert page.status_code == 200, page.request.path
        icons = icons_of(page.text)
        assert icons == ["/favicon.ico", "/static/favicon.svg"], page.request.path
        assert all(client.get(icon).status_code == 200 for icon in icons)
