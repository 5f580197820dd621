"""Which conversation a platform user's message belongs to, and applying it there.

One conversation per (asset, user on the channel, service, bot) while it goes on: the first message
opens it (the start dialog runs, then the message is applied as its first input, DESIGN §5); once the
bot ended it, the next message opens a new one. Messages of one user are applied one at a time (a Redis
lock per combination), so a message sent twice at once opens one conversation and is applied once
(its platform id is the turn's client key); a message re-sent later, even after the bot ended its
conversation, is applied once too (`inbound_ids`, per connection). The connection's rule decides who answers (`rules`).
"""

from __future__ import annotations

import hashlib
import uuid

from sqlalchemy import Connection, insert, or_, select, update

from runtime.channels.platforms import inbound_ids, rules
from runtime.channels.platforms.inbound import Routed
from runtime.channels.platforms.models import AGENT, PlatformConnection, PlatformThread
from runtime.extensions import db
from runtime.jobs import connection as redis
from runtime.store.models import Conversation, TranscriptEntry
from runtime.turns.turn import ConversationNotFound, handle, start_conversation

CHANNEL = "platform"
LOCK_SECONDS = 60


def key_of(bot_id: str, asset_id: str, user_address: str, service: str) -> str:
    """The digest that names one (bot, asset, user, service) combination."""
    return hashlib.sha256("\x1f".join((bot_id, asset_id, user_address, service)).encode()).hexdigest()


def deliver(connection: PlatformConnection, routed: Routed) -> tuple[str | None, list[dict]]:
    """Apply the user's message, postback or event to their conversation: its id, and what the bot answered
    (None and nothing: an input that opens no conversation came with none open)."""
    key = key_of(connection.bot_id, routed.asset_id, routed.user_address, routed.service)
    with redis().lock(f"arbor:platform-thread:{key}", timeout=LOCK_SECONDS, blocking_timeout=LOCK_SECONDS):
        seen = routed.client_key and inbound_ids.conversation_of(connection.id, routed.client_key)
        if seen:  # applied before, in a conversation that may have ended since: the answers given then
            try:
                return seen, handle(seen, routed.input, client_key=routed.client_key, inbound_activity=routed.activity)
            except ConversationNotFound:
                return seen, []
        conversation_id = _open_conversation(key, routed)
        if conversation_id is None and not routed.opens:
            return None, []
        if conversation_id is None and connection.rule == AGENT:
            conversation_id, _ = _start(connection, routed, key, silent=True)  # the bot does not greet
        elif conversation_id is None:
            return _start(connection, routed, key)
        if routed.client_key is None or not _applied(conversation_id, routed.client_key):
            rules.before_message(connection, conversation_id)
        said = handle(conversation_id, routed.input, client_key=routed.client_key, inbound_activity=routed.activity,
                      alongside=routed.client_key and inbound_ids.record(connection.id, routed.client_key,
                                                                         conversation_id) or None)
        return conversation_id, said


# Platforms where Arbor may write first, by the service a user id begins with: an SMS or WhatsApp message
# to a number (Twilio). Elsewhere the platform names the conversation (Webex Connect) or the address to answer
# (the Bot Framework's serviceUrl), so a user is reached once they wrote.
WRITES_FIRST = {"twilio": "twilio"}  # service -> connection kind


def begin(bot_id: str, user_id: str) -> str | None:
    """For the trigger API: open a conversation with a platform user who has none open, through the bot's one
    connection that may write first; its id (the start dialog ran, and its messages go out at once), or None."""
    service, _, address = user_id.partition(":")
    rows = db.session.scalars(select(PlatformConnection).where(
        PlatformConnection.bot_id == bot_id, PlatformConnection.kind == WRITES_FIRST.get(service, ""))).all()
    if not address or len(rows) != 1 or not (rows[0].settings or {}).get("phoneNumber"):
        return None
    connection, number = rows[0], rows[0].settings["phoneNumber"]
    whatsapp = address.startswith("whatsapp:")
    routed = Routed(service, "WHATSAPP" if whatsapp else "SMS", f"whatsapp:{number}" if whatsapp else number,
                    address, None, None, None)
    key = key_of(bot_id, routed.asset_id, address, service)
    with redis().lock(f"arbor:platform-thread:{key}", timeout=LOCK_SECONDS, blocking_timeout=LOCK_SECONDS):
        return _open_conversation(key, routed) or _start(connection, routed, key)[0]


