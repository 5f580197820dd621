"""A bot's share link, `/b/<bot>/share/<token>`: the bot's demo page for anyone who has the link, as a shared
document's link works (Typebot's share pages), whatever websites the bot allows.

The token is 32 random bytes, kept in the bot's settings (`shareLink`); the page's widget hands it back when it
opens a chat (`share` in the webchat token request), and it opens chats only from this server's own pages, so a
copied token does not let another site in. Making a new link or turning it off stops the old one at once.
"""

from __future__ import annotations

import hmac
import secrets

from runtime.store.bots import change_setting, get_bot

SETTING = "shareLink"  # the token; None once turned off; absent until the first one is made


def token(bot_id: str) -> str | None:
    """The bot's share token, or None (never made, or turned off)."""
    value = (get_bot(bot_id).settings or {}).get(SETTING)
    return value if isinstance(value, str) else None


def ensure(bot_id: str) -> str | None:
    """The bot's share token, made on first use so that sharing is one click; None when it was turned off."""
    if SETTING in (get_bot(bot_id).settings or {}):
        return token(bot_id)
    return renew(bot_id)


def renew(bot_id: str) -> str:
    """A new share token for the bot; the old link stops working."""
    return _save(bot_id, secrets.token_urlsafe(32))


def turn_off(bot_id: str) -> None:
    """No share link until a new one is made."""
    _save(bot_id, None)


def matches(bot_id: str, given: object) -> bool:
    """Whether `given` is the bot's share token (compared in constant time); False for no such bot."""
    try:
        current = token(bot_id)
    except LookupError:
        return False
    return isinstance(given, str) and current is not None and hmac.compare_digest(current.encode(), given.encode())


def opens(bot_id: str, given: object, origin: str | None, own_origin: str) -> bool:
    """Whether a webchat token request from a page of `origin` may open a chat by the share token `given`: the
    bot's token, from this server's own pages (`own_origin`) only."""
    return origin is not None and origin.lower() == own_origin and matches(bot_id, given)


def _save(bot_id: str, value: str | None) -> str | None:
    return change_setting(bot_id, SETTING, lambda _: value)
