"""The trigger API: `POST /b/<bot>/api/management/trigger/<address>/<dialogId>[/<mode>]` starts a dialog for a user.

`<address>` is base64 (standard or URL-safe, padded or not) of the Bot Framework address of a user,
`{"bot": {"id"}, "user": {"id"}, "channelId", "conversation": {"id"}?}` (plain strings are taken for ids
too). The dialog runs as a turn of the user's conversation on that channel (`conversations.handle` with
an `Input.trigger`), so its messages join the transcript: an open webchat shows them at its next poll, a
closed one when the page comes back. A JSON body is saved into the user's data in the same turn, so it
is applied whole or not at all. Without `/clear` the dialog is called: when it ends, the step the user
was at asks again; with `/clear` the user's place in the tree is dropped first. `clear` is the one mode the
API book names; any other mode is a 400 naming it. Standard base64 may hold `/`, so the path is split where
the address decodes: `<address>/<dialog>` first, else `<address>/<dialog>/<mode>`.

Which conversation: the address's `conversation` when given, else the user's latest on that channel.
A webchat user with no conversation there (or none at all yet) gets one begun for them, the start dialog
then the triggered one, and their next connection opens it (`runtime.store.triggered`): the dialog is
delivered when they come. A platform user (`platform`, user id `twilio:+420...`) with none open gets one
through the bot's connection that may write first, and the messages go out at once (`threads.begin`: SMS and
WhatsApp). Elsewhere a user with no conversation there gets a 404.

`Idempotency-Key: K` makes a retried call safe: K is the inbound activity's client key, unique per
conversation in the transcript, so of two calls with K (even at once) one runs the dialog and both get
the same answer; K again with another dialog, mode or body is refused with 422.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from flask import request
from sqlalchemy import select
from werkzeug.exceptions import BadRequest, NotFound, UnprocessableEntity

from runtime.extensions import db
from runtime.management.body import json_object
from runtime.steps.base import Input
from runtime.store import bots, triggered
from runtime.store.models import BotUser, Conversation, TranscriptEntry
from runtime.turns.turn import handle, start_conversation

IDEMPOTENCY_HEADER = "Idempotency-Key"
CHANNEL_ALIASES = {"directline": "webchat"}  # Bot Framework clients call the webchat's channel "directline"
MODES = ("clear",)
WEBCHAT = "webchat"
PLATFORM = "platform"  # runtime/channels/platforms/threads.py CHANNEL


def trigger(bot: str, address: str, dialog: str) -> tuple[dict, int]:
    """Run `dialog` for the user at `address`; 202 with the conversation id."""
    target, dialog, mode = _split(address, dialog)
    clear = mode == "clear"
    if target["bot"] != bot:
        raise BadRequest(f"The address is of bot '{target['bot'][:64]}', not of '{bot}': use the address of a "
                         f"user of this bot.")
    body = json_object() if request.get_data(cache=True).strip() else None
    key = _idempotency_key()
    conversation = _conversation(bot, target)
    _check_dialog(bot, conversation, dialog)
    if conversation is None and target["channelId"] == PLATFORM:  # a platform user: reached at once
        conversation = db.session.get(Conversation, _begin_on_platform(bot, target["user"]))
    elif conversation is None:  # a webchat user with none yet: begin one for their next connection
        conversation, _ = start_conversation(bot, target["user"], target["channelId"])
    inp = Input.trigger(dialog, body, clear=clear)
    client_key = triggered.client_key(key)
    if key:
        _same_call_or_refuse(conversation.id, client_key, inp)
    handle(conversation.id, inp, client_key=client_key)
    if key:
        _same_call_or_refuse(conversation.id, client_key, inp)  # a different call with the key won the race
    return {"conversationId": conversation.id, "dialogId": dialog, "clear": clear}, 202


def _split(address: str, last: str) -> tuple[dict[str, str], str, str | None]:
    """The address's ids, the dialog and the mode (None) of the path after `trigger/`."""
    try:
        return decode_address(address), last, None
    except BadRequest:
        head, _, dialog = address.rpartition("/")
        try:
            target = decode_address(head) if head else None
        except BadRequest:
            target = None
        if target is None:
            raise
    if last not in MODES:
        raise BadRequest(f"'{last[:40]}' is not a trigger mode; the modes are: {', '.join(MODES)} (or none: "
                         f".../trigger/<address>/<dialogId>).")
    return target, dialog, last


