"""The designer's Platforms page through the Flask test client: create a connection (the token shown once),
its inbound address working with that token, edit without re-typing the credentials, a new token, the
recent replies with their state, re-verify, delete; bad input answered on the form."""

from __future__ import annotations

import re

import pytest
from designer_client import Designer
from sqlalchemy import func, select

from runtime.channels.platforms import connections
from runtime.channels.platforms.models import PlatformConnection, PlatformThread
from runtime.extensions import db
from runtime.store.bots import import_bot

BOT = {"format": 1, "id": "plat", "name": "<b>Plat</b>", "start": "hi", "dialogs": [
    {"id": "hi", "title": "Hi", "steps": [{"id": "q", "type": "question", "text": "Your name?", "storage": "name"},
                                          {"id": "m", "type": "message", "text": "Hi {{ name }}!"}]}]}
PAGE = "/designer/bots/plat/platforms"
SECRET = "replies-bearer-secret-77"
WHO = {"service": "acme", "channel": "SMS", "assetId": "+4420", "userId": "+4477"}


@pytest.fixture
def app_config():
    return {"OUTBOUND_ALLOW_HOSTS": "127.0.0.1"}


@pytest.fixture
def admin(app, client) -> Designer:
    with app.app_context():
        import_bot(BOT, publish=True)
        db.session.remove()
    return Designer(app, client).sign_in()


def create(admin: Designer, url: str, **fields):
    admin.csrf(PAGE)
    return admin.post(PAGE, {"name": "Acme SMS", "slug": "sms", "url": url, "rule": "bot-first",
                             "auth": "bearer", "token": SECRET, **fields})


def test_a_connection_is_made_its_token_shown_once_and_its_secrets_never(app, admin, jobs, receiver):
    assert 'href="/designer/bots/plat/platforms"' in admin.client.get("/designer/bots/plat/edit").text
    made = create(admin, receiver.url)
    assert made.status_code == 201 and "&lt;b&gt;Plat" in made.text
    inbound, token = re.findall(r'data-testid="shown-once">([^<]+)</pre>', made.text)
    assert inbound == "http://localhost/b/plat/hooks/sms"
    said = admin.client.post("/b/plat/hooks/sms", json={"type": "message", "id": "s1", **WHO, "text": "Eva"},
                             headers={"X-Verification-Token": token})
    assert said.status_code == 200
    jobs.drain()
    assert [body["text"] for _, _, body in receiver.requests] == ["Your name?", "Hi Eva!"]
    assert receiver.requests[0][0]["Authorization"] == f"Bearer {SECRET}"
    read = {"type": "status", "messageId": receiver.requests[1][2]["messageId"], "status": "Read"}
    assert admin.client.post("/b/plat/hooks/sms", json=read, headers={"X-Verification-Token": token}).json == {
        "applied": True}
    shown = admin.client.get(f"/designer/bots/plat/insight?conversation={said.json['conversationId']}").text
    assert re.findall(r'data-testid="delivery-status">(\w+)<', shown) == ["sent", "read"]  # the bot's two messages
    page = admin.client.get(PAGE).text
    assert token not in page and SECRET not in page
    assert page.count('data-testid="delivery" data-status="delivered"') == 2
    assert re.findall(r'data-testid="connection" data-status="(\w+)"', page) == ["active"]
    # Saved without touching the credentials: the replies still carry them.
    admin.post(f"{PAGE}/sms/edit", {"name": "Acme SMS 2", "url": receiver.url, "rule": "agent", "auth": "keep"})
    with app.app_context():
        shown = connections.get("plat", "sms")
    assert (shown["name"], shown["rule"], shown["credentials"]) == ("Acme SMS 2", "agent", "bearer")
    fresh = admin.post(f"{PAGE}/sms/token")
    new_token = re.search(r'data-testid="shown-once">([^<]+)</pre>', fresh.text).group(1)
    assert new_token != token and new_token not in admin.client.get(PAGE).text
    assert admin.post(f"{PAGE}/sms/reverify").status_code == 302
    assert admin.post(f"{PAGE}/sms/delete").status_code == 302
    assert 'data-testid="connection"' not in admin.client.get(PAGE).text
    with app.app_context():  # the connection went with its outbound side, and its users' addresses with it
        assert db.session.scalar(select(func.count()).select_from(PlatformConnection)) == 0
        assert db.session.scalar(select(func.count()).select_from(PlatformThread)) == 0


@pytest.mark.parametrize("fields, says", [
    ({"slug": "Not OK!"}, "short name has 1 to 64 lowercase"),
    ({"url": "ftp://x"}, "only http:// and https:// addresses"),
    ({"rule": "nobody"}, "The rule is one of bot, agent, bot-first"),
    ({"auth": "basic", "username": "", "password": "x"}, "Give the user name"),
])
def test_bad_input_is_answered_on_the_form_and_the_secret_typed_is_not_echoed(admin, receiver, fields, says):
    answer = create(admin, fields.pop("url", receiver.url), **fields)
    assert answer.status_code == 422 and says in answer.text and SECRET not in answer.text
    assert 'data-testid="platform-error"' in answer.text
