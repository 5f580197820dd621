"""Saving the designer's edits to a bot's draft: one revision at a time, never over someone else's save.

Every save names the draft revision it was made on; when the draft has moved on since (another tab,
another person), the save is refused with `StaleDraft` instead of silently overwriting their work.
Each save keeps the document it replaced in `draft_edits`, so the last changes can be undone. The
draft may hold validation problems while it is being built (the designer shows them); publishing
refuses a draft with errors (`bots.publish` checks).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, case, delete, insert, literal, select, update
from sqlalchemy.orm import Mapped, mapped_column

from runtime.extensions import db
from runtime.store.bots import get_bot
from runtime.store.models import BigId, Bot, UTCDateTime, utcnow

KEEP_EDITS = 30  # how many changes back "undo" reaches


class DraftEdit(db.Model):
    """The draft as it was before one saved change: what undo goes back to."""

    __tablename__ = "draft_edits"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    bot_id: Mapped[str] = mapped_column(ForeignKey("bots.id", ondelete="CASCADE"), index=True)
    document: Mapped[dict] = mapped_column(JSON)
    label: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(255))
    revision: Mapped[int] = mapped_column(Integer)


class StaleDraft(Exception):
    """The draft changed since the editor loaded it."""

    def __init__(self, bot_id: str, revision: int):
        super().__init__(f"Bot '{bot_id}' was changed elsewhere (now at revision {revision}); "
                         f"reload to see the latest version before editing.")
        self.bot_id, self.revision = bot_id, revision


def load_draft(bot_id: str) -> tuple[dict, int]:
    """The draft document and its revision (BotNotFound when there is no such bot)."""
    row = db.session.execute(select(Bot.draft, Bot.draft_revision).where(Bot.id == bot_id)).first()
    if row is None:
        get_bot(bot_id)  # raises BotNotFound
    return row.draft, row.draft_revision


def save_draft(bot_id: str, doc: dict, revision: int, *, label: str, by: str | None = None) -> int:
    """Save `doc` as the draft made on `revision`; returns the new revision, or raises StaleDraft.

    The replaced document is copied into the undo history inside the database (INSERT ... SELECT), so a
    large draft is not serialized twice per edit.
    """
    keep = select(Bot.id, Bot.draft, literal(label[:200]), literal(utcnow(), UTCDateTime), literal(by, String),
                  Bot.draft_revision).where(Bot.id == bot_id, Bot.draft_revision == revision)
    db.session.execute(insert(DraftEdit).from_select(
        ["bot_id", "document", "label", "created_at", "created_by", "revision"], keep))
    name = str(doc.get("name") or bot_id)[:200]
    done = db.session.execute(
        update(Bot).where(Bot.id == bot_id, Bot.draft_revision == revision)
        .values(draft=doc, draft_revision=revision + 1, name=name, updated_at=utcnow()))
    if done.rowcount != 1:
        db.session.rollback()
        raise StaleDraft(bot_id, load_draft(bot_id)[1])
    _trim(bot_id)
    db.session.commit()
    return revision + 1


def last_edit(bot_id: str) -> DraftEdit | None:
    """The change undo would take back, if any."""
    return db.session.scalar(select(DraftEdit).where(DraftEdit.bot_id == bot_id).order_by(DraftEdit.id.desc()))


def undo_label(bot_id: str) -> str | None:
    """What undo would take back (the last change's label), without loading the document; None if nothing."""
    return db.session.scalar(select(DraftEdit.label).where(DraftEdit.bot_id == bot_id)
                             .order_by(DraftEdit.id.desc()).limit(1))


def undo(bot_id: str, revision: int) -> tuple[int, str] | None:
    """Put the draft back as it was before its last change; (new revision, what was undone) or None.

    Raises StaleDraft when the draft is not at `revision`.
    """
    edit = last_edit(bot_id)
    if edit is None:
        return None
    label = edit.label
    live = case((Bot.published_revision == edit.revision, revision + 1), else_=Bot.published_revision)
    done = db.session.execute(update(Bot).where(Bot.id == bot_id, Bot.draft_revision == revision)
                              .values(draft=edit.document, draft_revision=revision + 1, published_revision=live,
                                      name=str(edit.document.get("name") or bot_id)[:200], updated_at=utcnow()))
    if done.rowcount != 1:
        db.session.rollback()
        raise StaleDraft(bot_id, load_draft(bot_id)[1])
    db.session.delete(edit)
    db.session.commit()
    return revision + 1, label


def _trim(bot_id: str) -> None:
    keep = select(DraftEdit.id).where(DraftEdit.bot_id == bot_id).order_by(DraftEdit.id.desc()).limit(KEEP_EDITS)
    db.session.execute(delete(DraftEdit).where(DraftEdit.bot_id == bot_id, DraftEdit.id.not_in(keep.scalar_subquery())))
