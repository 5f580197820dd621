"""A bot's share link opens its chat to whoever has the link, and to nothing else: the token is 256 random bits;
a wrong, replaced or turned-off token opens neither the page nor a chat; the right token opens chats only from
this server's own pages (a site that copied it gets the same refusal as without it); the page keeps the token
out of Referer headers and search engines; and only people who may edit the bot see or change it (the panel's
access is held by tests/designer/test_designer_share.py)."""

from __future__ import annotations

import base64

from sqlalchemy import func, select

from runtime.channels import share_link
from runtime.extensions import db
from runtime.store.models import Conversation

OWN = "http://localhost"  # the test client's server


def chat(client, token: str | None, origin: str | None = OWN, bot: str = "lead-capture"):
    return client.post(f"/b/{bot}/webchat/token", json={"share": token} if token is not None else {},
                       headers={"Origin": origin} if origin else {})


def conversations(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Conversation))


def test_the_token_opens_the_page_and_chats_from_this_server_only(app, client, bots):
    bots.load("lead-capture")  # no websites allowed
    with app.app_context():
        token = share_link.ensure("lead-capture")
    assert len(base64.urlsafe_b64decode(token + "=")) == 32  # 256 random bits
    page = client.get(f"/b/lead-capture/share/{token}")
    assert page.status_code == 200 and f'data-share="{token}"' in page.text
    assert '<meta name="referrer" content="no-referrer">' in page.text and 'content="noindex"' in page.text
    assert chat(client, token).status_code == 200 and conversations(app) == 1
    for origin in ("https://copied.example", "http://localhost:8080", "null", None):  # not this server's pages
        refused = chat(client, token, origin)
        assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "OriginNotAllowed", origin
    assert conversations(app) == 1


def test_a_wrong_replaced_or_turned_off_token_opens_nothing(app, client, bots):
    bots.load("lead-capture")
    bots.load("support")
    with app.app_context():
        old = share_link.ensure("lead-capture")
        other_bots = share_link.ensure("support")
        new = share_link.renew("lead-capture")
    for token in (old, other_bots, new[:-1], new + "x", "", " " + new, 42):
        assert chat(client, token).status_code == 403, token
        assert client.get(f"/b/lead-capture/share/{token}").status_code == 404, token
    assert chat(client, new).status_code == 200
    with app.app_context():
        share_link.turn_off("lead-capture")
        assert share_link.ensure("lead-capture") is None  # stays off: opening the panel makes no new one
    assert chat(client, new).status_code == 403 and client.get(f"/b/lead-capture/share/{new}").status_code == 404
    assert client.get(f"/b/nobody/share/{new}").status_code == 404
    assert conversations(app) == 1
