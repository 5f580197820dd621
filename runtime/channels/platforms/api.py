"""The inbound address of a platform connection: `POST /b/<bot>/hooks/<connection>`.

Every POST carries the connection's verification token (`Authorization: Bearer <token>` or
`X-Verification-Token: <token>`); without it, 401 and nothing is stored. The body is one inbound event
(`inbound`); a bad one is answered 400 with what to change. A message, postback or event is applied to
the user's conversation (`threads`) and answered 200 with its id; the replies go to the platform's
outbound address (`replies`). A status is recorded on the transcript (`statuses`).
"""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, request
from werkzeug.exceptions import BadRequest, NotFound, Unauthorized

from runtime.channels.platforms import connections, inbound, statuses, threads
from runtime.store import storable
from runtime.store.bots import BotNotPublished

log = logging.getLogger(__name__)
bp = Blueprint("platforms", __name__)


@bp.post("/b/<bot_id>/hooks/<slug>")
def receive(bot_id: str, slug: str):
    try:
        connection = connections.authenticated(bot_id, slug, _token())
    except connections.ConnectionNotFound as e:
        raise NotFound(str(e)) from None
    except PermissionError:
        log.info("platform connection %s/%s: a POST without the right verification token", bot_id, slug)
        raise Unauthorized("Send the connection's verification token: Authorization: Bearer <token>, or "
                           "X-Verification-Token: <token>.") from None
    try:
        event = inbound.parse(_body())
    except inbound.BadEvent as e:
        raise BadRequest(str(e)) from None
    if isinstance(event, inbound.Status):
        applied = statuses.apply(event.message_id, event.status, description=event.description, bot_id=bot_id,
                                 at=event.timestamp)
        return {"applied": applied}
    try:
        conversation_id = threads.deliver(connection, event)
    except BotNotPublished:
        raise NotFound(f"The bot '{bot_id}' is not published yet; publish it to answer platform users.") from None
    return {"conversationId": conversation_id}


def _token() -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.headers.get("X-Verification-Token") or None


def _body():
    limit = current_app.config["PLATFORM_MAX_BODY_BYTES"]
    if request.content_length is not None and request.content_length > limit:
        raise BadRequest(f"The body is larger than {limit} bytes; send one event per POST, and media by URL.")
    raw = request.stream.read(limit + 1)
    if len(raw) > limit:
        raise BadRequest(f"The body is larger than {limit} bytes; send one event per POST, and media by URL.")
    try:
        return storable.loads(raw)
    except (ValueError, RecursionError) as e:  # UnicodeDecodeError too
        raise BadRequest(f"The body is not JSON ({str(e)[:120]}); send one JSON object.") from None
    except storable.NotStorable as e:
        raise BadRequest(str(e)) from None
