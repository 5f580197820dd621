"""The Direct Line 3.0 REST API, as BotFramework-WebChat, DirectLineJS and our widget use it: polling here, and
the WebSocket stream the Conversation objects name (`stream`).

Thin views: the credential (`auth`), opening conversations (`start`), posted activities (`inbound`), and the
transcript the store keeps (read with the access check, `auth.activities_for`), whose sequence numbers are the
watermarks. A page the bot does not allow is refused before anything is done (`cors.check_page`: in the access
check, and before a conversation is opened with the secret).
"""

from __future__ import annotations

from flask import Blueprint, request

from runtime.channels.directline import auth, cors, inbound, start, stream, tokens
from runtime.channels.directline.errors import json_body, limit_body, watermark_arg
from runtime.store.activities import seq_of

bp = Blueprint("directline", __name__, url_prefix="/v3/directline")
bp.before_request(limit_body)
stream.register(bp)


@bp.post("/tokens/generate")
def generate() -> dict:
    """A token for a new conversation, for a site's backend to hand to its page (Bearer = the secret)."""
    grant = auth.caller(needs="secret")
    cors.check_page(bound=False)
    return start.answer(start.open_conversation(grant.bot_id, json_body(), trusted=True))


@bp.post("/tokens/refresh")
def refresh() -> dict:
    """The same grant with a new expiry; DirectLineJS refreshes every 15 minutes."""
    grant = auth.caller(needs="token")
    auth.conversation_for(grant, grant.conversation_id)
    return start.answer(grant)


@bp.post("/conversations")
def conversations() -> tuple[dict, int]:
    """With a token: its conversation, already started (200). With the secret: a new one (201)."""
    grant = auth.caller()
    if grant.is_token:
        auth.conversation_for(grant, grant.conversation_id)
        return start.answer(grant), 200
    cors.check_page(bound=False)
    return start.answer(start.open_conversation(grant.bot_id, json_body(), trusted=True)), 201


@bp.get("/conversations/<conversation_id>")
def reconnect(conversation_id: str) -> dict:
    """Resume a conversation (a page reload, a stream's reconnect): its Conversation object with a fresh token,
    and a streamUrl from the `watermark` given (without one: what comes from now on)."""
    grant = auth.caller()
    conversation = auth.conversation_for(grant, conversation_id)
    after = watermark_arg() if request.args.get("watermark") else conversation.activity_seq  # else: from now on
    return start.answer(tokens.Grant(conversation.bot_id, conversation.id, conversation.user_id, grant.origin), after)


@bp.get("/conversations/<conversation_id>/activities")
def activities(conversation_id: str) -> dict:
    """Both directions' activities after the watermark (the user's own echoed back too).

    Inputs Arbor made itself (triggers, timer timeouts) are left out, but the watermark moves past them.
    """
    grant, after = auth.caller(), watermark_arg()
    last_seq, found = auth.activities_for(grant, conversation_id, after)
    watermark = seq_of(found[-1]["id"]) if found else min(after, last_seq)
    return {"activities": stream.shown(found), "watermark": str(watermark)}


@bp.post("/conversations/<conversation_id>/activities")
def post_activity(conversation_id: str) -> dict:
    """Apply one activity from the client; answers the id its echo will carry."""
    auth.conversation_for(auth.caller(), conversation_id)
    return {"id": inbound.apply(conversation_id, inbound.parse(json_body()))}

