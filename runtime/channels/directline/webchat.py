"""`POST /b/<bot>/webchat/token`: a token for an anonymous visitor of a page on one of the bot's allowed
origins (see `cors`), so a public bot works with one script tag and no backend of the site's own.

The answer is that of tokens/generate: the conversation is open and the bot has spoken; the page then
uses the token with the Direct Line API. Each call opens a conversation, so calls are rate-limited per
client address (WEBCHAT_TOKEN_RATE_LIMIT, see `runtime.ratelimit`). The visitor always gets a new user id:
an anonymous caller cannot take over another user's data. Sites whose users sign in use the secret from
their backend instead (tokens/generate with the user's id).
"""

from __future__ import annotations

from flask import Blueprint, request

from runtime import ratelimit
from runtime.channels.directline import cors, start
from runtime.channels.directline.errors import DirectLineError, json_body, limit_body

bp = Blueprint("webchat", __name__, url_prefix="/b/<bot>/webchat")
bp.before_request(limit_body)


@bp.post("/token")
def token(bot: str) -> dict:
    """Open a conversation for a visitor, if the page's Origin is one the bot allows."""
    ratelimit.hit("webchat-token", "WEBCHAT_TOKEN_RATE_LIMIT",
                  "Too many new chats from this address; try again in a minute.")
    if not cors.origin_allowed(cors.allowed_origins(bot), request.headers.get("Origin")):
        raise DirectLineError(403, "OriginNotAllowed", f"Bot '{bot}' does not open chats for pages of this origin; "
                                                       f"add it with: flask --app app bots origins {bot} ORIGIN...")
    return start.answer(start.open_conversation(bot, json_body(), trusted=False))
