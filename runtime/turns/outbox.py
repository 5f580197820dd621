"""The turns' outbox: what a committed turn still owes is a row written in the turn's own transaction.

A durable after-commit handler's work (`effects.after_commit`) is not done between the commit and a queue, where a
process that dies loses it: the turn writes one `pending_effects` row per (handler, effect) with its other rows,
so the debt exists exactly when the turn does. Then

- right after the commit the process that ran the turn carries its rows out at once (`carry_out`): no queue in
  between, so the user and the channels wait no longer than before;
- the relay (`relay`, every few seconds in the worker) hands to RQ every row older than `GRACE` (its process
  died, or its handler failed), one job per row (`run`), and again after `AGAIN` while the row stands.

A row is carried out by running its handler and deleting the row in one transaction: the handler's own rows
(a timer, an e-mail in the outbox, a webhook delivery) are written exactly once, whoever runs it and however
often; a second runner finds the row gone and rolls its work back. What a handler does outside the database
(queue a job, wake a sender) runs after that commit (`later`) and may run again on a redelivery, so
the jobs it queues are idempotent themselves (keyed by the row they send).
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from uuid import uuid4

from flask import Flask
from rq import Retry
from sqlalchemy import JSON, Connection, String, delete, insert, select, update
from sqlalchemy.orm import Mapped, mapped_column

from runtime.extensions import db
from runtime.jobs import enqueue, in_app, periodic
from runtime.store.models import Conversation, UTCDateTime, utcnow
from runtime.store.prepared import Prepared
from runtime.store.retry import in_transaction
from runtime.turns import effects
from runtime.turns.effects import AfterCommit, Committed

log = logging.getLogger(__name__)
GRACE = timedelta(seconds=60)  # the turn's own process carries a row out within this, or the relay takes it
AGAIN = timedelta(minutes=5)  # a row relayed and still standing (its job lost or failing) is relayed again
RELAY_EVERY = 10  # seconds between relays (the worker's periodic job)
BATCH = 500  # rows one relay hands on at most
RETRY = Retry(max=5, interval=[10, 30, 60, 300, 900])


class PendingEffect(db.Model):
    """An after-commit effect a committed turn still owes one handler (deleted once carried out)."""

    __tablename__ = "pending_effects"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # the effect's id: handlers are keyed by it
    conversation_id: Mapped[str] = mapped_column(db.ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    handler: Mapped[str] = mapped_column(String(200))  # `AfterCommit.name`
    effect: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    relay_after: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


INSERT = Prepared(insert(PendingEffect.__table__))


_later: contextvars.ContextVar[list[Callable[[], None]] | None] = contextvars.ContextVar("arbor_later", default=None)


class _Gone(Exception):
    """Another runner carried the row out first."""


def init_app(app: Flask) -> None:
    periodic.every(app, "runtime.turns.outbox.relay", RELAY_EVERY)


def rows(conversation_id: str, owed: list[tuple[AfterCommit, dict]], now: datetime) -> list[dict]:
    """The rows of a turn's durable debts, to insert with the turn (their ids go into `owed`' order)."""
    return [{"id": uuid4().hex, "conversation_id": conversation_id, "handler": handler.name, "effect": effect,
             "created_at": now, "relay_after": now + GRACE} for handler, effect in owed if handler.durable]


def carry_out(owed: list[tuple[AfterCommit, dict]], ids: list[str], made: Callable[[str | None], Committed]
              ) -> list[dict]:
    """Right after the commit: carry out what the turn owes, in order; the activities handlers add to the reply.

    `ids` are the durable rows' ids in `owed`' order; `made(effect_id)` is the turn as a `Committed`. A durable
    handler that fails leaves its row to the relay (logged); one that is not durable raises as the turn would."""
    said, ids = [], iter(ids)
    for handler, effect in owed:
        if not handler.durable:
            said += handler.function(made(None), effect) or []
            continue
        effect_id = next(ids)
        if handler.own_turn:  # the reply waits for its work (a sync call): the bot is typing meanwhile
            effects.registry().waiting(made(None).conversation)
        try:
            said += run_once(handler, made(effect_id), effect)[1] or []
        except Exception:  # noqa: BLE001 - the turn is committed; the relay retries this row from the outbox
            log.exception("effect %s (%s) of conversation %s failed; the relay retries it", effect_id,
                          handler.name, made(None).conversation.id)
    return said


def later(work: Callable[[], None]) -> None:
    """Run `work()` once the running after-commit handler's writes are committed (queueing a job that reads
    them: the row it sends, the deliveries it posts); outside a handler, at once. Work that needs no row of its
    own (an async call's job) is queued in the handler itself, keyed by the effect's id."""
    pending = _later.get()
    if pending is None:
        work()
    else:
        pending.append(work)


def done_in(connection: Connection, effect_id: str) -> None:
    """Remove the effect's row in the caller's transaction: an `own_turn` handler's turn passes this as its
    `alongside`, so the effect is done exactly when that turn is."""
    connection.execute(delete(PendingEffect).where(PendingEffect.id == effect_id))


def run_once(handler: AfterCommit, committed: Committed, effect: dict) -> tuple[bool, list[dict] | None]:
    """The handler's work and the row's deletion in one transaction, then its `later` work: (whether this runner
    carried the row out, the handler's answer); (False, None) when another runner did first. An `own_turn`
    handler's turn is that transaction."""
    if handler.own_turn:
        return True, handler.function(committed, effect)
    def work():
        answer = handler.function(committed, effect)
        gone = db.session.execute(delete(PendingEffect).where(PendingEffect.id == committed.effect_id))
        if gone.rowcount != 1:
            raise _Gone
        return answer

    pending: list[Callable[[], None]] = []
    token = _later.set(pending)
    try:
        answer = in_transaction(work)
    except _Gone:
        return False, None
    finally:
        _later.reset(token)
    for work_ in pending:
        work_()
    return True, answer


@in_app
def relay() -> int:
    """Hand to RQ the rows their turn's process did not carry out (it died, or their handler failed); how many."""
    now = utcnow()
    due = list(db.session.scalars(select(PendingEffect.id).where(PendingEffect.relay_after <= now)
                                  .order_by(PendingEffect.relay_after).limit(BATCH)))
    if due:
        db.session.execute(update(PendingEffect).where(PendingEffect.id.in_(due)).values(relay_after=now + AGAIN))
    db.session.commit()  # marked first: a relay that dies now hands them on again after AGAIN
    for effect_id in due:
        enqueue("runtime.turns.outbox.run", effect_id, job_id=f"effect-{effect_id}", retry=RETRY)
    return len(due)


@in_app
def run(effect_id: str) -> bool:
    """The RQ job of one relayed row: carry it out (raising, for RQ's retry, if its handler fails); whether it
    was still owed."""
    row = db.session.get(PendingEffect, effect_id, populate_existing=True)
    if row is None:
        db.session.commit()
        return False
    handler = effects.registry().by_name.get(row.handler)
    conversation = db.session.get(Conversation, row.conversation_id)
    effect, at = dict(row.effect), row.created_at
    db.session.commit()
    if handler is None:
        raise LookupError(f"no after-commit handler '{row.handler}' is registered (effect {effect_id}); "
                          "the row stays until a worker that has it runs")
    from runtime.turns import transcript  # the turn's rows, read again (this module is light for the turn)

    rows_ = transcript.rows_between(conversation.id, effect["first"], effect["last"]) \
        if effect.get("type") == effects.COMMITTED else []
    committed = Committed(conversation, rows_, effect.get("effects", [effect]), at, effect_id)
    return run_once(handler, committed, effect)[0]
