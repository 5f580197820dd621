"""A conversation the trigger API began for a webchat user opens only for a caller holding the bot's Direct Line
secret and naming that user: an anonymous visitor who claims the user's id gets a new user and conversation."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1] / "api")]

from directline_client import Chat, secret_of, texts, user_of  # noqa: E402
from management import address, make_key  # noqa: E402

SHOP = "https://shop.example"


def test_only_the_secret_holder_opens_a_conversation_a_trigger_began(app, client, bots, runner):
    bots.load("dl-shop")
    runner.invoke(args=["bots", "origins", "dl-shop", SHOP])
    key = make_key(app, "dl-shop")
    begun = client.post(f"/b/dl-shop/api/management/trigger/{address('dl-shop', 'dl_jan')}/plans?code={key}",
                        json={"name": "Jan"})
    assert begun.status_code == 202
    anonymous = client.post("/b/dl-shop/webchat/token", json={"user": {"id": "dl_jan"}}, headers={"Origin": SHOP})
    assert anonymous.status_code == 200
    assert anonymous.json["conversationId"] != begun.json["conversationId"]
    assert user_of(anonymous.json["token"]) != "dl_jan"
    page = Chat.generate(client, secret_of(app, "dl-shop"), {"user": {"id": "dl_jan"}})
    assert page.conversation_id == begun.json["conversationId"] and texts(page.poll())
