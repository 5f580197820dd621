"""The Platforms page offers the Microsoft Bot Framework by name with its own fields (app id, app password never
shown again, tenant, and the issuer, OpenID metadata URL and token endpoint under "Advanced"), and its Test
button asks the token endpoint of a local stand-in (tests/channels/botframework_standin.py); through the test
client."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from designer_client import Designer

from runtime.channels.platforms.adapters import botframework_auth
from runtime.extensions import db
from runtime.store.bots import import_bot

sys.path[:0] = [str(Path(__file__).resolve().parents[1] / "channels")]

from botframework_standin import APP_ID, APP_PASSWORD, BotFramework  # noqa: E402

BOT = {"format": 1, "id": "plat", "name": "Plat", "start": "hi", "dialogs": [
    {"id": "hi", "title": "Hi", "steps": [{"id": "m", "type": "message", "text": "Hi!"}]}]}
PAGE = "/designer/bots/plat/platforms"


@pytest.fixture
def app_config():
    return {"OUTBOUND_ALLOW_HOSTS": "127.0.0.1 ::1", "ARBOR_BASE_URL": "https://arbor.example.com"}


@pytest.fixture
def admin(app, client) -> Designer:
    botframework_auth.forget()
    with app.app_context():
        import_bot(BOT, publish=True)
        db.session.remove()
    made = Designer(app, client).sign_in()
    made.csrf(PAGE)
    return made


def form_of(page: str, testid: str) -> str:
    return page.split(f'data-testid="{testid}"')[1].split("</form>")[0]


def test_the_bot_framework_is_offered_by_name_with_its_fields_and_an_advanced_fold(admin):
    page = admin.client.get(PAGE).text
    found = form_of(page, "new-botframework")
    assert all(f'name="{field}"' in found for field in ("app_id", "app_password", "tenant", "issuer",
                                                         "openid_metadata_url", "token_endpoint", "rule"))
    advanced = found.split('data-testid="botframework-advanced"')[1]
    assert "<summary>Advanced" in advanced and 'name="token_endpoint"' in advanced and 'name="app_id"' not in advanced
    assert "Microsoft Bot Framework" in page


def test_a_connection_made_on_the_page_its_password_never_shown_and_its_test_button(app, admin, httpserver):
    bf = BotFramework(httpserver)
    made = admin.post(PAGE, {"kind": "botframework", "name": "Teams", "slug": "teams", "rule": "bot-first",
                             "app_id": APP_ID, "app_password": APP_PASSWORD, "tenant": "",
                             "issuer": "https://api.botframework.com", "openid_metadata_url": bf.metadata_url,
                             "token_endpoint": bf.token_endpoint})
    assert made.status_code == 201, made.text
    assert "https://arbor.example.com/b/plat/botframework/messages" in made.text and "Messaging endpoint" in made.text
    assert APP_PASSWORD not in made.text
    page = admin.client.get(PAGE).text
    assert APP_PASSWORD not in page and f'data-testid="app-id">{APP_ID}<' in page
    assert 'data-kind="botframework"' in page and "Regenerate token" not in page
    tested = admin.post(f"{PAGE}/teams/test", follow_redirects=True)
    assert "The token endpoint accepted the app id and password" in tested.text
    assert "https://arbor.example.com/b/plat/botframework/messages" in tested.text
    assert [request["client_secret"] for request in bf.token_requests] == [APP_PASSWORD]
    # Edited with the password left blank, it is kept; a wrong one fails the Test, saying why.
    kept = admin.post(f"{PAGE}/teams/edit", {"name": "Teams", "rule": "bot", "app_id": APP_ID, "app_password": "",
                                              "token_endpoint": bf.token_endpoint,
                                              "openid_metadata_url": bf.metadata_url}, follow_redirects=True)
    assert kept.status_code == 200 and "Saved." in kept.text
    admin.post(f"{PAGE}/teams/edit", {"name": "Teams", "rule": "bot", "app_id": APP_ID, "app_password": "wrong-1",
                                      "token_endpoint": bf.token_endpoint, "openid_metadata_url": bf.metadata_url})
    refused = admin.post(f"{PAGE}/teams/test")
    assert refused.status_code == 422 and "refused the app id and password" in refused.text


def test_bad_fields_are_refused_on_the_page_saying_what_to_change(admin):
    made = admin.post(PAGE, {"kind": "botframework", "name": "Teams", "slug": "teams", "rule": "bot-first",
                             "app_id": "not an id", "app_password": APP_PASSWORD})
    assert made.status_code == 422 and "The app id is the bot&#39;s Microsoft App ID" in made.text
    assert APP_PASSWORD not in made.text
