"""Activities a client posts: checked, turned into the engine's Input, and applied once.

The activity is kept as received (WebChat marks a message sent only when it comes back through
GET .../activities with its `channelData.clientActivityID`); the store adds id, timestamp and conversation
and overwrites what only Arbor may set: `from` is the token's user with the role `user`, and
`channelData.arbor` is dropped (`runtime.store.activities.from_outside`). The client's `clientActivityID`
(or `id`) is the key that makes a repeated post apply once. `message` (text, or a postback `value`) and
`event` (name, value) are understood;
other types (conversationUpdate...) are logged and dropped. The init events (`INIT_EVENTS`)
also merge their value, an object, into the user's data: how a page hands the bot what it knows.

Typing is live, never kept: the visitor's own `typing` activity tells the agent console watching the
conversation (`runtime.channels.live`). The bot's typing reaches the streams while a turn waits for the world
(`live.on_wait`); the widget shows it itself from the moment it sends.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select

from runtime.channels import live
from runtime.channels.directline.errors import DirectLineError, bad_argument, storable_id
from runtime.extensions import db
from runtime.steps.base import Input
from runtime.store.activities import activity_id
from runtime.store.models import BotUser, Conversation, TranscriptEntry
from runtime.store.retry import in_transaction
from runtime.turns.turn import ConversationNotFound, handle

log = logging.getLogger(__name__)

INIT_EVENTS = ("arbor/init", "webchat/join")
_SEQ_OF = select(TranscriptEntry.__table__.c.seq).where(
    TranscriptEntry.__table__.c.conversation_id == bindparam("conversation_id"),
    TranscriptEntry.__table__.c.client_key == bindparam("client_key"))
FIELD_TYPES = {"from": dict, "channelData": dict, "text": str, "name": str}


@dataclass(frozen=True)
class Inbound:
    activity: dict
    input: Input | None  # None: a type Arbor does not handle
    client_key: str
    page_data: dict | None = None


def parse(body: Any) -> Inbound:
    """Check a posted activity and say what it asks; raises a 400 that names what to change."""
    if not isinstance(body, dict) or not isinstance(body.get("type"), str) or not body["type"]:
        raise bad_argument('The body must be one Activity: a JSON object with a "type", "message" or "event".')
    for field, kind in FIELD_TYPES.items():
        if body.get(field) is not None and not isinstance(body[field], kind):
            raise bad_argument(f'"{field}" must be {"an object" if kind is dict else "a string"}.')
    key = (body.get("channelData") or {}).get("clientActivityID") or body.get("id") or uuid.uuid4().hex
    if not storable_id(key):
        raise bad_argument('"channelData.clientActivityID" and "id" must be strings of 1 to 255 printable '
                           'characters.')
    kind, value = body["type"], body.get("value")
    if kind == "message":
        if body.get("text") is None and value is None:
            raise bad_argument('A message needs "text" or a "value" (a postback); attachments are not accepted.')
        return Inbound(body, Input.message(body.get("text"), value), key)
    if kind == "event":
        if not body.get("name"):
            raise bad_argument('An event needs a "name".')
        if body["name"] in INIT_EVENTS and value is not None and not isinstance(value, dict):
            raise bad_argument(f'The value of a {body["name"]} event must be an object: its fields are merged '
                               f'into the user\'s data.')
        return Inbound(body, Input.event(body["name"], value), key, value if body["name"] in INIT_EVENTS else None)
    return Inbound(body, None, key)


def apply(conversation_id: str, inbound: Inbound) -> str:
    """Apply the activity (once per client key) and return the id its echo carries ("" if dropped)."""
    if inbound.input is None:
        if inbound.activity["type"] == "typing":
            live.hub().publish(conversation_id, {"typing": "user"})
            return ""
        log.info("Direct Line: ignored an activity of type %r in conversation %s",
                 inbound.activity["type"][:40], conversation_id)
        return ""
    if inbound.page_data and _seq_of(conversation_id, inbound.client_key) is None:
        _merge_user_data(conversation_id, inbound.page_data)
    try:
        replies = handle(conversation_id, inbound.input, client_key=inbound.client_key,
                         inbound_activity=inbound.activity)
    except ConversationNotFound as e:
        raise DirectLineError(404, "ConversationNotFound", str(e)) from None
    # The store marks each reply with the id of the activity it answers (the first time too, for a repeat).
    answered = next((reply["replyToId"] for reply in replies if reply.get("replyToId")), None)
    return answered or activity_id(conversation_id, _seq_of(conversation_id, inbound.client_key))


def _seq_of(conversation_id: str, client_key: str) -> int | None:
    """Where the activity with this client key stands in the transcript, if it was received."""
    return db.session.connection().scalar(_SEQ_OF, {"conversation_id": conversation_id, "client_key": client_key})


def _merge_user_data(conversation_id: str, data: dict) -> None:
    """Merge the page's data into the conversation's user's data (retried if a turn wrote it meanwhile)."""

    def merge() -> None:
        conversation = db.session.get(Conversation, conversation_id, populate_existing=True)
        if conversation is None:
            raise DirectLineError(404, "ConversationNotFound", f"There is no conversation '{conversation_id}'.")
        user = db.session.get(BotUser, (conversation.bot_id, conversation.user_id), populate_existing=True)
        user.data = {**user.data, **data}

    in_transaction(merge)

