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
  `runtime.channels.live`, in whatever process it ran, and the stream reads what is new from the store.
- One stream per conversation: a newer one (a reload, a reconnect through another server) closes the older
  with the reason "collision" (4001).
- A stream lives as long as the token it came with (DIRECTLINE_TOKEN_TTL), then closes ("expired", 4002): the
  client reconnects with its refreshed token (DirectLineJS does, after 3-15 s), so no credential listens on
  after it expired.
"""

from __future__ import annotations

import json
import uuid
from urllib.parse import urlsplit

from flask import current_app, request, url_for
from flask_sock import Sock
from simple_websocket import ConnectionClosed, Server

from runtime.channels import live
from runtime.channels.directline import auth, cors, refused_origins, tokens
from runtime.channels.directline.errors import DirectLineError, watermark_arg
from runtime.store.activities import ARBOR, seq_of

sock = Sock()
MAX_CLIENT_MESSAGE = 4096  # bytes: a client sends only empty keep-alives; a bigger message closes its stream (1009)
COLLISION = 4001  # the close code for a stream that a newer stream of its conversation replaced
EXPIRED = 4002  # the close code for a stream that outlived the token it was opened with
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
    auth.activities_for(grant, conversation_id, LAST)  # the access check; remembers the bot's origins
    origin = request.headers.get("Origin")
    if origin and origin != request.host_url.rstrip("/") and not cors.page_allowed(origin):
        refused_origins.record(grant.bot_id, origin)
        raise DirectLineError(403, "OriginNotAllowed", f"Pages of {origin[:100]} may not open this bot's chat: "
                                                       "add the site to the bot's allowed websites.")
    request.environ["arbor.stream"] = grant


def register(bp) -> None:
    """Add the stream route to the Direct Line blueprint, with its check before the upgrade."""
    bp.before_request(check_upgrade)

    @sock.route("/conversations/<conversation_id>/stream", bp=bp, endpoint="stream")
    def stream(ws: Server, conversation_id: str) -> None:
        grant: tokens.Grant = request.environ["arbor.stream"]
        keepalive = float(current_app.config["DIRECTLINE_STREAM_KEEPALIVE"])
        me, until = uuid.uuid4().hex, tokens.now() + tokens.lifetime()
        hub = live.hub()
        with hub.watching(conversation_id) as waiter:
            hub.publish(conversation_id, {"stream": me})
            sent = _send_new(ws, grant, conversation_id, watermark_arg(), first=True)
            while ws.connected:
                notes = waiter.wait(keepalive)
                move = next_move(notes, me, until)
                if move in CLOSES:
                    ws.close(*CLOSES[move])
                    return
                _drain(ws)
                if move == "send":
                    sent = _send_new(ws, grant, conversation_id, sent)
                elif move == "typing":
                    ws.send(typing_set(grant, conversation_id))
                elif move == "keepalive":  # no query: idle streams cost no database work
                    ws.send("")


CLOSES = {"collision": (COLLISION, "collision"), "expired": (EXPIRED, "expired")}


def next_move(notes: list[dict], me: str, until: float) -> str:
    """What a stream does after a wait: "collision" (a newer stream of its conversation opened), "send" (a turn
    was committed), "typing" (a turn began: the bot is typing), "quiet" (only the visitor typed, which is for
    the agents), "expired" (its token's lifetime is over) or "keepalive" (nothing happened)."""
    if any(note.get("stream") not in (None, me) for note in notes):
        return "collision"
    if any("typing" not in note for note in notes):
        return "send"
    if notes:
        return "typing" if any(note["typing"] == "bot" for note in notes) else "quiet"
    return "expired" if tokens.now() >= until else "keepalive"


def typing_set(grant: tokens.Grant, conversation_id: str) -> str:
    """An ActivitySet of one `typing` activity from the bot, as Microsoft's service streams a bot's typing: not
    kept in the transcript, so it carries no watermark (the client's stays where it is)."""
    return json.dumps({"activities": [{
        "type": "typing", "id": f"typing-{uuid.uuid4().hex}", "channelId": "directline",
        "conversation": {"id": conversation_id}, "from": {"id": grant.bot_id, "role": "bot"}}]})


def activity_set(grant: tokens.Grant, conversation_id: str, after: int, first: bool = False) -> tuple[str | None, int]:
    """The activities after `after` as one ActivitySet's text (on the first call even with none, so the client
    learns the watermark; else None when nothing is new), and the watermark reached."""
    last_seq, found = auth.activities_for(grant, conversation_id, after)
    shown = [activity for activity in found if activity.get("from") != ARBOR]
    watermark = seq_of(found[-1]["id"]) if found else min(after, last_seq)
    if shown or (first and after == 0):
        return json.dumps({"activities": shown, "watermark": str(watermark)}), watermark
    return None, watermark


def _send_new(ws: Server, grant: tokens.Grant, conversation_id: str, after: int, first: bool = False) -> int:
    text, watermark = activity_set(grant, conversation_id, after, first)
    if text is not None:
        ws.send(text)
    return watermark


def _drain(ws: Server) -> None:
    """Read and drop what the client sent (empty keep-alives); ConnectionClosed once it has gone."""
    while ws.receive(timeout=0) is not None:
        pass
    if not ws.connected:
        raise ConnectionClosed()
