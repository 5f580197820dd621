"""Which web pages may call Direct Line and the webchat token URL from the browser (CORS), and how a bot
says so: its settings' `allowedOrigins`, a list of origins (`https://shop.example`) or `["*"]` for any.

The same list opens the anonymous webchat token URL (`webchat.py`), where the Origin header is the
only thing that tells a visitor's page from another site's. Direct Line URLs need a token or secret
and take no cookies, so CORS there protects nothing the bearer credential does not: a bot with no
list (a private bot, whose tokens only its sites' backends hand out) answers any origin; a bot with a
list answers its origins only.

The server holds pages to the list too, not only the browser (`check_page`): CORS lets a page go on posting for
as long as its browser keeps a preflight (Access-Control-Max-Age), so a website the owner removes would still
be answered meanwhile. A Direct Line call from a page (an Origin header that is not this server's own) that the
bot does not allow is refused with 403 OriginNotAllowed, which the page may read, before anything is done.
Callers without Origin (a site's backend, a terminal) and this server's own pages are never refused. What an
empty list means depends on who opened the conversation: one opened by the anonymous token URL is its page's
(`tokens.Grant.origin`) and is held to the list as that URL holds pages, so an empty list refuses it; one opened
with the secret (a site's backend hands its page the token) keeps "no list: any page". When the list changes,
the bot's open streams hear the new list (`live.websites_key`) and close those of pages it no longer allows. Each
saved list has a revision (`Websites`), one more at every save, so a stream that hears two changes in the other
order than they were saved (two processes publish in the order they get to) keeps the newer list.

Preflights carry no credential: the bot is found from the URL (`/b/<bot>/`, or the conversation in
`/conversations/<id>`); real requests name it by their credential (`remember_bot`), and those on a
conversation have its bot's origins already, read with the conversation (`remember_origins`), so the
headers cost no query of their own. Nothing is cached across requests: a changed list applies to the
next request, in every process. What a request remembers is kept in its WSGI environ, which no other
request shares (`g` can be: tests that hold an app context send many requests within it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import Response, request
from sqlalchemy import bindparam, select

from runtime.channels import live
from runtime.channels.directline.errors import DirectLineError, storable_id
from runtime.extensions import db
from runtime.store import outage
from runtime.store.bots import change_settings
from runtime.store.models import Bot, Conversation

SETTING = "allowedOrigins"
REVISION = "allowedOriginsRevision"  # saved with SETTING, one more at every save (none before the first)
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


def known_bot_origins(bot_id: str) -> list[str] | None:
    """The bot's allowed origins, None when there is no such bot: one query tells both, and the origins are
    remembered for the answer's CORS headers (`add_headers`), which then need no query of their own."""
    row = db.session.connection().execute(_SETTINGS, {"bot_id": bot_id}).first() if storable_id(bot_id) else None
    if row is None:
        return None
    remember_origins(row.settings)
    return origins_in(row.settings)


def origins_in(settings: dict | None) -> list[str]:
    """The allowed origins in a bot's settings."""
    origins = (settings or {}).get(SETTING)
    return [origin for origin in origins if isinstance(origin, str)] if isinstance(origins, list) else []


@dataclass(frozen=True)
class Websites:
    """A bot's allowed origins as one save left them, and that save's revision: revisions only grow (each save
    counts on from the one before, in its transaction, the bot locked), so of two lists the one with the higher
    revision is the newer, whatever order they were heard in."""

    origins: list[str]
    revision: int

    def newer(self, other: Websites) -> Websites:
        """The newer of the two lists."""
        return other if other.revision > self.revision else self


def websites_in(settings: dict | None) -> Websites:
    """The allowed websites in a bot's settings, with their revision (0 before the first save)."""
    revision = (settings or {}).get(REVISION)
    return Websites(origins_in(settings), revision if isinstance(revision, int) else 0)


def remember_bot(bot_id: str) -> None:
    """The request's bot, as its credential names it: its origins answer the request."""
    _remembered()["bot"] = bot_id


def remember_origins(settings: dict | None) -> None:
    """The request's bot's settings, read along with something else: the headers then need no query."""
    websites = websites_in(settings)
    _remembered().update(origins=websites.origins, revision=websites.revision)


