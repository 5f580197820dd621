"""`POST /b/<bot>/webchat/token`: a token for an anonymous visitor of a page on one of the bot's allowed
origins (see `cors`), so a public bot works with one script tag and no backend of the site's own.

The answer is that of tokens/generate: the conversation is open and the bot has spoken; the page then
uses the token with the Direct Line API. Each call opens a conversation, so calls are rate-limited per
client address (WEBCHAT_TOKEN_RATE_LIMIT, see `runtime.ratelimit`). The visitor always gets a new user id:
an anonymous caller cannot take over another user's data. Sites whose users sign in use the secret from
their backend instead (tokens/generate with the user's id).

A bot's share page (`runtime.channels.share_link`) passes its token as `share`, which opens chats from this
server's own pages whatever origins the bot allows. A refused page is noted (`refused_origins`, for the
designer's Share panel) and may read the refusal, so the widget tells it from being offline.

`GET /b/<bot>/webchat/allowed` answers a page whose Direct Line call failed unread (CORS hides both a refusal and
a network failure) whether the bot refuses it now: the bot's owner may have taken its website off the list while
it chats. Both URLs answer 404 BotNotFound for a bot that is not there.
"""

from __future__ import annotations

from flask import Blueprint, request

from runtime import ratelimit
from runtime.channels import share_link
from runtime.channels.directline import cors, refused_origins, start
from runtime.channels.directline.errors import DirectLineError, json_body, limit_body
from runtime.store.bots import BotNotFound

bp = Blueprint("webchat", __name__, url_prefix="/b/<bot>/webchat")
bp.before_request(limit_body)


@bp.post("/token")
def token(bot: str) -> dict:
    """Open a conversation for a visitor, if the page's Origin is one the bot allows."""
    ratelimit.hit("webchat-token", "WEBCHAT_TOKEN_RATE_LIMIT",
                  "Too many new chats from this address; try again in a minute.")
    origins = _known_origins(bot)
    origin, body = request.headers.get("Origin"), json_body()
    if not cors.origin_allowed(origins, origin) and \
            not share_link.opens(bot, body.get("share"), origin, cors.normalize_origin(request.host_url)):
        refused_origins.record(bot, origin)
        cors.let_page_read_refusal()
        raise DirectLineError(403, "OriginNotAllowed", f"Bot '{bot}' does not open chats for pages of this origin; "
                                                       "add the website in the bot's Share panel in the designer.")
    return start.answer(start.open_conversation(bot, body, trusted=False))


@bp.get("/allowed")
def allowed(bot: str) -> tuple[str, int]:
    """204 while the page may go on chatting with the bot, else the refusal, which the page may read. A simple
    request (no preflight), so the answer reaches a page that CORS refuses every Direct Line answer.

    It takes no token, so it cannot tell a page's own conversation (`tokens.Grant.origin`) from one a backend
    opened with the secret, and answers by the rule of the latter: a bot with no list allows any page. That
    differs from the Direct Line calls in one case only, a page's conversation once the list is empty, and the
    widget never asks then: a bot with no list lets every page read its Direct Line answers (CORS `*`), so the
    page reads the calls' own 403 OriginNotAllowed (or its stream's close, 4003). Asking with the token would
    cost the request its simplicity (Authorization needs a preflight, which a removed page fails) where it is
    needed, and a token in the URL would be logged.
    """
    if not cors.page_may_chat(_known_origins(bot)):
        raise cors.refusal()
    return "", 204


def _known_origins(bot_id: str) -> list[str]:
    """The bot's allowed origins; a bot that is not there is a 404, before any page's origin is judged: one with no
    list of websites would read as "any page may chat", and refusing a website of a bot that does not exist would
    send its owner (none) to a Share panel that is not there either."""
    origins = cors.known_bot_origins(bot_id)
    if origins is None:
        raise DirectLineError(404, "BotNotFound", str(BotNotFound(bot_id)))
    return origins
