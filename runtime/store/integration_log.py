"""The integration log: every outbound call of a bot's integrations, with secrets redacted.

One row per HTTP exchange (a handler that fetches a token and then calls writes two). The column names
are the export's field names (`integrationLog` in the management API). Values are redacted before they
get here (`runtime.integrations.redaction`); bodies are cut to MAX_BODY characters.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Connection, Float, Index, Integer, String, Text, or_, select
from sqlalchemy.orm import Mapped, mapped_column

from runtime.extensions import db
from runtime.store.models import BigId, UTCDateTime, utcnow

MAX_BODY = 64 * 1024


class IntegrationLogEntry(db.Model):
    __tablename__ = "integration_log"
    __table_args__ = (Index(None, "bot_id", "timestamp"), Index(None, "bot_id", "step_id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    bot_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str | None] = mapped_column(String(255))
    conversation_id: Mapped[str | None] = mapped_column(String(32))
    step_id: Mapped[str | None] = mapped_column(String(200))
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    url: Mapped[str] = mapped_column(Text)
    method: Mapped[str] = mapped_column(String(10))
    request_headers: Mapped[dict | None] = mapped_column(JSON)
    request_body: Mapped[str | None] = mapped_column(Text)
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[float | None] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(Text)


COLUMNS = ("bot_id", "user_id", "conversation_id", "step_id", "timestamp", "url", "method", "request_headers",
           "request_body", "response_status", "response_body", "duration_ms", "error")


def insert(connection: Connection, rows: list[dict]) -> None:
    """Append redacted exchanges on `connection`, in its transaction."""
    for row in rows:
        for key in ("request_body", "response_body"):
            if row.get(key) and len(row[key]) > MAX_BODY:
                row[key] = row[key][:MAX_BODY] + "…[cut]"
    if rows:
        connection.execute(IntegrationLogEntry.__table__.insert(), rows)


def write(rows: list[dict]) -> None:
    """Append redacted exchanges in a short transaction of their own (after the call, never around it)."""
    insert(db.session.connection(), rows)
    db.session.commit()


def recent(bot_id: str, *, step_id: str | None = None, failed: bool | None = None, status: int | None = None,
           limit: int = 100) -> list[IntegrationLogEntry]:
    """A bot's latest calls, newest first, for the designer's log view: by step, failed or not, or status."""
    query = select(IntegrationLogEntry).where(IntegrationLogEntry.bot_id == bot_id)
    if step_id is not None:
        query = query.where(IntegrationLogEntry.step_id == step_id)
    if status is not None:
        query = query.where(IntegrationLogEntry.response_status == status)
    if failed is not None:
        bad = or_(IntegrationLogEntry.error.is_not(None), IntegrationLogEntry.response_status >= 400)
        query = query.where(bad if failed else ~bad)
    order = (IntegrationLogEntry.timestamp.desc(), IntegrationLogEntry.id.desc())
    return list(db.session.scalars(query.order_by(*order).limit(limit)))
