"""Which conversation a platform user's message belongs to, and applying it there.

One conversation per (asset, user on the channel, service, bot) while it goes on: the first message
opens it (the start dialog runs, then the message is applied as its first input, DESIGN §5); once the
bot ended it, the next message opens a new one. Messages of one user are applied one at a time (a Redis
lock per combination), so a message sent twice at once opens one conversation and is applied once
(its platform id is the turn's client key). The connection's rule decides who answers (`rules`).
"""

from __future__ import annotations

import hashlib

from sqlalchemy import select

from runtime.channels.platforms import rules
from runtime.channels.platforms.inbound import Routed
from runtime.channels.platforms.models import AGENT, PlatformConnection, PlatformThread
from runtime.extensions import db
from runtime.jobs import connection as redis
from runtime.store.conversations import handle, start_conversation
from runtime.store.models import Conversation, TranscriptEntry

CHANNEL = "platform"
LOCK_SECONDS = 60


def deliver(connection: PlatformConnection, routed: Routed) -> tuple[str, list[dict]]:
    """Apply the user's message, postback or event to their conversation: its id, and what the bot answered."""
    key = hashlib.sha256("\x1f".join((connection.bot_id, routed.asset_id, routed.user_address,
                                      routed.service)).encode()).hexdigest()
    with redis().lock(f"arbor:platform-thread:{key}", timeout=LOCK_SECONDS, blocking_timeout=LOCK_SECONDS):
        conversation_id = _open_conversation(key)
        if conversation_id is None and connection.rule == AGENT:
            conversation_id, _ = _start(connection, routed, key, silent=True)  # the bot does not greet
        elif conversation_id is None:
            return _start(connection, routed, key)
        if routed.client_key is None or not _applied(conversation_id, routed.client_key):
            rules.before_message(connection, conversation_id)
        said = handle(conversation_id, routed.input, client_key=routed.client_key, inbound_activity=routed.activity)
        return conversation_id, said


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


def _open_conversation(key: str) -> str | None:
    """The combination's conversation, unless the bot ended it (then it is closed for good here)."""
    thread = db.session.scalars(select(PlatformThread).where(PlatformThread.open_key == key)
                                .execution_options(populate_existing=True)).first()
    if thread is None:
        return None
    state = db.session.scalar(select(Conversation.state).where(Conversation.id == thread.conversation_id))
    if state is not None and not state.get("ended"):
        db.session.commit()
        return thread.conversation_id
    thread.open_key = None
    db.session.commit()
    return None


def _start(connection: PlatformConnection, routed: Routed, key: str, *,
           silent: bool = False) -> tuple[str, list[dict]]:
    """Open the combination's conversation: the start dialog runs, then the message is its first input
    (`silent`: no start dialog and no input, the caller applies the message)."""
    def remember(conversation: Conversation) -> None:
        db.session.add(PlatformThread(connection_id=connection.id, conversation_id=conversation.id,
                                      service=routed.service, channel=routed.channel, asset_id=routed.asset_id,
                                      user_address=routed.user_address, open_key=key))

    conversation, said = start_conversation(connection.bot_id, f"{routed.service}:{routed.user_address}", CHANNEL,
                                         first=None if silent else routed.input, client_key=routed.client_key,
                                         inbound_activity=routed.activity, alongside=remember, silent=silent)
    return conversation.id, said
