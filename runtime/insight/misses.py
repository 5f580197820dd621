"""Learning from misses: what users said that the bot did not understand, and one call to teach it.

A miss is an NLP-log row (a choice or carousel that did not match) or a fuzzy-QA-log row that was not
answered (a FAQ match under the threshold). `learn` adds its text to the bot's draft as a phrasing of a
choice option or of a FAQ question, and marks it (and the same text missed at the same step) processed;
publishing the draft puts the lesson live.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from sqlalchemy import func, select, update

from runtime.botdoc.walk import steps as walk_steps
from runtime.extensions import db
from runtime.store import bots
from runtime.store.models import FuzzyQaLogEntry, NlpLogEntry
from runtime.store.retry import in_transaction

from .period import Period

KINDS = {"nlp": NlpLogEntry, "faq": FuzzyQaLogEntry}
LOW_SCORE_OTHERS = 3  # FAQ candidates shown with a miss, to pick the question it meant


class MissError(ValueError):
    """A miss that cannot be learnt as asked (unknown miss, step or target); the message says why."""


class MissNotFound(MissError):
    """No miss of that kind and id for the bot."""


@dataclass(frozen=True)
class Miss:
    kind: str  # "nlp" or "faq"
    id: int
    text: str
    step: str | None
    dialog: str | None
    timestamp: str
    score: float | None = None  # FAQ: the best candidate's score
    candidates: tuple = ()  # FAQ: [{"intent", "score"}], best first

    def as_row(self) -> dict:
        return {"kind": self.kind, "id": self.id, "text": self.text, "step": self.step, "dialog": self.dialog,
                "timestamp": self.timestamp, "score": self.score, "candidates": list(self.candidates)}


def list_misses(bot_id: str, period: Period | None = None, *, limit: int = 200) -> list[Miss]:
    """Unprocessed misses of both kinds, newest first."""
    found = []
    for kind, model in KINDS.items():
        query = select(model).where(model.bot_id == bot_id, model.processed.is_(False))
        if kind == "faq":
            query = query.where(model.matched.is_(False))
        else:  # FAQ misses are listed as "faq" misses; an answer a question re-asked for teaches no phrasing
            query = query.where(func.coalesce(model.step_type, "").not_in(("faq", "question")))
        if period:
            query = query.where(model.timestamp >= period.start, model.timestamp < period.end)
        for row in db.session.scalars(query.order_by(model.timestamp.desc()).limit(limit)):
            found.append(_miss(kind, row))
    return sorted(found, key=lambda m: m.timestamp, reverse=True)[:limit]


def learn(bot_id: str, kind: str, miss_id: int, *, target: int, step_id: str | None = None) -> dict:
    """Add the miss's text as a phrasing of option (choice) or question (FAQ) number `target` of its step
    (or of `step_id`), save the draft and mark the miss processed; returns the new draft.

    The draft is validated as any edit is: a text some option or question already says is refused
    (botdoc.DocumentError) and nothing changes.
    """
    row = _row(bot_id, kind, miss_id)
    text = (row.query if kind == "nlp" else row.text or "").strip()
    step_id = step_id or row.step_id
    doc = copy.deepcopy(bots.get_version_doc(bot_id, bots.DRAFT))
    step = next((s for _, s, _ in walk_steps(doc) if s["id"] == step_id), None)
    if step is None:
        raise MissError(f"The draft has no step '{step_id}'; pick the step to teach.")
    items = {"choice": "options", "faq": "questions"}.get(step["type"])
    if items is None:
        raise MissError(f"The step '{step_id}' is a {step['type']} step; phrasings belong to choice and faq steps.")
    if not text:
        raise MissError("The miss has no text to learn.")
    if not 0 <= target < len(step[items]):
        raise MissError(f"The step '{step_id}' has no {items[:-1]} number {target} (it has {len(step[items])}).")
    step[items][target].setdefault("phrasings", []).append(text)
    bots.import_bot(doc)
    dismiss(bot_id, kind, miss_id)
    return doc


def dismiss(bot_id: str, kind: str, miss_id: int) -> int:
    """Mark a miss processed, with every unprocessed miss of the same text at the same step; returns how many."""
    row = _row(bot_id, kind, miss_id)
    model = KINDS[kind]
    column = model.query if kind == "nlp" else model.text
    text = (row.query if kind == "nlp" else row.text) or ""

    def mark() -> int:
        return db.session.execute(update(model).where(
            model.bot_id == bot_id, model.processed.is_(False), model.step_id == row.step_id,
            func.lower(func.trim(column)) == text.strip().lower()).values(processed=True)).rowcount

    return in_transaction(mark)


def _row(bot_id: str, kind: str, miss_id: int):
    model = KINDS.get(kind)
    if model is None:
        raise MissNotFound(f"Unknown kind of miss '{kind}'; it is 'nlp' or 'faq'.")
    row = db.session.get(model, miss_id)
    if row is None or row.bot_id != bot_id:
        raise MissNotFound(f"Bot '{bot_id}' has no {kind} miss {miss_id}.")
    return row


def _miss(kind: str, row) -> Miss:
    if kind == "nlp":
        return Miss(kind, row.id, row.query or "", row.step_id, row.dialog_id, row.timestamp.isoformat())
    candidates = ({"intent": row.intent, "score": row.score}, *(row.other_classifications or [])[:LOW_SCORE_OTHERS])
    return Miss(kind, row.id, row.text, row.step_id, row.dialog_id, row.timestamp.isoformat(), row.score,
                tuple(c for c in candidates if c.get("intent") is not None))
