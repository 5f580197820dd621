"""The Direct Line stream: `GET /v3/directline/conversations/{id}/stream?t=...&watermark=...` upgraded to a
WebSocket that pushes activity sets, as Microsoft's service does for Web Chat and DirectLineJS.

- The `streamUrl` of a Conversation object is pre-authorized: its `t` is a stream token (60 s to use it) for
  that conversation; the upgrade carries no Authorization header. A page of an origin the bot does not allow
  is refused, as CORS refuses it the REST API (WebSockets have no CORS of their own).
- Each message is an ActivitySet `{"activities": [...], "watermark": "n"}`, the GET's shape and filter (the
  user's own activities echoed, Arbor's own inputs left out), or an empty message that keeps the connection
  alive (every DIRECTLINE_STREAM_KEEPALIVE seconds). What the client sends is ignored: DirectLineJS sends only
  empty keep-alives, and activities are POSTed; a message over MAX_CLIENT_MESSAGE closes the stream (1009).
- With `watermark`, everything after it comes first; then each committed turn wakes the stream through
  `runtime.channels.live`, in whatever process it ran. Its note carries the turn's activities, so a stream that
  sent everything before them sends them without reading the store (`pushed`); after a gap (a note lost while
  Redis was away, one too big to carry them, turns of one conversation committed out of order) the stream
  reads what is new from the store.
- One stream per conversation: a newer one (a reload, a reconnect through another server) closes the older
  with the reason "collision" (4001).
- A stream lives as long as the token it came with (DIRECTLINE_TOKEN_TTL), then closes ("expired", 4002): the
  client reconnects with its refreshed token (DirectLineJS does, after 3-15 s), so no credential listens on
  after it expired.
- A stream of a page the bot no longer allows closes ("OriginNotAllowed", 4003) as soon as the bot's allowed
  websites change (the note on `live.websites_key`, which carries the list: no query, however many streams the
  bot has), by the rule its REST calls are refused by (`cors.check_page`); the widget then says the website is
  not allowed. A store read finds the list too, with the conversation (`read_set`): the first one, made once
  the stream watches the notes, closes a stream whose website was removed between the upgrade's check and then.
  Lists carry their revision, and a stream acts on the newest it has seen (`PageWatch`): a change heard after a
  later one (two saves moments apart, published from two processes) changes nothing.
"""

from __future__ import annotations

import json
import uuid
from urllib.parse import urlsplit

from flask import Response, current_app, request, url_for
from flask_sock import Sock
from simple_websocket import ConnectionClosed, Server
from werkzeug.routing import WebsocketMismatch

from runtime.channels import live
from runtime.channels.directline import auth, cors, refused_origins, tokens
from runtime.channels.directline.errors import DirectLineError, as_json, bad_argument, watermark_arg
from runtime.store.activities import ARBOR, seq_of

sock = Sock()
MAX_CLIENT_MESSAGE = 4096  # bytes: a client sends only empty keep-alives; a bigger message closes its stream (1009)
COLLISION = 4001  # the close code for a stream that a newer stream of its conversation replaced
EXPIRED = 4002  # the close code for a stream that outlived the token it was opened with
REFUSED = 4003  # the close code for a stream of a page the bot no longer allows
LAST = 999_999_999  # a watermark past any activity: reads the conversation only


def stream_url(grant: tokens.Grant, watermark: int | None = None) -> str:
    """The conversation's `streamUrl`: ws:// or wss:// as the request came over http or https (Werkzeug gives a
    WebSocket route its scheme; behind a proxy, TRUSTED_PROXIES says whether it was https)."""
    url = url_for("directline.stream", conversation_id=grant.conversation_id, _external=True,
                  t=tokens.issue(grant, audience=tokens.STREAM_AUDIENCE),
                  **({"watermark": str(watermark)} if watermark is not None else {}))
    base = current_app.config.get("DIRECTLINE_STREAM_BASE")  # a stream process of its own (stream_process.py)
    if base:
        parts = urlsplit(url)
        url = f"{base.rstrip('/')}{parts.path}?{parts.query}"
    return url