def remembered_websites() -> Websites:
    """The request's bot's allowed websites as the last read of its conversation found them (`remember_origins`):
    a stream's store read tells it the list without a query of its own."""
    remembered = _remembered()
    return Websites(remembered["origins"], remembered["revision"])


def _remembered() -> dict:
    return request.environ.setdefault("arbor.directline", {})


def let_page_read_refusal() -> None:
    """This response refuses the page a chat: the page may read it (it says only that), so that its widget tells
    a refusal from being offline."""
    _remembered()["refusal"] = True


def set_allowed_origins(bot_id: str, origins: list[str]) -> list[str]:
    """Replace the bot's allowed origins (normalized; `*` alone if listed); returns what was saved.

    The bot's open streams, in every process, hear the list saved with its revision (`live.websites_key`): those
    of pages it no longer allows close at once. Raises ValueError for a malformed origin, BotNotFound for an
    unknown bot.
    """
    wanted = list(dict.fromkeys(normalize_origin(origin) for origin in origins))
    saved = websites_in(change_settings(bot_id, lambda settings: {
        SETTING: [ANY] if ANY in wanted else wanted, REVISION: websites_in(settings).revision + 1}))
    live.hub().publish(live.websites_key(bot_id), {"origins": saved.origins, "revision": saved.revision})
    return saved.origins


def origin_allowed(origins: list[str], origin: str | None) -> bool:
    """Whether a page of `origin` may open a chat without a secret (the anonymous token URL)."""
    return ANY in origins or (origin is not None and origin.lower() in origins)


@dataclass(frozen=True)
class Page:
    """A browser page calling Direct Line: its origin, and whether its conversation is bound to a page (opened by
    the anonymous token URL), which holds it to the list as strictly as that URL: then an empty list allows none."""

    origin: str
    bound: bool

    def allowed_by(self, origins: list[str]) -> bool:
        """Whether a bot allowing `origins` goes on chatting with this page."""
        return _allow_origin(origins, self.origin, any_when_unlisted=not self.bound) is not None


def page_of_request(bound: bool) -> Page | None:
    """The page the request comes from, or None for a caller never refused: one without Origin (no page: a site's
    backend, a terminal) or this server's own pages (the designer's preview, the demo and share pages)."""
    origin = request.headers.get("Origin")
    if not origin or origin == request.host_url.rstrip("/"):
        return None
    return Page(origin, bound)


def check_page(*, bound: bool) -> None:
    """Refuse a Direct Line call from a page the request's bot does not allow (`bound`: the credential's
    conversation is a page's, `tokens.Grant.origin`), before anything is done: 403 OriginNotAllowed, which the
    page may read. Uses the bot's origins remembered with the conversation; reads them only for a call from a page
    that named the bot by its secret alone (opening a conversation), which no turn makes."""
    page = page_of_request(bound)
    if page is None:
        return
    remembered = _remembered()
    if "origins" not in remembered:
        remembered["origins"] = allowed_origins(remembered.get("bot"))
    if not page.allowed_by(remembered["origins"]):
        raise refusal()


def refusal() -> DirectLineError:
    """The refusal of a page the bot does not chat with (any more), which the page may read."""
    let_page_read_refusal()
    return DirectLineError(403, "OriginNotAllowed", "This bot does not chat with pages of this website; add the "
                                                    "website in the bot's Share panel in the designer.")


def page_may_chat(origins: list[str]) -> bool:
    """Whether the request's page may go on with a chat with the bot whose allowed `origins` these are, by the rule
    its Direct Line calls are answered by, for a chat its credential does not tell of: any page for a bot with no
    list, and always this server's own pages and callers that are no page. (A page's own conversation is refused
    by its calls themselves, readably.)"""
    page = page_of_request(bound=False)
    return page is None or page.allowed_by(origins)


def add_headers(response: Response) -> Response:
    """CORS headers on every Direct Line and webchat response, preflights (OPTIONS) included."""
    directline = DIRECTLINE_PATH.match(request.path)
    if not (directline or WEBCHAT_PATH.match(request.path)):
        return response
    remembered = _remembered()
    try:
        origins = remembered["origins"] if "origins" in remembered else allowed_origins(_bot_of_request(remembered))
    except outage.UNAVAILABLE:  # the database is away or busy (the answer is its 503): no page is known allowed
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
