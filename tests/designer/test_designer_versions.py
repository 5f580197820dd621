"""Issue 19, items 8–10 through the Flask test client: the header's word on the draft, what changed side by side,
rollback behind a confirmation, the toolbar grouped by what a person does with a Developers page, and the gallery
a new bot starts from (each with conversation tests that pass)."""

from __future__ import annotations

import html
import json
import re

import pytest
from designer_client import Designer
from sqlalchemy import update

from runtime.extensions import db
from runtime.store import bots, conversation_tests
from runtime.store.models import Bot


@pytest.fixture
def designer(app, client) -> Designer:
    return Designer(app, client).sign_in()


def status(designer: Designer, bot_id: str) -> str:
    partial = designer.client.get(f"/designer/bots/{bot_id}/status").text
    return re.search(r'data-testid="bot-status"[^>]*>([^<]+)<', partial).group(1)


def set_text(designer: Designer, bot_id: str, text: str):
    """Change the first step's text through the JSON editor (a whole-page save, as a person can)."""
    doc, revision = designer.draft(bot_id)
    doc["dialogs"][0]["steps"][0]["text"] = text
    return designer.post(f"/designer/bots/{bot_id}/json", {"document": json.dumps(doc), "revision": revision})


def add_question(designer: Designer, bot_id: str, text: str = "What is your name?"):
    """Add a complete question step (a new one from the menu is empty, a problem that stops publishing)."""
    doc, revision = designer.draft(bot_id)
    doc["dialogs"][0]["steps"].append({"id": "asked", "type": "question", "text": text, "storage": "name"})
    return designer.post(f"/designer/bots/{bot_id}/json", {"document": json.dumps(doc), "revision": revision})


# --- item 8: the header, what changed, rollback ----------------------------------------------------

def test_the_header_says_never_published_published_or_unpublished_changes(designer):
    bot_id = designer.create_bot()
    assert status(designer, bot_id) == "Never published"
    assert 'data-testid="bot-status"' in designer.client.get(f"/designer/bots/{bot_id}/edit").text
    designer.post(f"/designer/bots/{bot_id}/publish")
    assert status(designer, bot_id) == "Published"

    # An autosaved edit answers with draftChanged, which the header listens for to fetch its word again.
    added = designer.edit(f"/designer/bots/{bot_id}/steps", {"type": "message", "place": "welcome", "index": ""})
    assert "draftChanged" in added.headers["HX-Trigger"]
    partial = designer.client.get(f"/designer/bots/{bot_id}/status").text
    assert 'hx-trigger="draftChanged from:body' in partial
    assert status(designer, bot_id) == "Unpublished changes"
    assert f"/designer/bots/{bot_id}/versions?from=1&amp;to=0" in partial  # "What changed" against the live one

    # Undo back to what is live: nothing is left to publish.
    assert designer.edit(f"/designer/bots/{bot_id}/undo", {"dialog": "welcome"}).status_code == 200
    assert status(designer, bot_id) == "Published"


def test_a_bot_published_before_revisions_were_kept_compares_its_documents(app, designer):
    bot_id = designer.create_bot()
    designer.post(f"/designer/bots/{bot_id}/publish")
    with app.app_context():
        db.session.execute(update(Bot).where(Bot.id == bot_id).values(published_revision=None))
        db.session.commit()
    assert status(designer, bot_id) == "Published"
    set_text(designer, bot_id, "Changed")
    assert status(designer, bot_id) == "Unpublished changes"


def test_what_changed_shows_old_and_new_text_side_by_side(designer):
    bot_id = designer.create_bot()
    set_text(designer, bot_id, "Hello! How can I help you?")
    designer.post(f"/designer/bots/{bot_id}/publish")
    assert set_text(designer, bot_id, "Good morning! What can I do for you?").status_code == 302
    add_question(designer, bot_id)

    page = designer.client.get(f"/designer/bots/{bot_id}/versions?from=1&to=0").text
    assert "What changed from version 1 to the draft" in page
    changed = page.split('data-testid="change"')[1:]
    text_change = next(part for part in changed if "Good morning" in part)
    before = re.search(r'data-testid="before">([^<]*)<', text_change).group(1)
    after = re.search(r'data-testid="after">([^<]*)<', text_change).group(1)
    assert (html.unescape(before), html.unescape(after)) == ("Hello! How can I help you?",
                                                              "Good morning! What can I do for you?")
    assert '<td class="muted">What the bot says</td>' in text_change  # the field as its form calls it
    assert any("was added" in part and "What is your name?" in part for part in changed)
    section = page.split('id="changes"')[1]
    assert "&#34;" not in section and "{" not in section  # words, not a JSON diff