def check_upgrade() -> None:
    """Before the upgrade (a `before_request` of the Direct Line blueprint): the stream token, and the page's
    origin; refused as JSON errors, so no socket is opened for them."""
    if request.endpoint != "directline.stream":
        return
    token = request.args.get("t", "")
    try:
        grant = tokens.read(token, audience=tokens.STREAM_AUDIENCE)
    except tokens.TokenExpired:
        raise DirectLineError(403, "TokenExpired", "This streamUrl has expired (it is good for 60 s): get a new "
                                                   "one with GET /v3/directline/conversations/{id}.") from None
    except tokens.TokenRejected:
        raise DirectLineError(403, "InvalidToken", "Open the stream with the streamUrl the Conversation object "
                                                   "gave, whose t is a stream token.") from None
    conversation_id = request.view_args["conversation_id"]
    try:
        auth.activities_for(grant, conversation_id, LAST)  # the access check, the page's too (`cors.check_page`)
    except DirectLineError as e:
        if e.error_code == "OriginNotAllowed":
            refused_origins.record(grant.bot_id, request.headers.get("Origin"))
        raise
    page = cors.page_of_request(bound=grant.origin is not None)
    request.environ["arbor.stream"] = grant, PageWatch(page, cors.remembered_websites())


class PageWatch:
    """A stream's page (None: a caller never refused) and the newest list of its bot's allowed websites the stream
    has seen, read with its conversation or heard in a note: a list older than that one (by revision) is ignored,
    so notes heard out of order leave the stream acting on the list saved last."""

    def __init__(self, page: cors.Page | None, websites: cors.Websites):
        self.page, self.websites = page, websites

    def see(self, websites: cors.Websites) -> None:
        self.websites = self.websites.newer(websites)

    def hear(self, notes: list[dict]) -> None:
        """See the lists the notes of the bot's allowed websites changing carry."""
        for note in notes:
            if "origins" not in note:
                continue
            if isinstance(note.get("revision"), int):
                self.see(cors.Websites(note["origins"], note["revision"]))
            else:  # from a process of an older Arbor (a rolling upgrade), which counts no revisions: as it said
                self.websites = cors.Websites(note["origins"], self.websites.revision)

    @property
    def allows(self) -> bool:
        """Whether the newest list seen allows the stream's page."""
        return self.page is None or self.page.allowed_by(self.websites.origins)


NOT_UPGRADED = ("A conversation's stream is a WebSocket: open the streamUrl the Conversation object gave with a "
                "WebSocket client (a GET with Upgrade: websocket), or read activities with GET .../activities.")


def mismatch(error: WebsocketMismatch) -> tuple[Response, int]:
    """A plain request to the stream, or a WebSocket to any other URL (werkzeug's routing refuses both alike, with
    a sentence about browsers and proxies): what to do instead, as a Direct Line error."""
    if request.headers.get("Upgrade", "").lower() == "websocket":
        return as_json(bad_argument("Only a conversation's stream (.../conversations/{id}/stream) is a WebSocket; "
                                    "this URL takes HTTP."))
    return as_json(bad_argument(NOT_UPGRADED))


def register(bp) -> None:
    """Add the stream route to the Direct Line blueprint, with its check before the upgrade."""
    bp.before_request(check_upgrade)

    @sock.route("/conversations/<conversation_id>/stream", bp=bp, endpoint="stream")
    def stream(ws: Server, conversation_id: str) -> None:
        grant, watch = request.environ["arbor.stream"]
        keepalive = float(current_app.config["DIRECTLINE_STREAM_KEEPALIVE"])
        me, until = uuid.uuid4().hex, tokens.now() + tokens.lifetime()
        hub = live.hub()
        with hub.watching(conversation_id, live.websites_key(grant.bot_id)) as waiter:
            hub.publish(conversation_id, {"stream": me})
            try:
                sent = _send_new(ws, grant, conversation_id, watch, watermark_arg(), first=True)
                while ws.connected:
                    notes = waiter.wait(keepalive)
                    move = next_move(notes, me, until, watch)
                    if move in CLOSES:
                        ws.close(*CLOSES[move])
                        return
                    _drain(ws)
                    if move == "send":
                        sent = _send_new(ws, grant, conversation_id, watch, sent, notes)
                    if move == "typing" or (move == "send" and typing_last(notes)):
                        ws.send(typing_set(grant, conversation_id))
                    elif move == "keepalive":  # no query: idle streams cost no database work
                        ws.send("")
            except DirectLineError as e:  # a store read refused the page (`read_set`)
                if e.error_code != "OriginNotAllowed":
                    raise
                ws.close(*CLOSES["refused"])


CLOSES = {"collision": (COLLISION, "collision"), "expired": (EXPIRED, "expired"),
          "refused": (REFUSED, "OriginNotAllowed")}


