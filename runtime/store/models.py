"""The tables: bots and their immutable versions, users' data, conversations and their transcripts, logs.

Documents, user data and positions are JSON columns (`sqlalchemy.JSON`), so the same models run on
SQLite and PostgreSQL. Rows that two turns may write at once carry a version column: an update
applies only if nobody else changed the row meanwhile (SQLAlchemy checks it for ORM writes; the turn's
hot path in `runtime.turns.turn` writes with Core statements that check it themselves).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from runtime.extensions import db


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime on every database (SQLite hands back naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is not None and dialect.name == "sqlite":
            return value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# SQLite makes only INTEGER PRIMARY KEY columns auto-increment.
BigId = BigInteger().with_variant(Integer, "sqlite")


class Bot(db.Model):
    """A bot: its editable draft document, which version runs, and its settings."""

    __tablename__ = "bots"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Deferred: a draft may be megabytes, and most reads of a bot (settings, the version it runs) need none of it.
    draft: Mapped[dict] = mapped_column(JSON, deferred=True)
    # Bumped on every save of the draft, so the designer can tell that someone else saved meanwhile.
    draft_revision: Mapped[int] = mapped_column(Integer, default=0)
    published_version: Mapped[int | None] = mapped_column(Integer)
    # The draft revision whose document is the live version: the header's "Published" / "Unpublished changes"
    # without loading either document (none for bots published before it was kept).
    published_revision: Mapped[int | None] = mapped_column(Integer)
    settings: Mapped[dict] = mapped_column(JSON, default=dict)
    # The e-mail of the designer user who made the bot (like draft_edits.created_by); none for bots from the
    # CLI or the examples. Who may open the bot is in bot_access (store/bot_access.py).
    created_by: Mapped[str | None] = mapped_column(String(255))


class BotVersion(db.Model):
    """A published document. Never changed once written: conversations and logs refer to it."""

    __tablename__ = "bot_versions"
    __table_args__ = (UniqueConstraint("bot_id", "number"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    bot_id: Mapped[str] = mapped_column(ForeignKey("bots.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    document: Mapped[dict] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(255))


@event.listens_for(BotVersion, "before_update")
def _refuse_version_update(mapper, connection, target: BotVersion) -> None:
    raise ValueError(f"bot version {target.bot_id}/{target.number} is published and cannot change")


class BotUser(db.Model):
    """One user of one bot: the user data (all storages) shared by the user's conversations."""

    __tablename__ = "bot_users"

    bot_id: Mapped[str] = mapped_column(ForeignKey("bots.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version_id: Mapped[int] = mapped_column(Integer)

    __mapper_args__ = {"version_id_col": version_id}


class Conversation(db.Model):
    """One user talking with one bot on one channel: the position in the bot and the transcript length."""

    __tablename__ = "conversations"
    __table_args__ = (
        ForeignKeyConstraint(["bot_id", "user_id"], ["bot_users.bot_id", "bot_users.user_id"],
                             ondelete="CASCADE"),
        Index(None, "bot_id", "user_id"),
        Index(None, "bot_id", "created_at"),  # analytics: conversations per day
        Index(None, "bot_id", "updated_at", "waiting_step"),  # analytics: where conversations of a period stopped
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    bot_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(255))
    channel: Mapped[str] = mapped_column(String(32))
    state: Mapped[dict] = mapped_column(JSON)
    # The step the conversation waits at (state["waiting"]["step"]), or None: where it stopped, for analytics.
    waiting_step: Mapped[str | None] = mapped_column(String(200))
    # The published version number the last turn ran; 0 = the draft (designer preview).
    bot_version: Mapped[int] = mapped_column(Integer)
    # The last transcript sequence number: the Direct Line watermark.
    activity_seq: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The timestamp of the last transcript activity; the next ones are stamped later than it.
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The open handover session (`HandoverSession.id`): while set, the user's messages go to agents, not the bot.
    handover_id: Mapped[str | None] = mapped_column(String(32))
    version_id: Mapped[int] = mapped_column(Integer)

    __mapper_args__ = {"version_id_col": version_id}


class HandoverSession(db.Model):
    """One stretch of a conversation handed to people: waiting in a queue, then one agent's, then closed.

    Its id is the agent-conversation id contact-centre software sees; every handover gets a new one while the
    bot's conversation id stays. Status moves waiting -> active -> closed only, by conditional updates, so of
    two agents accepting at once exactly one wins.
    """

    __tablename__ = "handover_sessions"
    __table_args__ = (Index(None, "bot_id", "status", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    bot_id: Mapped[str] = mapped_column(String(64))
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[str] = mapped_column(String(255))
    channel: Mapped[str] = mapped_column(String(32))
    queue: Mapped[str | None] = mapped_column(String(100))
    # The handover step that waits for the agent to close (None when a connection's rule opened the session).
    step_id: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="waiting")
    agent_id: Mapped[str | None] = mapped_column(String(255))
    agent_name: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Who closed it: the agent's name, or "timeout" / "bot" (the reason says which; an agent may be named so).
    closed_by: Mapped[str | None] = mapped_column(String(255))
    # Why it closed: "agent" (an agent or the API closed it), "timeout" (nobody accepted within `timeout`),
    # "trigger" (the bot took the conversation back for a trigger); None while open.
    close_reason: Mapped[str | None] = mapped_column(String(16))
    # Seconds the handover step waits for an agent to accept before the bot goes on; None: it waits until
    # someone acts.
    timeout: Mapped[int | None] = mapped_column(Integer)


class TranscriptEntry(db.Model):
    """One activity of a conversation, as sent or received, stamped; `seq` orders the transcript.

    The unique keys are the last guard of the turn rules: no two activities at one place,
    no inbound activity (by its client id) applied twice.
    """

    __tablename__ = "transcript_entries"
    __table_args__ = (
        UniqueConstraint("conversation_id", "seq"),
        UniqueConstraint("conversation_id", "client_key"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    direction: Mapped[str] = mapped_column(String(3))  # "in" | "out"
    activity: Mapped[dict] = mapped_column(JSON)
    client_key: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class LogRow:
    """The columns every exported log shares: a row id, the bot and the user it is about, and when.

    Plain columns without foreign keys: a log outlives the user it names (a `clear-data` step, a deleted
    conversation) and is written on hot paths. Indexed by (bot_id, timestamp), the order and range exports read,
    and by (bot_id, id) where the designer lists a bot's rows newest first a page at a time (`listed_by_id`).
    """

    listed_by_id: ClassVar[bool] = False

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    bot_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(255))
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @declared_attr.directive
    def __table_args__(cls) -> tuple:
        by_id = (Index(None, "bot_id", "id"),) if cls.listed_by_id else ()
        return (Index(None, "bot_id", "timestamp"), *by_id)


class NlpLogEntry(LogRow, db.Model):
    """A user input the bot did not understand (exported as the `nlpLog`, reviewed to improve the bot)."""

    __tablename__ = "nlp_log"

    conversation_id: Mapped[str] = mapped_column(String(32))
    dialog_id: Mapped[str | None] = mapped_column(String(200))
    step_id: Mapped[str | None] = mapped_column(String(200))
    step_type: Mapped[str | None] = mapped_column(String(50))
    query: Mapped[str | None] = mapped_column(Text)
    model_id: Mapped[str] = mapped_column(String(100), default="fuzzy")
    intent: Mapped[str | None] = mapped_column(String(200))
    result: Mapped[dict | None] = mapped_column(JSON)
    processed: Mapped[bool] = mapped_column(default=False)


class FuzzyQaLogEntry(LogRow, db.Model):
    """One FAQ match: what the user typed, the best question (`intent`) and its score, whether it was
    answered, and the other candidates with their scores (exported as the `fuzzyQuestionAnswerLog`)."""

    __tablename__ = "fuzzy_qa_log"

    conversation_id: Mapped[str] = mapped_column(String(32))
    intent: Mapped[str | None] = mapped_column(String(500))
    score: Mapped[float] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text)
    step_id: Mapped[str | None] = mapped_column(String(200))
    dialog_id: Mapped[str | None] = mapped_column(String(200))
    matched: Mapped[bool] = mapped_column(Boolean)
    other_classifications: Mapped[list] = mapped_column(JSON, default=list)  # [{"intent", "score"}]
    processed: Mapped[bool] = mapped_column(Boolean, default=False)  # learnt from (see runtime.insight.misses)


class StepVisit(db.Model):
    """A step a conversation ran, once per turn: what analytics counts reach on the tree from.

    Append-only (no row two turns contend for); `analytics` rolls complete days up into `StepDay`.
    """

    __tablename__ = "step_visits"
    __table_args__ = (Index(None, "bot_id", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    bot_id: Mapped[str] = mapped_column(String(64))
    conversation_id: Mapped[str] = mapped_column(String(32))
    step_id: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StepDay(db.Model):
    """Per bot, day (UTC) and step: how many conversations reached the step. Written for complete days only,
    which never change again, so the tree's counts for a month read some hundred rows."""

    __tablename__ = "step_days"

    bot_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    step_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    conversations: Mapped[int] = mapped_column(Integer)


class StepDayDone(db.Model):
    """A day whose `StepDay` rows are written (a day with no visits has none, so this says it is done)."""

    __tablename__ = "step_days_done"

    bot_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)


class ConversationTest(db.Model):
    """A bot's conversation test: its YAML as written (the designer edits it; `runtime.testing` runs it)."""

    __tablename__ = "conversation_tests"

    bot_id: Mapped[str] = mapped_column(ForeignKey("bots.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    yaml: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
