"""Analytics of a bot over a period: conversations per day and per language, goal completion, top NLP misses;
CSV of any of them. The tree and goal completion may be split by the visitor's language (`reach.Language`).

Each function returns plain rows (dicts) for the designer to draw and for `csv_text` to download; a
period with no data gives zeros and empty lists, never an error. Reach per step is in `reach`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import func, select

from runtime import csvfile
from runtime.extensions import db
from runtime.store.models import Conversation, NlpLogEntry

from . import reach
from .period import Period, as_date, day_of


def conversations_per_day(bot_id: str, period: Period) -> list[dict]:
    """[{"day", "conversations"}] for every day of the period (0 where none started), oldest first."""
    day = day_of(Conversation.created_at, db.session.get_bind().dialect.name)
    rows = db.session.execute(
        select(day, func.count())
        .where(Conversation.bot_id == bot_id, Conversation.created_at >= period.start,
               Conversation.created_at < period.end)
        .group_by(day))
    counts: dict[date, int] = {as_date(d): n for d, n in rows}
    return [{"day": d.isoformat(), "conversations": counts.get(d, 0)} for d in period.days()]


def conversations_per_language(bot_id: str, period: Period, default: str) -> list[dict]:
    """[{"language", "conversations"}] started in the period, most first; a bot's conversations that keep no
    language (it spoke one only) count as its `default`."""
    language = reach.language_of()
    rows = db.session.execute(
        select(language, func.count())
        .where(Conversation.bot_id == bot_id, Conversation.created_at >= period.start,
               Conversation.created_at < period.end)
        .group_by(language))
    counts: dict[str, int] = {}
    for tag, n in rows:
        counts[tag or default] = counts.get(tag or default, 0) + n
    return [{"language": tag, "conversations": n} for tag, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


def goal_completion(bot_id: str, goal_step: str, period: Period, *, today: date | None = None,
                    language: reach.Language | None = None) -> dict:
    """How many of the period's conversations (in one language) reached the goal step: {"goal", "conversations",
    "reached", "rate"} (rate 0 to 1; 0 when no conversation started)."""
    if language:
        started = next((row["conversations"] for row in conversations_per_language(bot_id, period, language.default)
                        if row["language"] == language.language), 0)
        reached = reach.reach_in(bot_id, period, language).get(goal_step, 0)
    else:
        started = sum(row["conversations"] for row in conversations_per_day(bot_id, period))
        reached = reach.reach(bot_id, period, today=today).get(goal_step, 0)
    return {"goal": goal_step, "conversations": started, "reached": reached,
            "rate": round(min(1.0, reached / started), 4) if started else 0.0}


def tree(bot_id: str, period: Period, *, today: date | None = None,
         language: reach.Language | None = None) -> list[dict]:
    """The tree's counts (in one language) as rows: [{"step", "reached", "stopped", "dropOff"}], most reached
    first."""
    counts = reach.tree_counts(bot_id, period, today=today, language=language)
    return [{"step": step, "reached": c.reached, "stopped": c.stopped, "dropOff": round(c.drop_off, 4)}
            for step, c in sorted(counts.items(), key=lambda item: (-item[1].reached, item[0]))]


def top_nlp_misses(bot_id: str, period: Period, *, limit: int = 20, include_processed: bool = False) -> list[dict]:
    """What users typed that the bot did not understand, most frequent first: [{"text", "count", "step",
    "lastSeen"}] (texts compared without case or surrounding spaces)."""
    text = func.lower(func.trim(NlpLogEntry.query))
    query = (select(text, func.count(), func.max(NlpLogEntry.step_id), func.max(NlpLogEntry.timestamp))
             .where(NlpLogEntry.bot_id == bot_id, NlpLogEntry.timestamp >= period.start,
                    NlpLogEntry.timestamp < period.end, NlpLogEntry.query.is_not(None))
             .group_by(text).order_by(func.count().desc(), text).limit(limit))
    if not include_processed:
        query = query.where(NlpLogEntry.processed.is_(False))
    return [{"text": t, "count": n, "step": step, "lastSeen": _iso(last)}
            for t, n, step, last in db.session.execute(query)]


def csv_text(rows: Iterable[dict], columns: list[str] | None = None) -> str:
    """Rows as CSV text with a header line, through Arbor's one CSV writer (formula-like cells escaped)."""
    return csvfile.csv_text(rows, columns)


def _iso(moment) -> str | None:
    if moment is None:
        return None
    return moment.isoformat() if hasattr(moment, "isoformat") else str(moment)
