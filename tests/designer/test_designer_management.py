"""The designer's management pages (issue 6): a bot's users with their trigger addresses, the API page,
the outbox settings (write-only password and token), and the forms of the email, sms and clear-data steps."""

from __future__ import annotations

import html
import re

import pytest
from designer_client import Designer
from management import make_key

from runtime.extensions import db
from runtime.management import settings as outbox
from runtime.management.openapi import document
from runtime.steps import STEP_TYPES
from runtime.store import bot_access
from runtime.turns.turn import start_conversation

SCRIPT_ID = "<script>alert(1)</script>"


@pytest.fixture
def designer(app, client) -> Designer:
    return Designer(app, client).sign_in()


@pytest.fixture
def loyalty(app, bots) -> str:
    """The published loyalty bot with users u-00 .. u-06 and one whose id is a script, each on the webchat."""
    bots.load("loyalty")
    with app.app_context():
        for user in [f"u-{n:02}" for n in range(7)] + [SCRIPT_ID]:
            start_conversation("loyalty", user, "webchat")
        db.session.remove()
    return "loyalty"


def addresses(page: str) -> list[str]:
    return re.findall(r'data-testid="address">([^<]+)</pre>', page)


def user_ids(page: str) -> list[str]:
    return [html.unescape(u) for u in re.findall(r'<td class="mono" rowspan="\d+">([^<]+)</td>', page)]


# --- the users page ------------------------------------------------------------------------------

def test_users_page_pages_through_every_user_a_page_at_a_time(app, designer, loyalty):
    app.config["DESIGNER_USERS_PAGE"] = 3
    seen, path = [], f"/designer/bots/{loyalty}/users"
    while path:
        page = designer.client.get(path)
        assert page.status_code == 200
        found = user_ids(page.text)
        assert 0 < len(found) <= 3 and len(addresses(page.text)) == len(found)
        seen += found
        more = re.search(r'href="([^"]+)" data-testid="next-page"|data-testid="next-page" href="([^"]+)"', page.text)
        path = html.unescape(more.group(1) or more.group(2)) if more else None
    assert seen == sorted([f"u-{n:02}" for n in range(7)] + [SCRIPT_ID])
    assert "/b/loyalty/api/management/trigger/&lt;address&gt;/&lt;dialogId&gt;" in page.text


def test_users_search_finds_by_id_as_htmx_rows(designer, loyalty):
    rows = designer.client.get(f"/designer/bots/{loyalty}/users?q=U-03", headers={"HX-Request": "true"})
    assert rows.status_code == 200 and "<html" not in rows.text
    assert user_ids(rows.text) == ["u-03"]
    none = designer.client.get(f"/designer/bots/{loyalty}/users?q=nobody%25", headers={"HX-Request": "true"})
    assert user_ids(none.text) == [] and "No user matches" in none.text


def test_the_shown_address_starts_a_dialog_through_the_trigger_api(app, client, designer, loyalty):
    page = designer.client.get(f"/designer/bots/{loyalty}/users?q=u-05").text
    (address,) = addresses(page)
    key = make_key(app, loyalty, "crm")
    response = client.post(f"/b/{loyalty}/api/management/trigger/{address}/transfer-complete?code={key}",
                           json={"transaction": {"id": "T-7", "points": 5, "partner": "Rail"}})
    assert response.status_code == 202, response.json
    after = designer.client.get(f"/designer/bots/{loyalty}/users?q=u-05").text
    assert addresses(after) == [address]


def test_a_script_in_a_user_id_is_shown_as_text(designer, loyalty):
    page = designer.client.get(f"/designer/bots/{loyalty}/users").text
    assert SCRIPT_ID not in page and html.escape(SCRIPT_ID, quote=False) in page


def test_users_of_an_unknown_bot_is_404(designer):
    assert designer.client.get("/designer/bots/nope/users").status_code == 404


# --- the API page --------------------------------------------------------------------------------

