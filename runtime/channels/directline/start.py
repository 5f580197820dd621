"""Opening a conversation for Direct Line: who the user is, the page's data, and the answer with its token.

A conversation is opened when its token is made (tokens/generate, the anonymous webchat token) or
when a client starts one with the secret (POST /conversations): the bot's start dialog runs then, so
the bot has spoken by the first poll. The body may carry `{"user": {"id"}, "userData": {...}, "locale"}`:
`userData` is merged into the user's data before the start dialog runs (so a greeting can use it);
`user.id` is taken only from a caller holding the secret; anonymous visitors always get a new id.
`locale` (the field Direct Line activities carry, here for the conversation to be) is the language the page
asks for; then the user's last language (a storage), then the browser's Accept-Language, each negotiated
against the bot's languages.

A conversation an anonymous visitor opens is the page's: its tokens carry the page's Origin (`tokens.Grant.origin`),
so its calls are held to the bot's allowed websites as the token URL was, even once the list is empty.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import request

from runtime.channels.directline import tokens
from runtime.channels.directline.errors import DirectLineError, bad_argument, storable_id
from runtime.channels.directline.stream import stream_url
from runtime.store import triggered
from runtime.store.bots import BotNotFound, BotNotPublished
from runtime.turns.turn import start_conversation

CHANNEL = "webchat"


def open_conversation(bot_id: str, body: dict[str, Any], *, trusted: bool) -> tokens.Grant:
    """Start a conversation with the bot's published version (the bot speaks first) for a start body.

    The user is the body's `user.id` if the caller is `trusted` (holds the secret), else a new one, and the
    conversation is bound to the page's Origin. A user for whom a trigger began a conversation they have not
    spoken in yet gets that one, with what it holds.
    """
    user_id, data = _parse(body)
    origin = None if trusted else request.headers.get("Origin")
    locale = _locale(body)
    if trusted and user_id:
        waiting = triggered.awaiting_user(bot_id, user_id, CHANNEL)
        if waiting is not None:
            triggered.merge_user_data(bot_id, user_id, data)
            return tokens.Grant(bot_id, waiting.id, user_id, origin)
    try:
        conversation, _ = start_conversation(bot_id, user_id if trusted and user_id else f"dl_{uuid.uuid4().hex}",
                                             CHANNEL, data=data, languages=[locale] if locale else None,
                                             accepted=[tag for tag, _ in request.accept_languages][:10])
    except (BotNotFound, BotNotPublished) as e:
        raise DirectLineError(404, "BotNotFound", str(e)) from None
    return tokens.Grant(bot_id, conversation.id, conversation.user_id, origin)


def _parse(body: dict[str, Any]) -> tuple[str | None, dict]:
    """The user id and the page's user data in a start body."""
    user = body.get("user")
    if user is not None and not isinstance(user, dict):
        raise bad_argument('"user" must be an object like {"id": "dl_123"}.')
    user_id = (user or {}).get("id")
    if user_id is not None and not storable_id(user_id):
        raise bad_argument('"user.id" must be a string of 1 to 255 printable characters.')
    data = body.get("userData")
    if data is not None and not isinstance(data, dict):
        raise bad_argument('"userData" must be an object: its fields are merged into the user\'s data.')
    return user_id, data or {}


def _locale(body: dict[str, Any]) -> str | None:
    """The language the page asks for (the body's `locale`), or None."""
    locale = body.get("locale")
    if locale is not None and (not isinstance(locale, str) or len(locale) > 35):
        raise bad_argument('"locale" must be a language tag such as "cs-CZ".')
    return locale or None


def answer(grant: tokens.Grant, watermark: int | None = None) -> dict:
    """The Direct Line Conversation object, with a fresh token for it and the URL of its stream (from
    `watermark`, for a reconnect that must not miss what came meanwhile)."""
    return {"conversationId": grant.conversation_id, "token": tokens.issue(grant), "expires_in": tokens.lifetime(),
            "streamUrl": stream_url(grant, watermark)}
