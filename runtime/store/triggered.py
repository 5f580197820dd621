"""Conversations a trigger began: the trigger API reaches a webchat user who has no conversation yet by starting
one, and the user's next connection opens it, so the dialog is delivered when they come (a webchat can only
show what is in the conversation its page holds).

Such a conversation is told apart by its transcript, with no column of its own: every trigger's inbound entry
carries a client key starting `trigger:`, and while no other inbound entry (the user's own message or event)
exists the user has not spoken there, so their next connection resumes it rather than opening another.
"""

from __future__ import annotations

import uuid

from sqlalchemy import exists, or_, select

from runtime.extensions import db
from runtime.store.models import BotUser, Conversation, TranscriptEntry
from runtime.store.retry import in_transaction

PREFIX = "trigger:"


def client_key(idempotency_key: str | None) -> str:
    """The client key of a trigger's inbound entry: from the caller's Idempotency-Key, else one of its own."""
    return f"{PREFIX}{idempotency_key}" if idempotency_key else f"{PREFIX}once:{uuid.uuid4().hex}"


def awaiting_user(bot_id: str, user_id: str, channel: str) -> Conversation | None:
    """The user's latest conversation on the channel that only triggers have spoken in, if any."""
    entry = TranscriptEntry
    inbound = (entry.conversation_id == Conversation.id) & (entry.direction == "in")
    by_trigger = entry.client_key.startswith(PREFIX, autoescape=True)
    found = (select(Conversation)
             .where(Conversation.bot_id == bot_id, Conversation.user_id == user_id, Conversation.channel == channel,
                    exists().where(inbound, by_trigger),
                    ~exists().where(inbound, or_(entry.client_key.is_(None), ~by_trigger)))
             .order_by(Conversation.created_at.desc()).limit(1))
    return db.session.scalars(found).first()


def merge_user_data(bot_id: str, user_id: str, data: dict) -> None:
    """The page's user data, merged into the user's as a new conversation's start does."""
    if not data:
        return

    def attempt() -> None:
        user = db.session.get(BotUser, (bot_id, user_id))
        user.data = {**user.data, **data}

    in_transaction(attempt)
