"""The Share panel: the share link (made on first visit, renewed, turned off), the snippet, and the websites
allowed, added and removed one at a time with "Add this website" filled from where the chat was last refused;
refused websites among the bot's problems. Who may open the bot may change them; agents and other editors may
not, and every form needs its CSRF token."""

from __future__ import annotations

import html
import re

import pytest
from designer_client import Designer

from runtime.channels.directline import refused_origins
from runtime.channels.directline.cors import allowed_origins

SHOP = "https://shop.example"


@pytest.fixture
def eva(app) -> Designer:
    return Designer(app, app.test_client()).sign_in("eva@example.com", "eva's pass", role="editor")


def share_link(page: str) -> str | None:
    found = re.search(r'data-testid="share-link">([^<]+)<', page)
    return html.unescape(found.group(1)) if found else None


def add_value(page: str) -> str:
    """What the "Add this website" field holds."""
    return html.unescape(re.search(r'<input name="website" value="([^"]*)"', page).group(1))


def refuse(client, origin: str, bot: str) -> None:
    """A page of `origin` asks for a chat, as the widget does (no preflight: text/plain), and is refused."""
    answer = client.post(f"/b/{bot}/webchat/token", data='{"userData": {}}', headers={"Origin": origin},
                         content_type="text/plain;charset=UTF-8")
    assert answer.status_code == 403 and answer.get_json()["error"]["code"] == "OriginNotAllowed"


def origins(app, bot: str) -> list[str]:
    with app.app_context():
        return allowed_origins(bot)


def test_the_panel_shows_the_link_the_snippet_and_that_no_website_is_allowed_yet(eva):
    bot = eva.create_bot("Lead capture", example="lead-capture")
    page = eva.client.get(f"/designer/bots/{bot}/share")
    assert page.status_code == 200
    link = share_link(page.text)
    assert re.fullmatch(rf"http://localhost/b/{bot}/share/[A-Za-z0-9_-]{{43}}", link)
    assert share_link(eva.client.get(f"/designer/bots/{bot}/share").text) == link  # made once, kept
    snippet = html.unescape(re.search(r'data-testid="snippet">([^<]+)<', page.text).group(1))
    assert snippet == f'<script src="http://localhost/static/webchat.js" data-bot="{bot}" async></script>'
    assert 'data-testid="no-websites"' in page.text and 'data-testid="share-unpublished"' in page.text


def test_websites_are_added_and_removed_one_at_a_time(app, eva):
    bot = eva.create_bot()
    added = eva.post(f"/designer/bots/{bot}/share/websites", {"website": " HTTPS://Shop.Example:443/ "})
    assert added.status_code == 302 and added.location.endswith("/share#websites")
    eva.post(f"/designer/bots/{bot}/share/websites", {"website": "http://127.0.0.1:8080"})
    eva.post(f"/designer/bots/{bot}/share/websites", {"website": SHOP})  # twice: listed once
    assert origins(app, bot) == [SHOP, "http://127.0.0.1:8080"]
    page = eva.client.get(f"/designer/bots/{bot}/share").text
    assert 'aria-label="Remove https://shop.example"' in page and 'data-testid="no-websites"' not in page
    assert eva.post(f"/designer/bots/{bot}/share/websites/remove", {"website": SHOP}).status_code == 302
    assert origins(app, bot) == ["http://127.0.0.1:8080"]
    gone = eva.post(f"/designer/bots/{bot}/share/websites/remove", {"website": SHOP})
    assert gone.status_code == 422 and "is not among the websites allowed; reload the page" in gone.text


@pytest.mark.parametrize(("typed", "says"), [
    ("shop.example", "Website: &#39;shop.example&#39; is not an origin: write scheme and host only, like "
                     "https://shop.example"),
    ("https://shop.example/contact", "Website: &#39;https://shop.example/contact&#39; is not an origin"),
    ("ftp://shop.example", "is not an origin"),
    ("https://shop.example:99999", "Website: &#39;https://shop.example:99999&#39; has an invalid port."),
    ("https://user@shop.example", "is not an origin"),
    ("", "Website: Write the website&#39;s address, like https://shop.example."),
])
def test_a_malformed_website_is_refused_saying_what_to_write(app, eva, typed, says):
    bot = eva.create_bot()
    answer = eva.post(f"/designer/bots/{bot}/share/websites", {"website": typed})
    assert answer.status_code == 422 and says in answer.text
    assert 'role="alert" id="website-error"' in answer.text and add_value(answer.text) == typed  # kept to mend
    assert origins(app, bot) == []


