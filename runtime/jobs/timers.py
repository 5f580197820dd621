"""Timers of `wait` steps: the engine's `timer.start` becomes a job scheduled at the deadline, `timer.cancel`
unschedules it, and the job hands the conversation `Input.timeout(step)`.

The database holds each running timer (`ConversationTimer`: conversation, step, deadline); Redis only
brings it on time. So a timer outlives a Redis restarted without its data or a job lost with a killed
worker: `sweep`, every half minute, fires the timers whose deadline passed a while ago. The job id is made
from the conversation and the step, so a cancel finds it and a wait entered again replaces its old timer.
A timer that fires anyway after the conversation moved on (a cancel that lost a race, a replaced timer)
does nothing: `fire` checks that its row still stands with its deadline and that the conversation still
waits on the step; and a retried job does not apply the timeout twice (its input carries a client key).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import Flask
from redis.exceptions import RedisError
from rq import Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job
from sqlalchemy import String, delete, select
from sqlalchemy.orm import Mapped, mapped_column

from runtime.extensions import db
from runtime.jobs import periodic
from runtime.jobs.context import in_app
from runtime.jobs.queue import connection, enqueue
from runtime.steps.base import Input
from runtime.store.models import Conversation, UTCDateTime, utcnow
from runtime.turns import effects, outbox, turn
from runtime.turns.effects import Committed

log = logging.getLogger(__name__)
LATE = timedelta(seconds=30)  # a timer this far past its deadline lost its job: the sweeper fires it


class ConversationTimer(db.Model):
    __tablename__ = "conversation_timers"

    conversation_id: Mapped[str] = mapped_column(db.ForeignKey("conversations.id", ondelete="CASCADE"),
                                                 primary_key=True)
    step_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    due: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


def init_app(app: Flask) -> None:
    registry = effects.registry(app)
    registry.after_commit("timer.start", on_effect)
    registry.after_commit("timer.cancel", on_effect)
    periodic.every(app, "runtime.jobs.timers.sweep", 30)


def job_id(conversation_id: str, step_id: str) -> str:
    """RQ ids allow letters, digits, _ and -: the step id (which may hold . and :) goes in hex."""
    return f"timer-{conversation_id}-{step_id.encode().hex()}"


def on_effect(committed: Committed, effect: dict) -> None:
    """After-commit handler of `timer.start` and `timer.cancel`: the timer's row is written (or deleted) with
    the effect's outbox row; its job is (un)scheduled once that is committed."""
    conversation_id, step_id = committed.conversation.id, effect["step"]
    db.session.execute(delete(ConversationTimer).where(ConversationTimer.conversation_id == conversation_id,
                                                       ConversationTimer.step_id == step_id))
    due = committed.at + timedelta(seconds=effect.get("seconds", 0))
    if effect["type"] == "timer.start":
        db.session.add(ConversationTimer(conversation_id=conversation_id, step_id=step_id, due=due))

    def schedule() -> None:
        try:
            _unschedule(conversation_id, step_id)
            if effect["type"] == "timer.start":
                _schedule(conversation_id, step_id, due)
        except RedisError as e:  # the row stands: the sweeper fires it when Redis is back
            log.warning("conversation %s: timer of step %s kept in the database only (%s)", conversation_id,
                        step_id, e)

    outbox.later(schedule)


@in_app
def fire(conversation_id: str, step_id: str, due: float) -> bool:
    """The deadline passed: time the step out if this timer still stands and the conversation waits on it.

    The timer's row goes in the timeout's own turn: a worker killed before that turn commits leaves it standing,
    for the job's retry or the sweeper (deleted first, a killed worker lost the timer)."""
    timer = db.session.get(ConversationTimer, (conversation_id, step_id), populate_existing=True)
    if timer is None or abs(timer.due.timestamp() - due) > 0.001:
        db.session.commit()
        return False  # cancelled, or replaced by a later wait
    conversation = db.session.get(Conversation, conversation_id, populate_existing=True)
    waiting = (conversation.state or {}).get("waiting") if conversation else None
    if not waiting or waiting.get("step") != step_id:
        db.session.delete(timer)
        db.session.commit()
        return False
    done = delete(ConversationTimer).where(ConversationTimer.conversation_id == conversation_id,
                                           ConversationTimer.step_id == step_id, ConversationTimer.due == timer.due)
    db.session.commit()
    try:
        turn.handle(conversation_id, Input.timeout(step_id), client_key=f"timer:{step_id}:{due:.3f}",
                    alongside=lambda connection: connection.execute(done))
    except turn.ConversationNotFound:
        return False
    return True


@in_app
def sweep() -> int:
    """Fire the timers whose job was lost (Redis restarted, a worker killed); how many."""
    late = db.session.execute(select(ConversationTimer.conversation_id, ConversationTimer.step_id,
                                     ConversationTimer.due).where(ConversationTimer.due < utcnow() - LATE)).all()
    db.session.commit()
    for conversation_id, step_id, due in late:
        _schedule(conversation_id, step_id, due, now=True)
    return len(late)


def _schedule(conversation_id: str, step_id: str, due: datetime, *, now: bool = False) -> None:
    enqueue("runtime.jobs.timers.fire", conversation_id, step_id, due.timestamp(),
            job_id=job_id(conversation_id, step_id), at=None if now else due, retry=Retry(max=3, interval=10))


def _unschedule(conversation_id: str, step_id: str) -> None:
    try:
        Job.fetch(job_id(conversation_id, step_id), connection=connection()).delete()
    except NoSuchJobError:
        pass
