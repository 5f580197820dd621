"""What the management API tests share: a bot with a function key, and the calls as integrations make them."""

from __future__ import annotations

import base64
import json

import pytest

from runtime.management.keys import create_key


def make_key(app, bot: str, name: str = "analytics") -> str:
    with app.app_context():
        return create_key(bot, name)[1]


def address(bot: str, user: str, channel: str = "webchat", conversation: str | None = None, *,
            urlsafe: bool = False, padded: bool = True) -> str:
    """A user's address as an integration builds it: base64 of the Bot Framework address JSON."""
    found = {"bot": {"id": bot}, "user": {"id": user}, "channelId": channel}
    if conversation:
        found["conversation"] = {"id": conversation}
    raw = json.dumps(found).encode()
    text = (base64.urlsafe_b64encode(raw) if urlsafe else base64.b64encode(raw)).decode()
    return text if padded else text.rstrip("=")


@pytest.fixture(name="key")
def key_fixture(app, bots):
    """The function key of the published bot `store-basics`."""
    bots.load("store-basics")
    return make_key(app, "store-basics")
