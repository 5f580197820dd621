"""The transcripts browser: find a bot's conversations by user, by a storage value or by text said."""

from __future__ import annotations

from sqlalchemy import select

from runtime.extensions import db
from runtime.store.models import BotUser, Conversation, TranscriptEntry
from runtime.turns.transcript import transcript

from .period import Period

MAX_RESULTS = 200


def search(bot_id: str, *, user: str | None = None, storage: tuple[str, str] | None = None,
           text: str | None = None, period: Period | None = None, limit: int = 50) -> list[dict]:
    """Conversations, newest first: [{"conversation", "user", "channel", "started", "lastActivity"}].

    `user`: the user id contains this; `storage`: (name, value), the user's storage equals the value
    (compared as text); `text`: a message of the conversation (user's or bot's) contains it (any case);
    `period`: the conversation was active in it. All given conditions must hold.
    """
    query = select(Conversation.id, Conversation.user_id, Conversation.channel, Conversation.created_at,
                   Conversation.updated_at).where(Conversation.bot_id == bot_id)
    if user:
        query = query.where(Conversation.user_id.contains(user, autoescape=True))
    if storage:
        name, value = storage
        query = query.join(BotUser, (BotUser.bot_id == Conversation.bot_id) & (BotUser.user_id == Conversation.user_id)
                           ).where(BotUser.data[name].as_string() == str(value))
    if text:
        said = TranscriptEntry.activity["text"].as_string()
        query = query.where(select(TranscriptEntry.id).where(
            TranscriptEntry.conversation_id == Conversation.id,
            said.ilike(f"%{_escaped(text)}%", escape="\\")).exists())
    if period:
        query = query.where(Conversation.updated_at >= period.start, Conversation.created_at < period.end)
    query = query.order_by(Conversation.updated_at.desc(), Conversation.id).limit(min(limit, MAX_RESULTS))
    return [{"conversation": cid, "user": uid, "channel": channel, "started": started.isoformat(),
             "lastActivity": last.isoformat()} for cid, uid, channel, started, last in db.session.execute(query)]


def lines(conversation_id: str) -> list[dict]:
    """A conversation as rows to show or download: [{"time", "from", "type", "text", "delivery"}], `delivery`
    being what a messaging platform last said of a message the bot sent (sent, delivered, read, failed)."""
    rows = []
    for activity in transcript(conversation_id):
        kind = activity.get("type")
        said = activity.get("text") if kind == "message" else activity.get("name")
        rows.append({"time": activity.get("timestamp"), "from": (activity.get("from") or {}).get("role"),
                     "type": kind, "text": said or "",
                     "delivery": ((activity.get("channelData") or {}).get("delivery") or {}).get("status")})
    return rows


def _escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
