"""A bot's "Messages sent" page: the e-mails and SMS its `email` and `sms` steps sent or tried to send, with the
status and reason the outbox wrote on each row (`runtime.messaging.outbox`), so the bot's owner sees why a message
did not go out without the database, the worker log or the admins' Queue page.

The two kinds live in two tables; a page merges the newest of each, newest first. Paging is by keyset, one per
table (`email` and `sms`: the smallest id of that kind shown so far), never OFFSET: a page reads at most one
screenful plus one row of each table, however many messages the bot sent. Only the subject or the start of the text
is shown, never an e-mail's body; the provider's token and the SMTP password are not on these rows at all."""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from datetime import datetime

from flask import current_app, render_template, request
from sqlalchemy import or_, select

from designer import bp
from designer.bots import get_bot_or_404
from designer.drafting import current
from runtime.botdoc.walk import steps as walk_steps
from runtime.extensions import db
from runtime.management.models import OutgoingEmail, OutgoingSms

PAGE_SIZE = 50  # DESIGNER_MESSAGES_PAGE overrides it
KINDS = {"email": OutgoingEmail, "sms": OutgoingSms}


@dataclass
class MessageRow:
    kind: str  # email | sms
    id: int
    at: datetime
    recipients: list
    text: str  # the subject of an e-mail, the text of an SMS
    status: str  # queued | sent | failed
    reason: str | None
    step_id: str | None


def _rows(kind: str, bot_id: str, before: int | None, problems: bool, size: int) -> list[MessageRow]:
    """The newest `size` rows of one kind with an id below `before`; for `problems` only those failed, noted (sent
    to some recipients only) or waiting for another try after a failed one: each has its reason."""
    model = KINDS[kind]
    found = select(model).where(model.bot_id == bot_id)
    if before is not None:
        found = found.where(model.id < before)
    if problems:
        found = found.where(or_(model.status == "failed", model.error.is_not(None)))
    return [MessageRow(kind, row.id, row.timestamp, row.recipients or [],
                       row.subject if kind == "email" else row.message, row.status, row.error, row.step_id)
            for row in db.session.scalars(found.order_by(model.id.desc()).limit(size))]


def messages_page(bot_id: str, before: dict[str, int | None], problems: bool,
                  size: int = PAGE_SIZE) -> tuple[list[MessageRow], dict[str, int | None] | None]:
    """One page of the bot's messages, newest first, and the keysets of the next page (None on the last page).

    Each table is read newest first by id and the two are merged by time: a page is a prefix of each table's
    order, so the next page goes on below the smallest id of each kind shown, and no row is shown twice or
    skipped even where the clocks of two workers disagree."""
    streams = [_rows(kind, bot_id, before.get(kind), problems, size + 1) for kind in KINDS]
    merged = list(heapq.merge(*streams, key=lambda row: (row.at, row.id), reverse=True))
    shown = merged[:size]
    if len(merged) <= size:
        return shown, None
    following = dict(before)
    for row in shown:
        following[row.kind] = row.id
    return shown, following


def step_dialogs(doc: dict) -> dict[str, str]:
    """Each step id of the draft with its dialog's id, to link a message to its step in the editor."""
    dialogs = doc.get("dialogs") or []
    found = {}
    for pointer, step, _ in walk_steps(doc):
        if isinstance(step, dict) and isinstance(step.get("id"), str):
            found[step["id"]] = dialogs[int(pointer.split("/")[2])].get("id")
    return found


def _before_asked() -> dict[str, int | None]:
    """The keysets in the query (`email`, `sms`); a value that is not a whole number is read as none."""
    return {kind: request.args.get(kind, type=int) for kind in KINDS}


@bp.get("/bots/<bot_id>/messages")
def messages(bot_id: str):
    bot = get_bot_or_404(bot_id)
    problems = request.args.get("problems") == "1"
    before = _before_asked()
    rows, following = messages_page(bot_id, before, problems,
                                    current_app.config.get("DESIGNER_MESSAGES_PAGE", PAGE_SIZE))
    return render_template("designer/messages.html", bot=bot, rows=rows, following=following, problems=problems,
                           paged=any(value is not None for value in before.values()),
                           steps=step_dialogs(current(bot_id)[0]))
