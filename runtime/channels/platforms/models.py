"""The tables of the platform channel: a bot's connections to messaging platforms, and the conversation
each platform user is in.

A connection's outbound side (address, reply credentials, active or not, failures in a row) is a
delivery target of `runtime.webhooks` (`WebhookSubscription` of kind `platform`), so replies share the
webhooks' queue, order, retry rules and delivery log; the connection adds what is its own.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from runtime.extensions import db
from runtime.store.models import BigId, UTCDateTime, utcnow

BOT, AGENT, BOT_FIRST = "bot", "agent", "bot-first"
RULES = (BOT, AGENT, BOT_FIRST)


class PlatformConnection(db.Model):
    """One messaging platform a bot is reachable through, at `/b/<bot>/hooks/<slug>`."""

    __tablename__ = "platform_connections"
    __table_args__ = (UniqueConstraint("bot_id", "slug"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    bot_id: Mapped[str] = mapped_column(ForeignKey("bots.id", ondelete="CASCADE"), index=True)
    slug: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    rule: Mapped[str] = mapped_column(String(16), default=BOT_FIRST)
    # Which wire format the platform speaks (`adapters`): arbor (Arbor's own JSON), webex-connect, twilio.
    kind: Mapped[str] = mapped_column(String(24), default="arbor", server_default="arbor")
    settings: Mapped[dict | None] = mapped_column(JSON)  # the adapter's plain settings (a phone number, a URL)
    sealed: Mapped[str | None] = mapped_column(Text)  # the adapter's secrets, sealed (an auth token)
    # The outbound side; deleting it deletes the connection.
    target_id: Mapped[str] = mapped_column(ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PlatformThread(db.Model):
    """A platform user's conversation with the bot: one per (asset, user, service, bot) while it is open.

    `open_key` (a digest of the four) is set while the conversation goes on and cleared when the bot ended
    it, so the unique index allows one open conversation per combination, and any number of closed ones.
    """

    __tablename__ = "platform_threads"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    connection_id: Mapped[str] = mapped_column(ForeignKey("platform_connections.id", ondelete="CASCADE"), index=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), unique=True)
    service: Mapped[str] = mapped_column(String(100))
    channel: Mapped[str] = mapped_column(String(40))
    asset_id: Mapped[str] = mapped_column(String(200))
    user_address: Mapped[str] = mapped_column(String(200))
    open_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    # While agents hold the conversation on a platform that gives them a conversation id of their own (Webex
    # Connect's CCSP), the digest of that id: its events reach this conversation too.
    agent_key: Mapped[str | None] = mapped_column(String(64), unique=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PlatformInboundId(db.Model):
    """An inbound id (a platform's message id) a connection applied, and where: a repeat of it is applied once,
    whatever became of the conversation since (`inbound_ids`). Kept for `inbound_ids.KEEP` at least."""

    __tablename__ = "platform_inbound_ids"
    __table_args__ = (UniqueConstraint("connection_id", "inbound_id"), Index(None, "created_at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    connection_id: Mapped[str] = mapped_column(ForeignKey("platform_connections.id", ondelete="CASCADE"))
    inbound_id: Mapped[str] = mapped_column(String(220))
    conversation_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