def test_api_page_renders_every_operation_with_its_schemas(app, designer):
    page = designer.client.get("/designer/api")
    assert page.status_code == 200
    text = page.text
    with app.app_context():
        paths = document()["paths"].values()
        operations = [op for path in paths for method, op in path.items() if method != "parameters"]
    assert text.count('data-testid="operation"') == len(operations)
    for op in operations:
        assert f'id="{op["operationId"]}"' in text
    assert text.count('data-testid="request-schema"') == sum(len(op["requestBody"]["content"]) for op in operations
                                                              if "requestBody" in op)  # one per media type
    assert 'href="#schema-Error"' in text and text.count('data-testid="schema"') == 2  # shared schemas once
    assert "conversationId" in text and "required" in text and "string or null" in text
    assert 'href="/designer/api"' in text  # in the designer's navigation
    scripts = re.findall(r'<script[^>]*src="([^"]+)"', text)
    assert scripts and all(src.startswith("/static/") for src in scripts)  # the designer's own, nothing else
    plain = designer.client.get("/api/docs").text  # the plain page renders the same operations
    assert plain.count('data-testid="operation"') == len(operations) and "<script" not in plain


def test_editor_toolbar_links_the_users_page(designer):
    bot_id = designer.create_bot()
    assert f'href="/designer/bots/{bot_id}/users"' in designer.client.get(f"/designer/bots/{bot_id}/edit").text


# --- outbox settings -----------------------------------------------------------------------------

def test_smtp_settings_save_and_never_show_the_password(app, designer):
    bot_id = designer.create_bot()
    form = {"host": "smtp.example.com", "port": "465", "security": "ssl", "username": "bot",
            "password": "pw-Very-Secret-1", "from": "bot@example.com"}
    saved = designer.post(f"/designer/bots/{bot_id}/developers/smtp", form)
    assert saved.status_code == 302
    page = designer.client.get(f"/designer/bots/{bot_id}/developers").text
    assert "pw-Very-Secret-1" not in page and "smtp.example.com" in page and 'value="465"' in page
    assert re.search(r'data-testid="smtp-password">set', page)
    kept = designer.post(f"/designer/bots/{bot_id}/developers/smtp", {**form, "password": "", "from": "b@example.com"})
    assert kept.status_code == 302
    with app.app_context():
        stored = outbox.settings(bot_id, "smtp")
        assert stored["password"] == "pw-Very-Secret-1" and stored["from"] == "b@example.com"  # an empty field kept it
        assert "pw-Very-Secret-1" not in str(db.session.get_bind().url) + str(outbox.shown(bot_id, "smtp"))
    # Another port is another destination: the password entered for the old one is cleared (tests/security).
    moved = designer.post(f"/designer/bots/{bot_id}/developers/smtp", {**form, "password": "", "port": "587"})
    assert moved.status_code == 302
    with app.app_context():
        assert outbox.settings(bot_id, "smtp")["password"] is None


def test_sms_settings_save_and_never_show_the_token(app, designer):
    bot_id = designer.create_bot()
    page = designer.client.get(f"/designer/bots/{bot_id}/developers").text
    assert re.search(r'data-testid="sms-token">not set', page)
    form = {"account": "AC123", "token": "tok-Very-Secret-2", "from": "+15550100", "baseUrl": "http://127.0.0.1:9/"}
    assert designer.post(f"/designer/bots/{bot_id}/developers/sms", form).status_code == 302
    page = designer.client.get(f"/designer/bots/{bot_id}/developers").text
    assert "tok-Very-Secret-2" not in page and "AC123" in page and re.search(r'data-testid="sms-token">set', page)
    with app.app_context():
        assert outbox.settings(bot_id, "sms") == {"provider": "twilio", "baseUrl": "http://127.0.0.1:9",
                                                  "account": "AC123", "from": "+15550100",
                                                  "token": "tok-Very-Secret-2"}