def next_move(notes: list[dict], me: str, until: float, watch: PageWatch) -> str:
    """What a stream does after a wait: "collision" (a newer stream of its conversation opened), "refused" (the
    bot's allowed websites changed and the newest list `watch` has seen no longer allows the page), "send"
    (a turn was committed; the bot may be typing after it: `typing_last`), "typing" (a turn waits for the world:
    the bot is typing), "quiet" (only the visitor typed, which is for the agents), "expired" (its token's
    lifetime is over) or "keepalive" (nothing happened, or the websites changed and still allow the page)."""
    if any(note.get("stream") not in (None, me) for note in notes):
        return "collision"
    watch.hear(notes)
    if not watch.allows:
        return "refused"
    notes = [note for note in notes if "origins" not in note]
    if any("typing" not in note for note in notes):
        return "send"
    if notes:
        return "typing" if any(note["typing"] == "bot" for note in notes) else "quiet"
    return "expired" if tokens.now() >= until else "keepalive"


def typing_last(notes: list[dict]) -> bool:
    """Whether the bot's typing came after the last turn the notes tell of (the visitor's message was kept, and
    now its reply waits for the world): the stream shows it after that turn's activities."""
    last = next((note for note in reversed(notes) if "seq" in note or note.get("typing") == "bot"), None)
    return last is not None and "seq" not in last


def typing_set(grant: tokens.Grant, conversation_id: str) -> str:
    """An ActivitySet of one `typing` activity from the bot, as Microsoft's service streams a bot's typing: not
    kept in the transcript, so it carries no watermark (the client's stays where it is)."""
    return json.dumps({"activities": [{
        "type": "typing", "id": f"typing-{uuid.uuid4().hex}", "channelId": "directline",
        "conversation": {"id": conversation_id}, "from": {"id": grant.bot_id, "role": "bot"}}]})


def shown(activities: list[dict]) -> list[dict]:
    """What a client is shown of a transcript: both directions (the user's own activities echoed back), but not
    the inputs Arbor made itself (a trigger, a timer's timeout), past which the watermark still moves."""
    return [activity for activity in activities if activity.get("from") != ARBOR]


def encode(activities: list[dict], watermark: int) -> str:
    """An ActivitySet's text."""
    return json.dumps({"activities": activities, "watermark": str(watermark)})


def activity_set(grant: tokens.Grant, conversation_id: str, after: int, first: bool = False) -> tuple[str | None, int]:
    """The activities after `after`, read from the store, as one ActivitySet's text (on the first call even with
    none, so the client learns the watermark; else None when nothing is new), and the watermark reached."""
    last_seq, found = auth.activities_for(grant, conversation_id, after)
    watermark = seq_of(found[-1]["id"]) if found else min(after, last_seq)
    visible = shown(found)
    if visible or (first and after == 0):
        return encode(visible, watermark), watermark
    return None, watermark


def read_set(grant: tokens.Grant, conversation_id: str, watch: PageWatch, after: int,
             first: bool = False) -> tuple[str | None, int]:
    """`activity_set`, seeing the bot's allowed websites read with the conversation (no query of its own); raises
    the refusal (OriginNotAllowed) when they no longer allow the stream's page. The stream process reads without
    the page's request, so its store read does not refuse the page by itself."""
    found = activity_set(grant, conversation_id, after, first)
    watch.see(cors.remembered_websites())
    if not watch.allows:
        raise cors.refusal()
    return found


def pushed(notes: list[dict], after: int) -> tuple[list[str], int] | None:
    """The ActivitySets the turns' notes carry (`live.on_turn`) for a stream that sent everything up to `after`,
    and the watermark they reach; None when the store must be read instead: a note without its activities,
    a gap before one (a turn's note not heard, or heard after a later turn's), or a listener that heard Redis
    again after losing it (notes may be lost)."""
    sets = []
    for note in notes:
        if "seq" not in note:
            if "typing" in note or "stream" in note or "origins" in note:
                continue
            return None
        if note["seq"] <= after:  # sent already (read from the store after an earlier gap)
            continue
        if note.get("first") != after + 1 or "activities" not in note:
            return None
        visible = shown(json.loads(note["activities"]))
        if visible:
            sets.append(encode(visible, note["seq"]))
        after = note["seq"]
    return sets, after


def _send_new(ws: Server, grant: tokens.Grant, conversation_id: str, watch: PageWatch, after: int,
              notes: list[dict] | None = None, first: bool = False) -> int:
    """Send what is new after `after` (what the notes carry, else read from the store); the watermark reached."""
    found = None if notes is None else pushed(notes, after)
    if found is None:
        text, watermark = read_set(grant, conversation_id, watch, after, first)
        found = ([text] if text is not None else []), watermark
    for text in found[0]:
        ws.send(text)
    return found[1]


def _drain(ws: Server) -> None:
    """Read and drop what the client sent (empty keep-alives); ConnectionClosed once it has gone."""
    while ws.receive(timeout=0) is not None:
        pass
    if not ws.connected:
        raise ConnectionClosed()
