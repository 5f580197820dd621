"""The inbound ids each connection applied: a platform's message re-sent with an id seen before is applied
once, whatever became of the conversation since (the bot may have ended it: the repeat must not open a new
one). Kept for `KEEP` (48 hours: Webex Connect retries for an hour, Twilio for less), then pruned hourly.

The id is written in the turn's own transaction (`threads` passes `record` as the turn's `alongside`), so
an applied message and its id commit together; a repeat goes back to its conversation, where the turn's
client key returns the answers given the first time.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from sqlalchemy import Connection, delete, insert, select

from runtime.channels.platforms.models import PlatformInboundId
from runtime.extensions import db
from runtime.jobs import periodic
from runtime.store.models import utcnow

KEEP = timedelta(hours=48)


def init_app(app: Flask) -> None:
    periodic.every(app, "runtime.channels.platforms.inbound_ids.prune", 3600)


def conversation_of(connection_id: str, inbound_id: str) -> str | None:
    """The conversation the connection applied `inbound_id` in, within the window."""
    return db.session.scalar(select(PlatformInboundId.conversation_id).where(
        PlatformInboundId.connection_id == connection_id, PlatformInboundId.inbound_id == inbound_id))


def record(connection_id: str, inbound_id: str, conversation_id: str):
    """A turn's `alongside`: write the id with the turn (Core, on the turn's connection)."""
    def write(connection: Connection) -> None:
        connection.execute(insert(PlatformInboundId), {"connection_id": connection_id, "inbound_id": inbound_id,
                                                       "conversation_id": conversation_id, "created_at": utcnow()})
    return write


def prune() -> int:
    """Forget ids older than the window; how many."""
    gone = db.session.execute(delete(PlatformInboundId).where(PlatformInboundId.created_at < utcnow() - KEEP))
    db.session.commit()
    return gone.rowcount
