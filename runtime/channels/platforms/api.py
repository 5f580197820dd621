"""The inbound address of a platform connection: `POST /b/<bot>/hooks/<connection>`.

The connection's adapter (`adapters`, by its `kind`) checks that the POST comes from the platform (a token,
a signature), and reads the body as Arbor's one inbound shape; a refusal is answered with its status (401,
403, 400) and what to change, and nothing is stored. A message, postback or event is applied to the user's
conversation (`threads`), a status is recorded on the transcript (`statuses`), a handshake verifies the
connection; the adapter answers in its platform's format. The turn's effects (replies to the platform's
address, timers, calls) are carried out after the answer, by the jobs.
"""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, g, has_app_context, jsonify, request
from werkzeug.exceptions import NotFound

from runtime.channels.platforms import adapters, connections, statuses, threads
from runtime.channels.platforms.adapters.base import Answered, Ignored, Refused, Verification
from runtime.channels.platforms.inbound import Status
from runtime.store.bots import BotNotPublished

log = logging.getLogger(__name__)
bp = Blueprint("platforms", __name__)


@bp.post("/b/<bot_id>/botframework/messages")
def botframework(bot_id: str):
    """The bot's Bot Framework messaging endpoint: its one connection of that kind."""
    try:
        slug = connections.slug_of_kind(bot_id, "botframework")
    except connections.ConnectionNotFound:
        return _error(404, f"The bot '{bot_id[:64]}' has no Microsoft Bot Framework connection: add one on its "
                           "Platforms page.")
    return receive(bot_id, slug)


@bp.post("/b/<bot_id>/hooks/<slug>")
def receive(bot_id: str, slug: str):
    try:
        connection = connections.load(bot_id, slug)
    except connections.ConnectionNotFound as e:
        raise NotFound(str(e)) from None
    adapter = adapters.of(connection.row.kind)
    try:
        raw = _body()
        adapter.authenticate(connection, request, raw)
        event = adapter.parse(connection, request, raw)
        if isinstance(event, Verification):
            connections.verified(connection)
            log.info("platform connection %s/%s verified by %s", bot_id, slug, adapter.title)
            return adapter.answer(connection, Answered(verified=True))
        if isinstance(event, Ignored):
            log.info("platform connection %s/%s: %s", bot_id, slug, event.why)
            return adapter.answer(connection, Answered())
        if connection.target.verified_at is None:
            raise Refused(403, f"This {adapter.title} connection is not verified yet: press Verify on the "
                               f"platform's side first (Arbor answers it); until then its events are refused.")
    except Refused as e:
        log.info("platform connection %s/%s refused a POST (%s): %s", bot_id, slug, e.status, e)
        return _error(e.status, str(e))
    if isinstance(event, Status):
        applied = event.status is not None and statuses.apply(
            event.message_id, event.status, description=event.description, bot_id=bot_id, at=event.timestamp)
        return adapter.answer(connection, Answered(applied=applied))
    # An adapter answering in the response (TwiML) gets what every turn of this request said, the rules' too
    # (a handover closed at once, and the bot going on), not only the user's turn's answer.
    g.platform_answering, g.platform_said = connection.row.id, []
    try:
        conversation_id, activities = threads.deliver(connection.row, event)
    except BotNotPublished:
        raise NotFound(f"The bot '{bot_id}' is not published yet; publish it to answer platform users.") from None
    finally:
        g.platform_answering, said = None, g.pop("platform_said", [])
    return adapter.answer(connection, Answered(conversation_id, _in_order(activities, said)))


def answering_in_response(connection_id: str, said: list[dict]) -> bool:
    """Whether this request answers `connection_id`'s platform in its response; if so, `said` (a committed
    turn's messages) goes into the answer."""
    if not (has_app_context() and g.get("platform_answering") == connection_id):
        return False
    g.platform_said.extend(said)
    return True


def _in_order(answered: list[dict], said: list[dict]) -> list[dict]:
    """The turn's answer and what else was said meanwhile, each once, in the conversation's order (an id is
    `<conversation>|<seq>`, zero-padded)."""
    found = {activity["id"]: activity for activity in said + answered if activity.get("id")}
    return sorted(found.values(), key=lambda activity: activity["id"]) or answered


def _error(status: int, message: str):
    names = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 503: "ServiceUnavailable"}
    answer = jsonify({"error": {"code": names.get(status, "BadRequest"), "message": message}})
    answer.status_code = status
    return answer


def _body() -> bytes:
    limit = current_app.config["PLATFORM_MAX_BODY_BYTES"]
    too_big = Refused(400, f"The body is larger than {limit} bytes; send one event per POST, and media by URL.")
    if request.content_length is not None and request.content_length > limit:
        raise too_big
    raw = request.stream.read(limit + 1)
    if len(raw) > limit:
        raise too_big
    return raw
