"""A website the bot's owner takes off its allowed ones is refused by the server at once, not only by the browser:
CORS lets a page go on posting for as long as its browser keeps a preflight (10 minutes), so the server itself
refuses a Direct Line call from a page the bot does not allow (403 OriginNotAllowed, which the page may read)
before it applies anything. A conversation the anonymous webchat token URL opened is its page's: removing the
last website refuses it too (an empty list opens no page there). A conversation opened with the secret by a
site's backend keeps "no list: any page"; callers without Origin and the server's own pages are never refused.

Real parts: the designer's Share panel over the Flask test client, the store, the Direct Line API."""

from __future__ import annotations

import pytest
from directline_client import DL, Chat, bearer, secret_of, texts, user_of
from sqlalchemy import func, select

from runtime.channels.directline.cors import set_allowed_origins
from runtime.extensions import db
from runtime.store.models import Conversation
from tests.designer_client import Designer

SHOP, OTHER, OWN = "https://shop.example", "https://other.example", "http://localhost"  # OWN: the test client's


@pytest.fixture
def owner(app, bots) -> Designer:
    bots.load("dl-shop")
    return Designer(app, app.test_client()).sign_in()


def allow(app, *origins: str) -> None:
    with app.app_context():
        set_allowed_origins("dl-shop", list(origins))


def remove(owner: Designer, website: str) -> None:
    """The owner removes the website in the bot's Share panel."""
    assert owner.post("/designer/bots/dl-shop/share/websites/remove", {"website": website}).status_code == 302


def visitor(client, origin: str = SHOP) -> Chat:
    """A visitor of a page of `origin`, chatting by the anonymous webchat token, as the widget does."""
    answer = client.post("/b/dl-shop/webchat/token", headers={"Origin": origin}, json={})
    assert answer.status_code == 200, answer.get_json()
    token = answer.get_json()["token"]
    return Chat(client, token, answer.get_json()["conversationId"], user_of(token))


def says(chat: Chat, text: str, origin: str | None):
    return chat.client.post(chat.url, headers={**bearer(chat.token), **({"Origin": origin} if origin else {})},
                            json={"type": "message", "text": text, "from": {"id": chat.user_id}})


def transcript(chat: Chat) -> list[dict]:
    """The whole transcript, as a caller without Origin (never refused) reads it."""
    response = chat.get("")
    assert response.status_code == 200, response.get_json()
    return response.get_json()["activities"]


def assert_refused(response, origin: str) -> None:
    assert response.status_code == 403, response.get_json()
    assert response.get_json()["error"]["code"] == "OriginNotAllowed"
    assert response.headers["Access-Control-Allow-Origin"] in (origin, "*")  # the page may read why


def test_a_message_right_after_the_website_is_removed_is_refused_and_not_applied(app, client, owner):
    allow(app, SHOP, OTHER)
    chat = visitor(client)
    assert says(chat, "echo", SHOP).status_code == 200
    assert texts(transcript(chat))[-1] == "Say something."
    remove(owner, SHOP)
    before = transcript(chat)
    # The browser still holds the preflight it was allowed: the message reaches the server, which refuses it.
    assert_refused(says(chat, "hello", SHOP), SHOP)
    assert transcript(chat) == before  # not applied: no message kept, no reply
    conversation = f"{DL}/conversations/{chat.conversation_id}"
    for response in (client.get(f"{chat.url}?watermark=", headers={**bearer(chat.token), "Origin": SHOP}),
                     client.post(f"{DL}/tokens/refresh", headers={**bearer(chat.token), "Origin": SHOP}),
                     client.get(conversation, headers={**bearer(chat.token), "Origin": SHOP})):
        assert_refused(response, SHOP)
    # The websites still allowed, and the server's own pages, go on.
    assert visitor(client, OTHER).poll()
    assert says(chat, "hello", OWN).status_code == 200
    assert texts(transcript(chat))[len(texts(before)):][0] == "You said: hello"


def test_removing_the_last_website_refuses_the_pages_conversation(app, client, owner):
    allow(app, SHOP)
    chat = visitor(client)
    # Tokens refreshed or renewed from the page's token stay the page's.
    refreshed = client.post(f"{DL}/tokens/refresh", headers={**bearer(chat.token), "Origin": SHOP})
    renewed = client.get(f"{DL}/conversations/{chat.conversation_id}", headers={**bearer(chat.token), "Origin": SHOP})
    assert refreshed.status_code == renewed.status_code == 200
    remove(owner, SHOP)
    with app.app_context():
        assert set_allowed_origins("dl-shop", []) == []  # the list is empty now
    before = transcript(chat)
    for token in (chat.token, refreshed.get_json()["token"], renewed.get_json()["token"]):
        chat.token = token
        for origin in (SHOP, OTHER):
            assert_refused(says(chat, "echo", origin), origin)
    assert transcript(chat) == before
    # No page opens a new chat either, as before.
    assert client.post("/b/dl-shop/webchat/token", headers={"Origin": SHOP}, json={}).status_code == 403
    # A caller that is no page, and the server's own pages, are never refused.
    assert chat.get("").status_code == 200
    assert client.get(f"{chat.url}?watermark=", headers={**bearer(chat.token), "Origin": OWN}).status_code == 200


def test_a_conversation_opened_with_the_secret_answers_any_page_while_the_bot_has_no_list(app, client, bots):
    bots.load("dl-shop")
    secret = secret_of(app, "dl-shop")
    chat = Chat.generate(client, secret)  # a site's backend made the token and gave it to its page
    assert says(chat, "echo", "https://anywhere.example").status_code == 200
    assert texts(transcript(chat))[-1] == "Say something."
    # Once the bot has a list, the server holds such pages to it too.
    allow(app, SHOP)
    before = transcript(chat)
    assert_refused(says(chat, "hello", "https://anywhere.example"), "https://anywhere.example")
    assert transcript(chat) == before
    with app.app_context():
        opened = db.session.scalar(select(func.count()).select_from(Conversation))
    generated = client.post(f"{DL}/tokens/generate", headers={**bearer(secret), "Origin": "https://anywhere.example"})
    assert_refused(generated, "https://anywhere.example")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Conversation)) == opened  # none opened
    assert says(chat, "hello", SHOP).status_code == 200
    assert client.post(f"{DL}/tokens/generate", headers=bearer(secret)).status_code == 200  # a backend: no Origin


def test_a_pages_conversation_refused_by_an_empty_list_reads_why_from_its_own_calls(app, client, owner):
    """`/webchat/allowed` takes no token, so it answers 204 to a page whose conversation an empty list refuses: the
    widget never needs it then, as CORS hides none of that page's answers (a bot with no list lets any page read
    Direct Line's), the preflight and the refusal included."""
    allow(app, SHOP)
    chat = visitor(client)
    remove(owner, SHOP)
    preflight = client.options(chat.url, headers={"Origin": SHOP, "Access-Control-Request-Method": "POST",
                                                  "Access-Control-Request-Headers": "authorization, content-type"})
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert_refused(says(chat, "echo", SHOP), SHOP)
    assert client.get("/b/dl-shop/webchat/allowed", headers={"Origin": SHOP}).status_code == 204