def thread_of(conversation_id: str) -> tuple[PlatformThread, PlatformConnection] | None:
    """The platform user and connection of a conversation (None: not a platform conversation)."""
    found = db.session.execute(select(PlatformThread, PlatformConnection)
                               .join(PlatformConnection, PlatformConnection.id == PlatformThread.connection_id)
                               .where(PlatformThread.conversation_id == conversation_id)).first()
    return (found[0], found[1]) if found else None


def _applied(conversation_id: str, client_key: str) -> bool:
    """Whether the message was applied before (a repeat must not open another handover)."""
    return db.session.scalar(select(TranscriptEntry.id).where(TranscriptEntry.conversation_id == conversation_id,
                                                              TranscriptEntry.client_key == client_key)) is not None


def remember_agent_conversation(connection: PlatformConnection, conversation_id: str, service: str, asset_id: str,
                                agent_conversation: str) -> None:
    """The platform gave the agents who now hold `conversation_id` a conversation id of their own: its events
    reach the same conversation (kept in its transcript) until the agents close theirs."""
    thread = db.session.scalars(select(PlatformThread).where(PlatformThread.conversation_id == conversation_id)
                                .execution_options(populate_existing=True)).first()
    if thread is None:
        return
    key = key_of(connection.bot_id, asset_id, agent_conversation, service)
    # An id the platform gave before (to agents long done) now names this conversation only.
    db.session.execute(update(PlatformThread).where(PlatformThread.agent_key == key,
                                                    PlatformThread.id != thread.id).values(agent_key=None))
    thread.agent_key = key
    db.session.commit()


def _open_conversation(key: str, routed: Routed) -> str | None:
    """The combination's conversation, unless the bot ended it (then it is closed for good here)."""
    # An agent's conversation id names the conversation the agents were handed, else one of its own.
    found = or_(PlatformThread.agent_key == key, PlatformThread.open_key == key) if routed.agent else \
        PlatformThread.open_key == key
    thread = db.session.scalars(select(PlatformThread).where(found)
                                .execution_options(populate_existing=True)).first()
    if thread is None:
        return None
    state = db.session.scalar(select(Conversation.state).where(Conversation.id == thread.conversation_id))
    if state is not None and not state.get("ended"):
        if thread.agent_key and not routed.agent:
            # The user writes on the bot's conversation id again: the agents closed theirs on the platform.
            thread.agent_key = None
            db.session.commit()
            rules.agents_closed(thread.conversation_id)
        db.session.commit()
        return thread.conversation_id
    thread.open_key = None
    db.session.commit()
    return None


def _start(connection: PlatformConnection, routed: Routed, key: str, *,
           silent: bool = False) -> tuple[str, list[dict]]:
    """Open the combination's conversation: the start dialog runs, then the message is its first input
    (`silent`: no start dialog and no input, the caller applies the message)."""
    conversation_id = uuid.uuid4().hex
    record = routed.client_key and not silent and inbound_ids.record(connection.id, routed.client_key,
                                                                      conversation_id)

    def remember(written: Connection) -> None:
        written.execute(insert(PlatformThread), {
            "connection_id": connection.id, "conversation_id": conversation_id, "service": routed.service,
            "channel": routed.channel, "asset_id": routed.asset_id, "user_address": routed.user_address,
            "open_key": key})
        if record:
            record(written)

    _, said = start_conversation(connection.bot_id, f"{routed.service}:{routed.user_address}", CHANNEL,
                                 first=None if silent else routed.input, client_key=routed.client_key,
                                 inbound_activity=routed.activity, alongside=remember, silent=silent,
                                 conversation_id=conversation_id)
    return conversation_id, said
