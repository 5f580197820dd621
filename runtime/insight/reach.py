"""Counts drawn on the tree: per step, the conversations that reached it and those that stopped there.

Reach comes from the step visits every turn appends (`StepVisit`, one row per step a turn ran). A
month of a busy bot is millions of visits, so complete days are rolled up once into `StepDay` (a row per
bot, day and step; a day over is never changed again) and a month's counts read some hundred rows; only
today is counted from the visits themselves. A conversation is counted once per day it reached a step.

Where conversations stopped is read from the conversations themselves: those of the period (by their
last activity) still waiting at a step, grouped by that step.

Split by the visitor's language (`Language`), reach is counted from the visits of the conversations in that
language, joined to them, not from the rollup: a slower read, asked for only when someone splits.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import ColumnElement, and_, func, insert, or_, select

from runtime.extensions import db
from runtime.store.models import Conversation, StepDay, StepDayDone, StepVisit
from runtime.store.retry import in_transaction

from .period import Period, as_date, day_of


@dataclass(frozen=True)
class StepCount:
    reached: int = 0  # conversations that ran the step (once per day)
    stopped: int = 0  # conversations of the period now waiting at it

    @property
    def drop_off(self) -> float:
        """The share of those who reached the step and stopped there (0 to 1)."""
        return min(1.0, self.stopped / self.reached) if self.reached else 0.0


@dataclass(frozen=True)
class Language:
    """The conversations in one language; those of a bot of one language (no language kept) count as its
    `default`."""

    language: str
    default: str

    def matches(self) -> ColumnElement:
        kept = language_of()
        return or_(kept == self.language, kept.is_(None)) if self.language == self.default else \
            kept == self.language


def language_of() -> ColumnElement:
    """A conversation's language, as SQL: the one its state keeps (a bot of several languages), or NULL."""
    return Conversation.state["language"].as_string()


def tree_counts(bot_id: str, period: Period, *, today: date | None = None,
                language: Language | None = None) -> dict[str, StepCount]:
    """Per step id: reached and stopped, for the period (in one language). Steps nobody reached are left out."""
    reached = reach_in(bot_id, period, language) if language else reach(bot_id, period, today=today)
    stopped = stops(bot_id, period, language)
    return {step: StepCount(reached.get(step, 0), stopped.get(step, 0)) for step in reached.keys() | stopped.keys()}


def reach(bot_id: str, period: Period, *, today: date | None = None) -> Counter:
    """Conversations per step that reached it, summed over the period's days."""
    today = today or datetime.now(UTC).date()
    complete = [day for day in period.days() if day < today]
    if complete:
        _roll_up(bot_id, complete)
    counts: Counter = Counter()
    if complete:
        rows = db.session.execute(
            select(StepDay.step_id, func.sum(StepDay.conversations))
            .where(StepDay.bot_id == bot_id, StepDay.day >= complete[0], StepDay.day <= complete[-1])
            .group_by(StepDay.step_id))
        counts.update({step: int(n) for step, n in rows})
    if period.last >= today:
        counts.update(_count_day(bot_id, today))
    return counts


def reach_in(bot_id: str, period: Period, language: Language) -> Counter:
    """As `reach`, for the conversations in one language: counted from their visits, once a day each."""
    day = day_of(StepVisit.at, db.session.get_bind().dialect.name)
    rows = db.session.execute(
        select(StepVisit.step_id, day, func.count(StepVisit.conversation_id.distinct()))
        .join(Conversation, Conversation.id == StepVisit.conversation_id)
        .where(StepVisit.bot_id == bot_id, StepVisit.at >= period.start, StepVisit.at < period.end,
               language.matches())
        .group_by(StepVisit.step_id, day))
    counts: Counter = Counter()
    for step, _, n in rows:
        counts[step] += n
    return counts


def stops(bot_id: str, period: Period, language: Language | None = None) -> Counter:
    """Conversations whose last activity falls in the period and that wait at a step, per step."""
    waiting = Conversation.waiting_step
    query = (select(waiting, func.count())
             .where(Conversation.bot_id == bot_id, Conversation.updated_at >= period.start,
                    Conversation.updated_at < period.end, waiting.is_not(None))
             .group_by(waiting))
    if language:
        query = query.where(language.matches())
    return Counter({step: n for step, n in db.session.execute(query)})


def _count_day(bot_id: str, day: date) -> dict[str, int]:
    start = datetime.combine(day, time.min, UTC)
    rows = db.session.execute(
        select(StepVisit.step_id, func.count(StepVisit.conversation_id.distinct()))
        .where(StepVisit.bot_id == bot_id, StepVisit.at >= start, StepVisit.at < start + timedelta(days=1))
        .group_by(StepVisit.step_id))
    return {step: n for step, n in rows}


def _roll_up(bot_id: str, days: list[date]) -> None:
    """Write `StepDay` rows for the complete days not rolled up yet (each day in its own transaction)."""
    done = {as_date(d) for d in db.session.scalars(
        select(StepDayDone.day).where(and_(StepDayDone.bot_id == bot_id, StepDayDone.day >= days[0],
                                           StepDayDone.day <= days[-1])))}
    for day in days:
        if day in done:
            continue

        def roll(day: date = day) -> None:
            if db.session.get(StepDayDone, (bot_id, day)) is not None:
                return  # another process rolled it up meanwhile
            rows = [{"bot_id": bot_id, "day": day, "step_id": step, "conversations": n}
                    for step, n in _count_day(bot_id, day).items()]
            if rows:
                db.session.execute(insert(StepDay), rows)
            db.session.add(StepDayDone(bot_id=bot_id, day=day))

        in_transaction(roll)