def test_the_link_is_renewed_and_turned_off(app, client, eva):
    bot = eva.create_bot()
    first = share_link(eva.client.get(f"/designer/bots/{bot}/share").text)
    assert eva.post(f"/designer/bots/{bot}/share/link").status_code == 302
    second = share_link(eva.client.get(f"/designer/bots/{bot}/share").text)
    assert second != first
    assert client.get(first).status_code == 404 and client.get(second).status_code == 200
    assert eva.post(f"/designer/bots/{bot}/share/link/off").status_code == 302
    page = eva.client.get(f"/designer/bots/{bot}/share").text
    assert share_link(page) is None and 'data-testid="share-link-off"' in page  # stays off until made again
    gone = client.get(second)
    assert gone.status_code == 404 and "This share link does not work any more" in gone.text
    eva.post(f"/designer/bots/{bot}/share/link")
    assert client.get(share_link(eva.client.get(f"/designer/bots/{bot}/share").text)).status_code == 200


def test_add_this_website_is_filled_from_where_the_chat_was_last_refused(app, client, eva, clock):
    bot = eva.create_bot("Lead capture", example="lead-capture")
    assert add_value(eva.client.get(f"/designer/bots/{bot}/share").text) == ""
    refuse(client, "https://old.example", bot)
    clock.move_to(clock.later(minutes=5))
    refuse(client, "http://127.0.0.1:5001", bot)
    page = eva.client.get(f"/designer/bots/{bot}/share").text
    assert add_value(page) == "http://127.0.0.1:5001"
    listed = re.findall(r'<li><span class="mono">([^<]+)</span>', page.split('data-testid="refused"')[1])
    assert listed == ["http://127.0.0.1:5001", "https://old.example"]  # the last refused first, with its time
    problems = eva.client.get(f"/designer/bots/{bot}/problems").text
    assert 'data-origin="http://127.0.0.1:5001"' in problems and 'data-origin="https://old.example"' in problems
    assert f'href="/designer/bots/{bot}/share#websites"' in problems and "No problems" not in problems
    eva.post(f"/designer/bots/{bot}/share/websites", {"website": add_value(page)})  # "Add this website"
    page = eva.client.get(f"/designer/bots/{bot}/share").text
    assert add_value(page) == "https://old.example"
    assert 'data-origin="http://127.0.0.1:5001"' not in eva.client.get(f"/designer/bots/{bot}/problems").text
    answer = client.post(f"/b/{bot}/webchat/token", data="{}", headers={"Origin": "http://127.0.0.1:5001"})
    assert answer.status_code == 404 and "not been published" in answer.text  # the origin passes; publish next


def test_only_people_who_may_edit_the_bot_change_its_sharing(app, eva):
    bot = eva.create_bot()
    link = share_link(eva.client.get(f"/designer/bots/{bot}/share").text)
    agent = Designer(app, app.test_client()).sign_in("agent@example.com", "agent pass", role="agent")
    other = Designer(app, app.test_client()).sign_in("otto@example.com", "otto's pass", role="editor")
    for person, status in ((agent, 403), (other, 404)):
        assert person.client.get(f"/designer/bots/{bot}/share").status_code == status
        for path, form in (("share/websites", {"website": SHOP}), ("share/websites/remove", {"website": SHOP}),
                           ("share/link", {}), ("share/link/off", {})):
            assert person.post(f"/designer/bots/{bot}/{path}", form).status_code == status, path
    admin = Designer(app, app.test_client()).sign_in("admin@example.com", "admin pass", role="admin")
    assert admin.post(f"/designer/bots/{bot}/share/websites", {"website": "https://admin.example"}).status_code == 302
    assert origins(app, bot) == ["https://admin.example"]
    assert share_link(eva.client.get(f"/designer/bots/{bot}/share").text) == link


def test_every_share_form_needs_its_csrf_token(app, eva):
    bot = eva.create_bot()
    link = share_link(eva.client.get(f"/designer/bots/{bot}/share").text)
    for path, form in (("share/websites", {"website": SHOP}), ("share/websites/remove", {"website": SHOP}),
                       ("share/link", {}), ("share/link/off", {})):
        forged = eva.client.post(f"/designer/bots/{bot}/{path}", data=form)
        assert forged.status_code == 400 and "refused" in forged.text, path
    assert origins(app, bot) == [] and share_link(eva.client.get(f"/designer/bots/{bot}/share").text) == link


def test_a_refused_origin_is_kept_for_an_existing_bot_only_and_well_formed(app, client, eva):
    bot = eva.create_bot()
    refuse(client, "null", bot)  # a page opened from a file
    refuse(client, "https://shop.example/<script>", bot)
    nobody = client.post("/b/nobody/webchat/token", data="{}", headers={"Origin": "https://shop.example"},
                         content_type="text/plain;charset=UTF-8")
    assert nobody.status_code == 404 and nobody.get_json()["error"]["code"] == "BotNotFound"
    with app.test_request_context():
        assert refused_origins.recent(bot) == [] and refused_origins.recent("nobody") == []