def test_rollback_confirms_what_will_happen_then_makes_the_version_the_draft(app, designer):
    bot_id = designer.create_bot()
    designer.post(f"/designer/bots/{bot_id}/publish", {"note": "first"})
    add_question(designer, bot_id)
    designer.post(f"/designer/bots/{bot_id}/publish", {"note": "asks a question"})
    assert designer.published(bot_id) == 2

    listed = designer.client.get(f"/designer/bots/{bot_id}/versions").text
    assert f'href="/designer/bots/{bot_id}/versions/1/rollback"' in listed  # a link to the confirmation, no POST
    confirm = designer.client.get(f"/designer/bots/{bot_id}/versions/1/rollback")
    assert confirm.status_code == 200
    assert "Version 1 becomes the draft; publish to make it live." in confirm.text
    assert ">Confirm</button>" in confirm.text and ">Cancel</a>" in confirm.text and 'name="csrf_token"' in confirm.text
    assert len(designer.draft(bot_id)[0]["dialogs"][0]["steps"]) == 2  # looking at the question changes nothing

    refused = designer.client.post(f"/designer/bots/{bot_id}/versions/1/rollback")  # no CSRF token
    assert refused.status_code == 400 and len(designer.draft(bot_id)[0]["dialogs"][0]["steps"]) == 2
    revision = re.search(r'name="revision" value="(\d+)"', confirm.text).group(1)
    done = designer.post(f"/designer/bots/{bot_id}/versions/1/rollback", {"revision": revision},
                         follow_redirects=True)
    assert "Version 1 is now the draft. Publish it to make it live" in done.text
    assert len(designer.draft(bot_id)[0]["dialogs"][0]["steps"]) == 1
    assert designer.published(bot_id) == 2 and status(designer, bot_id) == "Unpublished changes"

    # Rolling back to the live version drops the draft's changes: the header says Published again.
    live = designer.client.get(f"/designer/bots/{bot_id}/versions/2/rollback").text
    assert "It is the live version, so visitors notice nothing" in live
    designer.post(f"/designer/bots/{bot_id}/versions/2/rollback")
    assert status(designer, bot_id) == "Published"


def test_a_rollback_confirmed_on_a_stale_page_is_refused(designer):
    bot_id = designer.create_bot()
    designer.post(f"/designer/bots/{bot_id}/publish")
    confirm = designer.client.get(f"/designer/bots/{bot_id}/versions/1/rollback").text
    revision = re.search(r'name="revision" value="(\d+)"', confirm).group(1)
    designer.add_step(bot_id, "question", "welcome")  # someone edits meanwhile
    done = designer.post(f"/designer/bots/{bot_id}/versions/1/rollback", {"revision": revision},
                         follow_redirects=True)
    assert "changed in another tab or by someone else" in done.text
    assert len(designer.draft(bot_id)[0]["dialogs"][0]["steps"]) == 2


def test_rollback_of_a_version_that_does_not_exist_says_so(designer):
    bot_id = designer.create_bot()
    missing = designer.client.get(f"/designer/bots/{bot_id}/versions/7/rollback")
    assert missing.status_code == 404 and "has no version 7" in html.unescape(missing.text)


# --- item 9: the toolbar by what a person does, the Developers page -----------------------------------

def menu(page: str, title: str) -> list[str]:
    """The link names in a menu of the page, by its button's name."""
    button = re.search(r'<button[^>]*data-menu aria-expanded="false" aria-controls="([\w-]+)">' + title + r"\b",
                       page)
    assert button, f"no menu button {title}"
    listed = re.search(r'id="' + button.group(1) + r'"[^>]*>(.*?)</ul>', page, re.S).group(1)
    return re.findall(r">([^<>]+)</a>", listed)


