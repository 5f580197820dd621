"""Timers of `wait` steps: the engine's `timer.start` becomes a job scheduled at the deadline, `timer.cancel`
unschedules it, and the job hands the conversation `Input.timeout(step)`.

The job id is made from the conversation and the step, so a cancel finds it and a wait entered again
replaces its old timer. A timer that fires anyway after the conversation moved on (a cancel that lost a
race, a step left by a trigger) does nothing: `fire` checks the conversation still waits on the step, and
the engine ignores a timeout for a step nobody waits on. A timer
times a wait out at most once: its input carries a client key, so a job retried after a crash does not
apply the timeout twice.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from flask import Flask
from redis.exceptions import RedisError
from rq import Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job

from runtime.extensions import db
from runtime.jobs.context import in_app
from runtime.jobs.queue import connection, enqueue
from runtime.steps.base import Input
from runtime.store import conversations
from runtime.store.models import Conversation

log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    conversations.effects_ready.connect(on_effects)  # a module-level function: connected once


def job_id(conversation_id: str, step_id: str) -> str:
    """RQ ids allow letters, digits, _ and -: the step id (which may hold . and :) goes in hex."""
    return f"timer-{conversation_id}-{step_id.encode().hex()}"


def on_effects(app: Flask, *, conversation_id: str, effects: list[dict]) -> None:
    """Subscriber of `effects_ready`: start and cancel the timers a committed turn asked for, in order."""
    for effect in effects:
        if effect["type"] not in ("timer.start", "timer.cancel"):
            continue
        try:
            cancel(conversation_id, effect["step"])
            if effect["type"] == "timer.start":
                due = datetime.now(UTC) + timedelta(seconds=effect["seconds"])
                enqueue("runtime.jobs.timers.fire", conversation_id, effect["step"], due.timestamp(),
                        job_id=job_id(conversation_id, effect["step"]), at=due, retry=Retry(max=3, interval=10))
        except RedisError:
            log.exception("conversation %s: could not carry out %s for step %s (Redis unavailable); "
                          "the step waits for its event only", conversation_id, effect["type"], effect["step"])


def cancel(conversation_id: str, step_id: str) -> None:
    try:
        Job.fetch(job_id(conversation_id, step_id), connection=connection()).delete()
    except NoSuchJobError:
        pass


@in_app
def fire(conversation_id: str, step_id: str, due: float) -> bool:
    """The deadline passed: time the step out if the conversation still waits on it. True if it did."""
    conversation = db.session.get(Conversation, conversation_id, populate_existing=True)
    db.session.commit()
    waiting = (conversation.state or {}).get("waiting") if conversation else None
    if not waiting or waiting.get("step") != step_id:
        return False
    try:
        conversations.handle(conversation_id, Input.timeout(step_id), client_key=f"timer:{step_id}:{due:.3f}")
    except conversations.ConversationNotFound:
        return False
    return True
