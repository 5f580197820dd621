"""The Platforms page offers each platform by name with its own fields: Webex Connect (webhook URL, access and
verification tokens, its rule names; waiting for Webex's Verify) and Twilio (account SID, auth token never
shown again, number, public URL; a Test against a local stand-in of Twilio's API), through the test client."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from designer_client import Designer

from runtime.channels.platforms import connections
from runtime.extensions import db
from runtime.store.bots import import_bot

sys.path[:0] = [str(Path(__file__).resolve().parents[1] / "channels")]

from twilio_standin import ACCOUNT, AUTH_TOKEN, NUMBER, Twilio  # noqa: E402

BOT = {"format": 1, "id": "plat", "name": "Plat", "start": "hi", "dialogs": [
    {"id": "hi", "title": "Hi", "steps": [{"id": "m", "type": "message", "text": "Hi!"}]}]}
PAGE = "/designer/bots/plat/platforms"


@pytest.fixture
def app_config(httpserver):
    return {"OUTBOUND_ALLOW_HOSTS": "127.0.0.1", "TWILIO_API_URL": httpserver.url_for("").rstrip("/")}


@pytest.fixture
def admin(app, client) -> Designer:
    with app.app_context():
        import_bot(BOT, publish=True)
        db.session.remove()
    made = Designer(app, client).sign_in()
    made.csrf(PAGE)
    return made


def shown_once(page: str) -> list[str]:
    return re.findall(r'data-testid="shown-once">([^<]+)</pre>', page)


def test_each_platform_is_offered_by_name_with_its_own_fields(admin):
    page = admin.client.get(PAGE).text
    for form, fields in (("new-webex", ["url", "access_token", "verification_token", "rule"]),
                         ("new-twilio", ["account_sid", "auth_token", "phone_number", "public_url", "rule"]),
                         ("new-connection", ["url", "auth", "token", "rule"])):
        found = page.split(f'data-testid="{form}"')[1].split("</form>")[0]
        assert all(f'name="{field}"' in found for field in fields), form
    assert "Forward the message to be handled by BOT + CCSP" in page


def test_a_webex_connection_waits_for_webex_verify_and_its_tokens_show_once(admin, httpserver):
    made = admin.post(PAGE, {"kind": "webex-connect", "name": "Webex", "slug": "webex", "rule": "agent",
                             "url": httpserver.url_for("/webex/bot-webhook"), "verification_token": "my-verify-1"})
    assert made.status_code == 201, made.text
    inbound, access, verification = shown_once(made.text)
    assert inbound == "http://localhost/b/plat/hooks/webex" and verification == "my-verify-1"
    page = admin.client.get(PAGE).text
    assert access not in page and "my-verify-1" not in page
    assert 'data-testid="verify-hint"' in page and 'data-status="unverified"' in page
    assert "Forward the message to CCSP integration" in page
    refused = admin.post(f"{PAGE}/webex/reverify")
    assert refused.status_code == 422 and "press Verify on its side" in refused.text
    verify = admin.client.post("/b/plat/hooks/webex", json={}, headers={"Authorization": f"Bearer {access}"})
    assert verify.json["verificationToken"] == "my-verify-1"
    assert 'data-status="active"' in admin.client.get(PAGE).text


def test_a_twilio_connection_its_auth_token_never_shown_and_its_test_button(app, admin, httpserver):
    Twilio(httpserver)
    made = admin.post(PAGE, {"kind": "twilio", "name": "Twilio SMS", "slug": "sms", "rule": "bot-first",
                             "account_sid": ACCOUNT, "auth_token": AUTH_TOKEN, "phone_number": NUMBER,
                             "public_url": "https://arbor.example.com/b/plat/hooks/sms"})
    assert made.status_code == 201 and shown_once(made.text) == ["http://localhost/b/plat/hooks/sms"]
    assert AUTH_TOKEN not in made.text
    tested = admin.post(f"{PAGE}/sms/test", follow_redirects=True)
    assert "Twilio accepted the account SID and auth token" in tested.text and AUTH_TOKEN not in tested.text
    cleared = admin.post(f"{PAGE}/sms/edit", {"name": "Twilio SMS", "account_sid": ACCOUNT, "phone_number": NUMBER,
                                              "public_url": "", "auth_token": "", "rule": "bot"})
    assert cleared.status_code == 422 and "Give the public URL" in cleared.text  # no ARBOR_BASE_URL to fall back on
    admin.post(f"{PAGE}/sms/edit", {"name": "Twilio SMS", "account_sid": ACCOUNT, "phone_number": NUMBER,
                                    "public_url": "https://bots.example.org/sms", "auth_token": "", "rule": "bot"})
    with app.app_context():
        shown = connections.get("plat", "sms")
    assert shown["rule"] == "bot" and shown["settings"]["publicUrl"] == "https://bots.example.org/sms"
    assert "Twilio accepted" in admin.post(f"{PAGE}/sms/test", follow_redirects=True).text  # the token kept
    admin.post(f"{PAGE}/sms/edit", {"name": "Twilio SMS", "account_sid": ACCOUNT, "phone_number": NUMBER,
                                    "public_url": "https://bots.example.org/sms", "auth_token": "a-wrong-token",
                                    "rule": "bot"})
    refused = admin.post(f"{PAGE}/sms/test")
    assert refused.status_code == 422 and "refused the account SID and auth token" in refused.text
    assert "a-wrong-token" not in refused.text


def test_bad_twilio_fields_are_answered_on_the_form_without_the_token(admin):
    answer = admin.post(PAGE, {"kind": "twilio", "name": "Twilio", "slug": "sms", "rule": "bot-first",
                               "account_sid": "AC12", "auth_token": AUTH_TOKEN, "phone_number": NUMBER})
    assert answer.status_code == 422 and "account SID is AC followed by 32" in answer.text
    assert AUTH_TOKEN not in answer.text and 'value="AC12"' in answer.text
