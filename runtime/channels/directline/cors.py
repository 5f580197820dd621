"""Which web pages may call Direct Line and the webchat token URL from the browser (CORS), and how a bot
says so: its settings' `allowedOrigins`, a list of origins (`https://shop.example`) or `["*"]` for any.

The same list opens the anonymous webchat token URL (`webchat.py`), where the Origin header is the
only thing that tells a visitor's page from another site's. Direct Line URLs need a token or secret
and take no cookies, so CORS there protects nothing the bearer credential does not: a bot with no
list (a private bot, whose tokens only its sites' backends hand out) answers any origin; a bot with a
list answers its origins only.

Preflights carry no credential: the bot is found from the URL (`/b/<bot>/`, or the conversation in
`/conversations/<id>`); real requests name it by their credential (`remember_bot`), and those on a
conversation have its bot's origins already, read with the conversation (`remember_origins`), so the
headers cost no query of their own. Nothing is cached across requests: a changed list applies to the
next request, in every process. What a request remembers is kept in its WSGI environ, which no other
request shares (`g` can be: tests that hold an app context send many requests within it).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask import Response, request
from sqlalchemy import bindparam, select
from sqlalchemy.exc import OperationalError

from runtime.channels.directline.errors import storable_id
from runtime.extensions import db
from runtime.store.bots import change_setting
from runtime.store.models import Bot, Conversation

SETTING = "allowedOrigins"
ANY = "*"
DIRECTLINE_PATH = re.compile(r"^/v3/directline(/|$)")
WEBCHAT_PATH = re.compile(r"^/b/[^/]+/webchat(/|$)")
METHODS = "GET, POST, OPTIONS"
# What DirectLineJS (via RxJS ajax) asks a preflight for; answered when a preflight does not list any.
HEADERS = "authorization, content-type, x-ms-bot-agent, x-requested-with"
DEFAULT_PORTS = {"http": 80, "https": 443}
_SETTINGS = select(Bot.__table__.c.settings).where(Bot.__table__.c.id == bindparam("bot_id"))
_BOT_OF_CONVERSATION = select(Conversation.__table__.c.bot_id).where(
    Conversation.__table__.c.id == bindparam("conversation_id"))


def normalize_origin(text: str) -> str:
    """`*`, or `scheme://host[:port]` as browsers send it in Origin (lower case, default port left out).

    Raises ValueError saying what to write instead.
    """
    text = text.strip()
    if text == ANY:
        return ANY
    parts = urlsplit(text)
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname or parts.username is not None \
            or parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"'{text}' is not an origin: write scheme and host only, like https://shop.example "
                         f"(or https://shop.example:8443), or * for any site.")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"'{text}' has an invalid port.") from None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != DEFAULT_PORTS[parts.scheme] else "")


def allowed_origins(bot_id: str | None) -> list[str]:
    """The bot's allowed origins ([] for a bot with none, or no such bot)."""
    if not storable_id(bot_id):
        return []
    return origins_in(db.session.connection().scalar(_SETTINGS, {"bot_id": bot_id}))


def origins_in(settings: dict | None) -> list[str]:
    """The allowed origins in a bot's settings."""
    origins = (settings or {}).get(SETTING)
    return [origin for origin in origins if isinstance(origin, str)] if isinstance(origins, list) else []


def remember_bot(bot_id: str) -> None:
    """The request's bot, as its credential names it: its origins answer the request."""
    _remembered()["bot"] = bot_id


def remember_origins(settings: dict | None) -> None:
    """The request's bot's settings, read along with something else: the headers then need no query."""
    _remembered()["origins"] = origins_in(settings)


def _remembered() -> dict:
    return request.environ.setdefault("arbor.directline", {})


def let_page_read_refusal() -> None:
    """This response refuses the page a chat: the page may read it (it says only that), so that its widget tells
    a refusal from being offline."""
    _remembered()["refusal"] = True


def set_allowed_origins(bot_id: str, origins: list[str]) -> list[str]:
    """Replace the bot's allowed origins (normalized; `*` alone if listed); returns what was saved.

    Raises ValueError for a malformed origin, BotNotFound for an unknown bot.
    """
    saved = list(dict.fromkeys(normalize_origin(origin) for origin in origins))
    saved = [ANY] if ANY in saved else saved
    return change_setting(bot_id, SETTING, lambda _: saved)


def origin_allowed(origins: list[str], origin: str | None) -> bool:
    """Whether a page of `origin` may open a chat without a secret (the anonymous token URL)."""
    return ANY in origins or (origin is not None and origin.lower() in origins)


def page_allowed(origin: str | None) -> bool:
    """Whether a page of `origin` may use the Direct Line API of the request's bot, by the rule CORS applies to
    its REST calls: for the stream, which CORS does not cover. The bot's origins are the remembered ones."""
    return _allow_origin(_remembered().get("origins", []), origin, any_when_unlisted=True) is not None


def page_may_chat(bot_id: str, origin: str | None) -> bool:
    """Whether a page of `origin` may go on with a chat with the bot: the rule its Direct Line calls are answered
    by (any page for a bot with no list), and always for this server's own pages and for callers that are no page."""
    if not origin or origin == request.host_url.rstrip("/"):
        return True
    return _allow_origin(allowed_origins(bot_id), origin, any_when_unlisted=True) is not None


def add_headers(response: Response) -> Response:
    """CORS headers on every Direct Line and webchat response, preflights (OPTIONS) included."""
    directline = DIRECTLINE_PATH.match(request.path)
    if not (directline or WEBCHAT_PATH.match(request.path)):
        return response
    remembered = _remembered()
    try:
        origins = remembered["origins"] if "origins" in remembered else allowed_origins(_bot_of_request(remembered))
    except OperationalError:  # the database is away (the answer is its 503): no page is known to be allowed
        response.vary.add("Origin")
        return response
    allow = _allow_origin(origins, request.headers.get("Origin"), any_when_unlisted=bool(directline))
    if allow is None and remembered.get("refusal"):
        allow = request.headers.get("Origin")
    if allow is not None:
        response.headers["Access-Control-Allow-Origin"] = allow
        response.headers["Access-Control-Expose-Headers"] = "Retry-After"
    if allow != ANY:
        response.vary.add("Origin")
    if request.method == "OPTIONS":
        response.headers["Access-Control-Allow-Methods"] = METHODS
        response.headers["Access-Control-Allow-Headers"] = request.headers.get("Access-Control-Request-Headers",
                                                                               HEADERS)
        response.headers["Access-Control-Max-Age"] = "600"
    return response


def _allow_origin(origins: list[str], origin: str | None, *, any_when_unlisted: bool) -> str | None:
    """The Access-Control-Allow-Origin answer, or None to let the browser refuse the page its answer."""
    if ANY in origins or (any_when_unlisted and not origins):
        return ANY
    return origin if origin_allowed(origins, origin) else None


def _bot_of_request(remembered: dict) -> str | None:
    if "bot" in remembered:
        return remembered["bot"]
    args = request.view_args or {}
    if "bot" in args:
        return args["bot"]
    if storable_id(args.get("conversation_id")):
        return db.session.connection().scalar(_BOT_OF_CONVERSATION, {"conversation_id": args["conversation_id"]})
    return None
