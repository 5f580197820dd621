"""Prepared statements (run on the driver) write and read what SQLAlchemy's Core and ORM write and read,
on SQLite and on PostgreSQL (DATABASE_URL)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from runtime.extensions import db
from runtime.store.bots import import_bot
from runtime.store.models import NlpLogEntry, TranscriptEntry
from runtime.store.prepared import Prepared
from runtime.store.retry import is_conflict
from runtime.turns.turn import start_conversation

_transcript, _nlp = TranscriptEntry.__table__, NlpLogEntry.__table__
INSERT = Prepared(insert(_transcript))
SELECT = Prepared(select(_transcript.c.seq, _transcript.c.activity, _transcript.c.created_at)
                  .where(_transcript.c.conversation_id == bindparam("conversation_id"), _transcript.c.direction == "in")
                  .order_by(_transcript.c.seq))
UPDATE = Prepared(update(_transcript).where(_transcript.c.conversation_id == bindparam("where_id"),
                                            _transcript.c.seq == bindparam("where_seq")))
MOMENT = datetime(2026, 11, 22, 5, 30, 1, 123456, tzinfo=UTC)


@pytest.fixture
def conversation_id(app):
    with app.app_context():
        import_bot({"format": 1, "id": "p", "name": "P", "start": "main", "dialogs": [
            {"id": "main", "steps": [{"id": "ask", "type": "question", "text": "Hi?", "storage": "x"}]}]},
            publish=True)
        conversation, _ = start_conversation("p", "u1", "directline")
        yield conversation.id


def row(conversation_id: str, seq: int, key: str | None = None) -> dict:
    return {"conversation_id": conversation_id, "seq": seq, "direction": "in", "client_key": key,
            "activity": {"type": "message", "text": f"ünïcode {seq}", "value": {"n": [seq, None, True]}},
            "created_at": MOMENT}


def test_rows_written_on_the_driver_read_back_alike_through_the_orm_and_prepared(conversation_id):
    connection = db.session.connection()
    INSERT.write_many(connection, [row(conversation_id, 10), row(conversation_id, 11)])
    assert UPDATE.write(connection, {"activity": {"edited": True}, "where_id": conversation_id, "where_seq": 11}) == 1
    assert UPDATE.write(connection, {"activity": {}, "where_id": conversation_id, "where_seq": 99}) == 0
    db.session.commit()

    entries = db.session.scalars(select(TranscriptEntry).where(TranscriptEntry.conversation_id == conversation_id,
                                                               TranscriptEntry.seq >= 10)
                                 .order_by(TranscriptEntry.seq)).all()
    assert [(e.activity, e.created_at) for e in entries] == [(row(conversation_id, 10)["activity"], MOMENT),
                                                             ({"edited": True}, MOMENT)]
    read = SELECT.rows(db.session.connection(), {"conversation_id": conversation_id})
    assert [(r.seq, r.activity, r.created_at) for r in read] == [(e.seq, e.activity, e.created_at) for e in entries]


def test_columns_left_out_get_their_python_defaults(conversation_id):
    Prepared(insert(_nlp)).write(db.session.connection(), {
        "bot_id": "p", "user_id": "u1", "conversation_id": conversation_id, "dialog_id": "main", "step_id": "ask",
        "step_type": "question", "query": "what?"})
    db.session.commit()
    entry = db.session.scalars(select(NlpLogEntry)).one()
    assert (entry.model_id, entry.processed, entry.query) == ("fuzzy", False, "what?")
    assert entry.timestamp is not None


def test_a_taken_unique_key_raises_sqlalchemys_integrity_error_which_the_store_retries(conversation_id):
    connection = db.session.connection()
    INSERT.write(connection, row(conversation_id, 20, key="k"))
    with pytest.raises(IntegrityError) as raised:
        INSERT.write(connection, row(conversation_id, 21, key="k"))
    assert is_conflict(raised.value)
    db.session.rollback()
