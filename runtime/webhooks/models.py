"""The tables of outgoing webhooks: subscriptions, the deliveries owed to them, and every attempt made.

The database, not Redis, is the record of what is owed: a delivery row is pending until a receiver
answered 2xx or the retry rules gave up, so a lost job (a worker killed, Redis restarted) only delays
it; the sweeper finds it again (`delivery.sweep`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from runtime.extensions import db
from runtime.store.models import BigId, UTCDateTime, utcnow

ACTIVE, UNVERIFIED, INACTIVE = "active", "unverified", "inactive"
WEBHOOK, PLATFORM = "webhook", "platform"  # the kinds of delivery target
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"


class WebhookSubscription(db.Model):
    """One receiver of a bot's conversation events, with its event filter and signing secrets (sealed).

    The deliveries' target, whatever its `kind`: a `webhook` subscription, or the outbound side of a
    messaging platform connection (`runtime/channels/platforms`), which sends the conversation's replies
    with the same queue, order and retry rules; for it `secret` holds the sealed reply credentials,
    `verification_token` the digest of the inbound token, and `events` is empty.
    """

    __tablename__ = "webhook_subscriptions"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    bot_id: Mapped[str] = mapped_column(ForeignKey("bots.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16), default=WEBHOOK, server_default=WEBHOOK)
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list] = mapped_column(JSON)
    description: Mapped[str | None] = mapped_column(String(200))
    verification_token: Mapped[str] = mapped_column(Text)  # sealed
    secret: Mapped[str] = mapped_column(Text)  # sealed
    previous_secret: Mapped[str | None] = mapped_column(Text)  # sealed; still signs until previous_secret_until
    previous_secret_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default=UNVERIFIED)
    status_reason: Mapped[str | None] = mapped_column(Text)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class WebhookDelivery(db.Model):
    """One event owed to one subscription. `message_id` is the `webhook-id`, the same on every attempt;
    `body` is kept as sent, so every attempt signs the same bytes. Per conversation, deliveries go out
    in (`seq`, `id`) order."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index(None, "subscription_id", "conversation_id", "status", "seq", "id"),
        Index(None, "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    message_id: Mapped[str] = mapped_column(String(40), unique=True)
    subscription_id: Mapped[str] = mapped_column(ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"))
    conversation_id: Mapped[str] = mapped_column(String(32))
    seq: Mapped[int] = mapped_column(Integer)
    event: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    tries: Mapped[int] = mapped_column(Integer, default=0)  # attempts since it was (re)queued
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebhookAttempt(db.Model):
    """One POST of a delivery (or a handshake, with no delivery): the delivery log the designer shows."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(Integer)
