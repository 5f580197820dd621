"""A page of an origin the bot does not allow gets no chat, only the refusal (which it may read, so the widget
says "This website is not allowed to open this chat" rather than "You are offline"); its origin is noted for
the designer, and a flood of refusals grows nothing: at most 5 origins per existing bot, only well-formed ones,
nothing for bots that do not exist, and none with markup in it. A Direct Line stream refused by origin is noted
too (WebSockets have no CORS of their own)."""

from __future__ import annotations

import pytest
from simple_websocket import Client
from simple_websocket import ConnectionError as Refused
from sqlalchemy import func, select

from runtime.channels.directline import refused_origins
from runtime.channels.directline.cors import set_allowed_origins
from runtime.extensions import db
from runtime.jobs import connection
from runtime.store.models import Conversation
from tests.stream_client import start


def ask(client, origin: str, bot: str = "lead-capture"):
    return client.post(f"/b/{bot}/webchat/token", data="{}", headers={"Origin": origin},
                       content_type="text/plain;charset=UTF-8")


def test_a_refused_page_gets_the_refusal_and_nothing_else(app, client, bots):
    bots.load("lead-capture")
    refused = ask(client, "https://stranger.example")
    assert refused.status_code == 403
    assert set(refused.get_json()) == {"error"} and refused.get_json()["error"]["code"] == "OriginNotAllowed"
    assert refused.headers["Access-Control-Allow-Origin"] == "https://stranger.example"
    assert "Access-Control-Allow-Credentials" not in refused.headers
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Conversation)) == 0


def test_a_flood_of_refusals_keeps_the_last_five_origins_of_existing_bots(app, client, bots, clock):
    bots.load("lead-capture")
    app.config["WEBCHAT_TOKEN_RATE_LIMIT"] = "10000 per minute"
    for n in range(200):
        ask(client, f"https://site{n}.example")
        clock.move_to(clock.later(seconds=1))
    for n in range(50):
        ask(client, f"https://site{n}.example", bot=f"nobody{n}")
    ask(client, "https://x.example/<img src=x onerror=alert(1)>")
    ask(client, "javascript:alert(1)")
    ask(client, "https://<b>x</b>.example")
    ask(client, "*")
    with app.test_request_context():
        kept = refused_origins.recent("lead-capture")
        assert [r.origin for r in kept] == [f"https://site{n}.example" for n in (199, 198, 197, 196, 195)]
        assert kept[0].at > kept[1].at
        prefix = app.config["ARBOR_REDIS_PREFIX"]
        assert connection().keys(f"{prefix}arbor:refused-origins:*") == [
            f"{prefix}arbor:refused-origins:lead-capture".encode()]
        assert connection().zcard(f"{prefix}arbor:refused-origins:lead-capture") == refused_origins.KEEP
        assert 0 < connection().ttl(f"{prefix}arbor:refused-origins:lead-capture") <= refused_origins.FOR_DAYS * 86400


def test_a_stream_refused_by_origin_is_noted_too(app, dl_server, dl_secret):
    with app.app_context():
        set_allowed_origins("dl-shop", ["https://shop.example"])
    conversation = start(dl_server, dl_secret)
    with pytest.raises(Refused) as refused:
        Client.connect(conversation["streamUrl"], headers={"Origin": "https://other.example"})
    assert refused.value.status_code == 403
    with app.test_request_context():
        assert [r.origin for r in refused_origins.recent("dl-shop")] == ["https://other.example"]


def test_a_page_whose_website_was_removed_may_read_that_it_is_refused_and_nothing_else(app, client, bots):
    """`/webchat/allowed` answers a page whose Direct Line calls fail unread: by the rule those calls are answered
    by, opening nothing and telling nothing but the refusal."""
    bots.load("lead-capture")

    def ask_allowed(origin: str | None):
        return client.get("/b/lead-capture/webchat/allowed", headers={"Origin": origin} if origin else {})

    assert ask_allowed("https://shop.example").status_code == 204  # no list: any page may chat over Direct Line
    with app.app_context():
        set_allowed_origins("lead-capture", ["https://shop.example"])
    allowed = ask_allowed("https://shop.example")
    assert (allowed.status_code, allowed.data) == (204, b"")
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    with app.app_context():
        set_allowed_origins("lead-capture", ["https://other.example"])
    refused = ask_allowed("https://shop.example")
    assert refused.status_code == 403
    assert set(refused.get_json()) == {"error"} and refused.get_json()["error"]["code"] == "OriginNotAllowed"
    assert refused.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    assert "Access-Control-Allow-Credentials" not in refused.headers
    assert "other.example" not in refused.get_data(as_text=True)
    # The server's own pages (the share page) and callers that are no page are not refused.
    assert ask_allowed("http://localhost").status_code == 204
    assert ask_allowed(None).status_code == 204
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Conversation)) == 0
        assert refused_origins.recent("lead-capture") == []