def decode_address(address: str) -> dict[str, str]:
    """The ids in a base64 address; raise BadRequest saying what is wrong with it."""
    text = address.strip().replace("-", "+").replace("_", "/").rstrip("=")
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest("The address is not base64: send base64 (standard or URL-safe) of the user's address "
                         "JSON, {\"bot\": ..., \"user\": ..., \"channelId\": ...}.") from None
    try:
        found = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BadRequest("The address is base64, but not of JSON: encode the user's address JSON, "
                         "{\"bot\": ..., \"user\": ..., \"channelId\": ...}.") from None
    if not isinstance(found, dict):
        raise BadRequest("The address must be a JSON object with \"bot\", \"user\" and \"channelId\".")
    ids = {name: _id(found, name) for name in ("bot", "user", "channelId", "conversation")}
    for name in ("bot", "user", "channelId"):
        if ids[name] is None:
            raise BadRequest(f"The address has no \"{name}\": it needs \"bot\", \"user\" and \"channelId\" "
                             f"(and may have \"conversation\").")
    ids["channelId"] = CHANNEL_ALIASES.get(ids["channelId"], ids["channelId"])
    return ids


def address_of(conversation: Conversation) -> str:
    """The address of a conversation's user, as the trigger API takes it (URL-safe base64, no padding)."""
    found = {"bot": {"id": conversation.bot_id}, "user": {"id": conversation.user_id},
             "channelId": conversation.channel, "conversation": {"id": conversation.id}}
    return base64.urlsafe_b64encode(json.dumps(found).encode()).decode().rstrip("=")


def _id(found: dict, name: str) -> str | None:
    value = found.get(name)
    if isinstance(value, dict):
        value = value.get("id")
    if value is None:
        return None
    if not isinstance(value, str) or not 0 < len(value) <= 255 or not value.isprintable():
        raise BadRequest(f"The address's \"{name}\" must be a string of 1 to 255 printable characters "
                         f"(or an object with such an \"id\").")
    return value


def _conversation(bot: str, target: dict[str, str]) -> Conversation | None:
    """The conversation to run the trigger in; None for a webchat user who has none on the webchat yet."""
    user, channel = target["user"], target["channelId"]
    begins = channel in (WEBCHAT, PLATFORM) and not target["conversation"]
    if not begins and db.session.get(BotUser, (bot, user)) is None:
        raise NotFound(f"Bot '{bot}' has no user '{user[:64]}'.")
    found = select(Conversation).where(Conversation.bot_id == bot, Conversation.user_id == user,
                                       Conversation.channel == channel)
    if target["conversation"]:
        found = found.where(Conversation.id == target["conversation"])
    conversation = db.session.scalars(found.order_by(Conversation.updated_at.desc()).limit(1)).first()
    if conversation is None and not begins:
        which = f"conversation '{target['conversation'][:64]}'" if target["conversation"] else "conversation"
        raise NotFound(f"User '{user[:64]}' of bot '{bot}' has no {which} on the channel '{channel[:32]}': the "
                       f"trigger reaches users on a channel where they talk to the bot (on the webchat it begins one).")
    return conversation


def _begin_on_platform(bot: str, user: str) -> str:
    from runtime.channels.platforms import threads  # the platforms import the management API's models

    begun = threads.begin(bot, user)
    if begun is None:
        raise NotFound(f"User '{user[:64]}' of bot '{bot}' has no open conversation on a platform, and Arbor can "
                       f"write first only to an SMS or WhatsApp number (a user id 'twilio:+420...') through the "
                       f"bot's one Twilio connection; on other platforms the user must write first.")
    return begun


def _check_dialog(bot: str, conversation: Conversation | None, dialog: str) -> None:
    """404 unless the version the turn will run has the dialog (a new conversation: the published one)."""
    if conversation is None:
        number = bots.get_bot(bot).published_version
        if number is None:
            raise NotFound(f"Bot '{bot}' is not published; publish it before triggering its dialogs.")
    else:
        number = conversation.bot_version if conversation.bot_version == bots.DRAFT else (
            bots.get_bot(bot).published_version or conversation.bot_version)
    indexed = bots.load_indexed(bot, number)
    if dialog not in indexed.dialogs:
        raise NotFound(f"Bot '{bot}' has no dialog '{dialog[:64]}'; its dialogs are: "
                       f"{', '.join(sorted(indexed.dialogs))}.")


def _idempotency_key() -> str | None:
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        return None
    if not 0 < len(key) <= 200 or not key.isprintable():
        raise BadRequest(f"The {IDEMPOTENCY_HEADER} header must be 1 to 200 printable characters.")
    return key


def _same_call_or_refuse(conversation_id: str, client_key: str, inp: Input) -> None:
    """422 when the key was used before for another call; nothing when it is new or the same call again."""
    seen: Any = db.session.scalar(select(TranscriptEntry.activity).where(
        TranscriptEntry.conversation_id == conversation_id, TranscriptEntry.client_key == client_key))
    if seen is not None and seen.get("value") != {"dialog": inp.dialog, "value": inp.value, "clear": inp.clear}:
        raise UnprocessableEntity(f"The {IDEMPOTENCY_HEADER} was used before for another call (another dialog, mode "
                                  f"or body); use a new key for a new call.")