@pytest.mark.parametrize(("kind", "form", "message"), [
    ("smtp", {"host": "smtp.example.com", "port": "seven", "from": "bot@example.com", "password": "pw-x"},
     "The port must be a number"),
    ("smtp", {"host": "smtp.example.com", "port": "25", "security": "tls9", "from": "bot@example.com"},
     "security must be one of"),
    ("smtp", {"host": "", "port": "25", "from": "nobody"}, "needs a host"),
    ("sms", {"account": "AC1", "token": "tok-x", "from": "+1555", "baseUrl": "ftp://x"}, "http(s) base URL"),
])
def test_bad_outbox_settings_say_what_to_change_and_keep_nothing(app, designer, kind, form, message):
    bot_id = designer.create_bot()
    refused = designer.post(f"/designer/bots/{bot_id}/developers/{kind}", form)
    assert refused.status_code == 422 and message in html.unescape(refused.text)
    assert "pw-x" not in refused.text and "tok-x" not in refused.text
    with app.app_context():
        assert outbox.shown(bot_id, kind) == {}


def test_outbox_settings_need_the_csrf_token(designer):
    bot_id = designer.create_bot()
    refused = designer.client.post(f"/designer/bots/{bot_id}/developers/smtp", data={"host": "h", "from": "a@b.c"})
    assert refused.status_code == 400


# --- editors and admins --------------------------------------------------------------------------

def test_editors_use_the_management_pages_like_the_other_bot_pages(app, client, loyalty):
    editor = Designer(app, client).sign_in("ed@example.com", "editor pass", role="editor")
    with app.app_context():
        bot_access.grant(loyalty, "ed@example.com")  # a bot imported outside the designer is for admins until given
        db.session.remove()
    assert user_ids(client.get(f"/designer/bots/{loyalty}/users").text)
    assert client.get("/designer/api").status_code == 200
    form = {"account": "AC9", "token": "tok-ed", "from": "+15550100", "baseUrl": ""}
    assert editor.post(f"/designer/bots/{loyalty}/developers/sms", form).status_code == 302
    assert client.get("/designer/users").status_code == 403  # the accounts page stays for admins


def test_signed_out_visitors_are_sent_to_sign_in(app, client, loyalty):
    signed_in = Designer(app, client).sign_in()
    assert signed_in.post("/designer/signout").status_code == 302
    for path in (f"/designer/bots/{loyalty}/users", "/designer/api", f"/designer/bots/{loyalty}/settings"):
        assert client.get(path).location.startswith("/designer/signin")


# --- the step forms ------------------------------------------------------------------------------

VALUES = {"to": "{{ email }}", "subject": "New lead {{ name }}", "body": "Call {{ phone }}", "replyTo": "s@example.com",
          "text": "Your code {{ code }}", "keep": "language\nconsent", "signOut": "on"}


@pytest.mark.parametrize("kind", ["email", "sms", "clear-data"])
def test_step_forms_save_every_field_of_the_schema(designer, kind):
    bot_id = designer.create_bot()
    step_id = designer.add_step(bot_id, kind, "welcome")
    form = designer.client.get(f"/designer/bots/{bot_id}/steps/{step_id}", headers={"HX-Request": "true"}).text
    fields = set(STEP_TYPES[kind].SCHEMA["properties"]) - {"id", "type"}
    named = set(re.findall(r'name="([A-Za-z]+)"', form))
    assert fields <= named, f"the form has no field for {fields - named}"
    posted = {name: VALUES.get(name, "A note") for name in fields}
    saved = designer.edit(f"/designer/bots/{bot_id}/steps/{step_id}", {**posted, "title._present": "1"})
    assert saved.status_code == 200, saved.text
    step = next(s for s in designer.draft(bot_id)[0]["dialogs"][0]["steps"] if s["id"] == step_id)
    expected = {name: value.splitlines() if name == "keep" else value == "on" if name == "signOut" else value
                for name, value in posted.items()}
    assert {name: step.get(name) for name in fields} == expected
