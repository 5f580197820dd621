"""Bot access in the designer: an editor opens only the bots they made or were given; admins open every
bot and give or take away access on the bot's settings page (the People card)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from designer_client import Designer
from sqlalchemy import func, select

from runtime import cli
from runtime.extensions import db
from runtime.management.keys import list_keys
from runtime.store import bot_access
from runtime.store.accounts import find_user
from runtime.store.models import Bot, BotVersion, Conversation
from runtime.store.secrets import listed

SUPPORT = Path(__file__).resolve().parents[2] / "examples" / "support.json"


@pytest.fixture
def admin(app) -> Designer:
    return Designer(app, app.test_client()).sign_in("admin@example.com", "admin pass", role="admin")


@pytest.fixture
def eva(app, admin) -> Designer:
    return Designer(app, app.test_client()).sign_in("eva@example.com", "eva's pass", role="editor")


@pytest.fixture
def otto(app, admin) -> Designer:
    return Designer(app, app.test_client()).sign_in("otto@example.com", "otto's pass", role="editor")


def listed_ids(designer: Designer, query: str = "") -> set[str]:
    page = designer.client.get("/designer/", query_string={"q": query} if query else None)
    assert page.status_code == 200
    return set(re.findall(r'/designer/bots/([a-z0-9-]+)/edit', page.text))


def state(app, bot_id: str) -> dict:
    """Everything a refused request could have changed about a bot."""
    with app.app_context():
        bot = db.session.get(Bot, bot_id)
        found = None if bot is None else {
            "draft": bot.draft, "revision": bot.draft_revision, "name": bot.name, "published": bot.published_version,
            "settings": bot.settings, "secrets": listed(bot_id), "keys": len(list_keys(bot_id)),
            "versions": db.session.scalar(select(func.count()).where(BotVersion.bot_id == bot_id)),
            "conversations": db.session.scalar(select(func.count()).where(Conversation.bot_id == bot_id)),
            "bots": db.session.scalar(select(func.count()).select_from(Bot)),
        }
        db.session.remove()
    return found


def bot_pages(app) -> list[tuple[str, str]]:
    """(method, path) of every designer page of one bot, with placeholders for the bot and other parts."""
    pages = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("designer.") and "bot_id" in rule.arguments:
            path = re.sub(r"<(?:(?:big)?int:)?(\w+)>", lambda m: "BOT" if m[1] == "bot_id" else
                          ("1" if "int:" in m[0] else "x"), rule.rule)
            pages += [(method, path) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return pages


def test_an_editor_is_refused_on_every_page_of_another_editors_bot(app, admin, eva, otto):
    theirs = otto.create_bot("Otto's pizza", example="support")
    otto.add_step(theirs, "message", "welcome")
    assert otto.post(f"/designer/bots/{theirs}/developers/secrets", {"name": "crm", "value": "s3cret",
                                                                   "address": "https://crm.example.com"}).status_code \
        == 302
    before = state(app, theirs)
    pages = bot_pages(app)
    assert len(pages) > 30 and ("POST", "/designer/bots/BOT/preview") in pages  # every page, not a chosen few
    for method, path in pages:
        url = path.replace("BOT", theirs)
        data = {"name": "Mine now", "confirm": theirs, "email": "eva@example.com", "type": "message",
                "place": "welcome", "text": "taken", "document": "{}", "origins": "*", "host": "evil.example",
                "value": "x", "from": "a@evil.example"}
        for htmx in (False, True):
            headers = {"HX-Request": "true", "X-CSRFToken": eva.token, "X-Draft-Revision": str(before["revision"])} \
                if htmx else {}
            response = eva.client.open(url, method=method, headers=headers,
                                       data={"csrf_token": eva.token, **data} if method == "POST" else None)
            assert response.status_code in (403, 404), (method, url, htmx, response.status_code)
            if response.status_code == 404:
                assert f"There is no bot &#39;{theirs}&#39;" in response.text or \
                    f"There is no bot '{theirs}'" in response.text, (method, url)
            if htmx:
                assert "<html" not in response.text, (method, url)  # a short message for the page to show
    assert state(app, theirs) == before  # nothing changed, nothing published, no preview conversation, no copy
    assert theirs not in listed_ids(eva)
    assert otto.client.get(f"/designer/bots/{theirs}/edit").status_code == 200  # the maker still opens it


def test_editors_make_list_and_search_only_their_own_bots(app, admin, eva, otto):
    mine = eva.create_bot("Pizza orders")
    imported = eva.post("/designer/import", {"file": (SUPPORT.open("rb"), "support.json")},
                        content_type="multipart/form-data")
    assert imported.status_code == 302
    mine_imported = imported.location.split("/bots/")[1].split("/")[0]
    theirs = otto.create_bot("Pizza delivery")
    assert listed_ids(eva) == {mine, mine_imported}
    assert listed_ids(eva, "pizza") == {mine}
    assert listed_ids(otto, "pizza") == {theirs}
    assert listed_ids(admin, "pizza") == {mine, theirs}
    assert listed_ids(admin) == {mine, mine_imported, theirs}
    with app.app_context():
        assert db.session.get(Bot, mine).created_by == "eva@example.com"
        db.session.remove()
    assert eva.client.get(f"/designer/bots/{mine_imported}/edit").status_code == 200


def test_an_admin_gives_access_and_takes_it_away(app, admin, eva, otto):
    theirs = otto.create_bot("Otto's shop")
    settings = admin.client.get(f"/designer/bots/{theirs}/settings")
    assert 'id="people"' in settings.text and "otto@example.com" in settings.text
    assert 'id="people"' not in otto.client.get(f"/designer/bots/{theirs}/settings").text  # admins only
    assert otto.post(f"/designer/bots/{theirs}/people", {"email": "eva@example.com"}).status_code == 403

    unknown = admin.post(f"/designer/bots/{theirs}/people", {"email": "nobody@example.com"})
    assert unknown.status_code == 400 and "There is no user nobody@example.com" in unknown.text
    an_admin = admin.post(f"/designer/bots/{theirs}/people", {"email": "admin@example.com"})
    assert an_admin.status_code == 400 and "opens every bot already" in an_admin.text
    assert eva.client.get(f"/designer/bots/{theirs}/edit").status_code == 404

    given = admin.post(f"/designer/bots/{theirs}/people", {"email": " Eva@Example.com "}, follow_redirects=True)
    assert given.status_code == 200 and "eva@example.com can now open Otto" in given.text
    assert theirs in listed_ids(eva)
    assert eva.client.get(f"/designer/bots/{theirs}/edit").status_code == 200
    eva.add_step(theirs, "message", "welcome")  # an htmx edit goes through
    assert eva.client.get(f"/designer/bots/{theirs}/export").status_code == 200

    with app.app_context():
        eva_id = find_user("eva@example.com").id
        db.session.remove()
    removed = admin.post(f"/designer/bots/{theirs}/people/{eva_id}/remove", follow_redirects=True)
    assert "eva@example.com can no longer open" in removed.text
    assert theirs not in listed_ids(eva)
    before = state(app, theirs)
    assert eva.edit(f"/designer/bots/{theirs}/steps", {"type": "message", "place": "welcome"}).status_code == 404
    assert state(app, theirs) == before


def test_a_bot_from_the_cli_is_for_admins_until_an_editor_is_given_it(app, runner, admin, eva):
    if "bots" not in app.cli.commands:
        cli.register(app)
    result = runner.invoke(args=["bots", "import", str(SUPPORT)])
    assert result.exit_code == 0, result.output
    bot_id = result.output.strip().splitlines()[-1]  # after any warnings
    assert bot_id not in listed_ids(eva) and bot_id in listed_ids(admin)
    assert eva.client.get(f"/designer/bots/{bot_id}/edit").status_code == 404
    assert 'data-testid="people-none"' in admin.client.get(f"/designer/bots/{bot_id}/settings").text
    assert admin.post(f"/designer/bots/{bot_id}/people", {"email": "eva@example.com"}).status_code == 302
    assert eva.client.get(f"/designer/bots/{bot_id}/edit").status_code == 200


def test_duplicate_gives_the_copy_to_whoever_made_it(app, admin, eva, otto):
    theirs = otto.create_bot("Shared")
    assert admin.post(f"/designer/bots/{theirs}/people", {"email": "eva@example.com"}).status_code == 302
    assert eva.post(f"/designer/bots/{theirs}/duplicate").status_code == 302
    copy = next(bot for bot in listed_ids(eva) if bot != theirs)
    assert copy not in listed_ids(otto)
    with app.app_context():
        assert db.session.get(Bot, copy).created_by == "eva@example.com"
        db.session.remove()


def test_deleting_a_bot_leaves_no_access_behind(app, admin, eva):
    mine = eva.create_bot("Short lived")
    assert eva.post(f"/designer/bots/{mine}/delete", {"confirm": mine}).status_code == 302
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(bot_access.BotAccess)) == 0
        db.session.remove()