def test_the_toolbar_groups_the_pages_by_what_a_person_does(designer):
    bot_id = designer.create_bot()
    page = designer.client.get(f"/designer/bots/{bot_id}/edit").text
    assert menu(page, "Build") == ["Translations", "Settings"]
    assert menu(page, "Results") == ["Insight", "Misses", "Tests", "Users", "Messages sent",
                                     "Analytics on the tree"]
    assert menu(page, "Connect") == ["Integrations", "Webhooks", "Platforms", "Datasets"]
    assert menu(page, "Developers") == ["API docs", "Queue"]  # the top bar's, for an admin
    for group in ("Build", "Try", "Publish and share"):
        assert f'role="group" aria-label="{group}"' in page
    assert f'href="/designer/bots/{bot_id}/developers">Developers</a>' in page
    topbar = page.split("</header>")[0]
    assert ">API</a>" not in topbar and ">Queue</a>" not in topbar.split('id="menu-developers"')[0]
    assert f'href="/designer/bots/{bot_id}/json"' not in page  # JSON is on the Developers page


def test_the_developers_page_holds_what_only_developers_need(app, client, designer):
    bot_id = designer.create_bot()
    page = designer.client.get(f"/designer/bots/{bot_id}/developers").text
    for heading in ("Management API keys", "Direct Line secret", "Secrets", "E-mail and SMS"):
        assert f">{heading}</h2>" in page
    for link in (f'href="/designer/bots/{bot_id}/json">JSON</a>', 'href="/designer/api">API docs</a>',
                 'href="/designer/queue">Queue</a>'):
        assert link in page
    settings = designer.client.get(f"/designer/bots/{bot_id}/settings").text
    assert ">Name and languages</h2>" in settings and "Management API keys" not in settings

    designer.client.post("/designer/signout", data={"csrf_token": designer.token})
    editor = Designer(app, client).sign_in("ed@example.com", "editor pass", role="editor")
    mine = editor.create_bot("Mine")
    shown = client.get(f"/designer/bots/{mine}/developers").text
    assert 'href="/designer/queue"' not in shown and 'href="/designer/api">API docs</a>' in shown  # queue: admins


# --- item 10: the gallery ------------------------------------------------------------------------------

GALLERY = {"": "Blank", "lead-capture": "Lead capture", "faq": "FAQ", "support": "Support", "booking": "Booking"}


def test_the_new_bot_dialog_is_a_gallery_of_cards_with_one_line_each(designer):
    page = designer.client.get("/designer/").text
    cards = re.findall(r'data-testid="gallery-card"><input type="radio" name="example" value="([\w-]*)"[^>]*>\s*'
                       r"<span><strong>([^<]+)</strong><small>([^<]+)</small>", page)
    assert [(key, title) for key, title, _ in cards][:5] == list(GALLERY.items())
    assert all(len(line) > 20 and "\n" not in line for _, _, line in cards)


@pytest.mark.parametrize("example", list(GALLERY))
def test_each_gallery_bot_comes_with_conversation_tests_that_pass(app, designer, example):
    bot_id = designer.create_bot("", example=example)
    created = designer.client.get(f"/designer/bots/{bot_id}/edit").text
    assert re.search(r"It comes with \d+ conversation tests?", created)  # the flash says they came along
    with app.app_context():
        names = [t.name for t in conversation_tests.list_tests(bot_id)]
        assert len(names) >= (2 if example else 1)
        results = conversation_tests.run_all(bot_id, version=bots.DRAFT)
        db.session.remove()
    assert sorted(r.name for r in results) == sorted(names)
    assert all(r.passed for r in results), [(r.name, r.message) for r in results if not r.passed]
    problems = designer.client.get(f"/designer/bots/{bot_id}/problems").text
    assert 'data-testid="problem-count">0<' in problems  # ready to publish as it is


def test_a_bot_from_an_example_that_is_not_there_starts_blank(app, designer):
    unknown = designer.create_bot("Not there", example="no-such-example")
    assert designer.draft(unknown)[0]["dialogs"][0]["title"] == "Welcome"
    with app.app_context():
        assert [t.name for t in conversation_tests.list_tests(unknown)] == ["says-hello"]
