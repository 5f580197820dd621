"""The management API's tables: function keys, and the logs its exports read (snapshots, e-mails, SMS, clicks).

The logs share their first columns and index through `LogRow` (see there why they have no foreign keys).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from runtime.extensions import db
from runtime.store.models import BigId, LogRow, UTCDateTime, utcnow


class FunctionKey(db.Model):
    """A secret that opens one bot's management API. Only its SHA-256 digest is kept (see `keys`)."""

    __tablename__ = "function_keys"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    bot_id: Mapped[str] = mapped_column(ForeignKey("bots.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class UserDataSnapshot(LogRow, db.Model):
    """The user data a `clear-data` step kept before clearing it (the `userDataSnapshot` export)."""

    __tablename__ = "user_data_snapshots"

    step_id: Mapped[str | None] = mapped_column(String(200))
    data: Mapped[dict] = mapped_column(JSON)


class OutgoingEmail(LogRow, db.Model):
    """An e-mail an `email` step sent (or is sending): the `outgoingEmail` export and the job's state."""

    __tablename__ = "outgoing_emails"
    listed_by_id = True  # the designer's Messages sent page

    step_id: Mapped[str | None] = mapped_column(String(200))
    sender: Mapped[str | None] = mapped_column(String(320))
    recipients: Mapped[list] = mapped_column(JSON)
    reply_to: Mapped[str | None] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)  # queued | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)  # why it failed, or on a sent one the recipients refused


class OutgoingSms(LogRow, db.Model):
    """A text message an `sms` step sent (or is sending) through the bot's provider: the `outgoingSms` export."""

    __tablename__ = "outgoing_sms"
    listed_by_id = True  # the designer's Messages sent page

    step_id: Mapped[str | None] = mapped_column(String(200))
    channel: Mapped[str | None] = mapped_column(String(32))  # the channel of the conversation that sent it
    provider: Mapped[str] = mapped_column(String(50))
    recipients: Mapped[list] = mapped_column(JSON)
    message: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(Text)  # the first web address in the message, if any
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)  # queued | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    provider_id: Mapped[str | None] = mapped_column(String(100))
    error: Mapped[str | None] = mapped_column(Text)


class UrlClick(LogRow, db.Model):
    """A click on a URL button, logged by the tracking redirect (the `urlTracker` export)."""

    __tablename__ = "url_clicks"

    step_id: Mapped[str | None] = mapped_column(String(200))
    domain: Mapped[str] = mapped_column(String(255))
    url: Mapped[str] = mapped_column(Text)
