"""What became of a message the bot sent, as the platform tells it, kept on the transcript.

A status only moves forward: sent (the platform accepted our reply) < delivered < read. `failed` (with
the platform's description) replaces sent, and is final unless a delivered or read comes after all (the
platform retried on its side). So a Read before its Delivered, or a status repeated, changes nothing
backwards. The status stands in the outgoing activity's `channelData.delivery` (`status`, `at`,
`description`), so the transcript, the designer and the API show it with the message.

Platforms send a message's callbacks at once (delivered and read a moment apart, in any process): each update
locks the message before it reads its status (`retry.write_first`, FOR UPDATE), so the later one sees what
the first saved and neither is lost nor moves the status backwards.
"""

from __future__ import annotations

import logging

from sqlalchemy import select

from runtime.extensions import db
from runtime.store.activities import seq_of
from runtime.store.models import Conversation, TranscriptEntry, utcnow
from runtime.store.retry import in_transaction, write_first

log = logging.getLogger(__name__)
SENT, DELIVERED, READ, FAILED = "sent", "delivered", "read", "failed"
_RANK = {None: 0, SENT: 1, DELIVERED: 2, READ: 3}


def moves(current: str | None, new: str) -> bool:
    """Whether status `new` replaces `current`."""
    if new == FAILED:
        return current in (None, SENT)
    if current == FAILED:
        return new in (DELIVERED, READ)
    return _RANK[new] > _RANK[current]


def apply(message_id: str, status: str, *, description: str | None = None, bot_id: str | None = None,
          at: str | None = None) -> bool:
    """Record `status` for our message `message_id` (of bot `bot_id`, if given); whether it was applied.

    An id that names no message the bot sent (yet) is logged and ignored: a platform must not be made to
    retry it forever."""
    conversation_id, _, seq = message_id.rpartition("|")
    try:
        number = seq_of(message_id)
    except ValueError:
        number = None
    if not conversation_id or number is None:
        log.info("platform status %s for %r: not a message id of ours; ignored", status, message_id[:60])
        return False

    def update() -> bool | None:
        write_first()  # the row's lock on PostgreSQL is the FOR UPDATE below; SQLite's is the database's
        query = (select(TranscriptEntry).join(Conversation, Conversation.id == TranscriptEntry.conversation_id)
                 .where(TranscriptEntry.conversation_id == conversation_id, TranscriptEntry.seq == number,
                        TranscriptEntry.direction == "out"))
        if bot_id is not None:
            query = query.where(Conversation.bot_id == bot_id)
        row = db.session.scalars(query.with_for_update().execution_options(populate_existing=True)).first()
        if row is None:
            return None
        current = (row.activity.get("channelData") or {}).get("delivery", {}).get("status")
        if not moves(current, status):
            return False
        mark = {"status": status, "at": at or utcnow().isoformat()}
        if description:
            mark["description"] = description
        row.activity = {**row.activity, "channelData": {**(row.activity.get("channelData") or {}), "delivery": mark}}
        return True

    applied = in_transaction(update)
    if applied is None:
        log.info("platform status %s for unknown message %s; ignored", status, message_id[:60])
    return bool(applied)
