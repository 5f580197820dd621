"""A turn: load -> engine -> settle -> save, then what it owes. Every channel calls one of these three:
`start_conversation` (a new conversation: the bot speaks first), `handle` (an input to a running one), `append`
(what a person said, without the bot).

1. *Load*: the conversation, its user's data and the bot version to run, in one read (`statements.LOAD`); a new
   conversation reads its user only. An inbound activity is applied once: its client key is unique per
   conversation, and a key seen before gets back the replies it got then.
2. *Engine*: the pure engine applies the input (`runtime.engine`), holding no lock.
3. *Settle*: the in-turn handlers of its effects (`effects.py`): a dataset lookup's answer goes back to the
   step, a handover opens its session, the URL tracker rewrites links.
4. *Save*: one write path for new and running conversations, Core statements on the session's connection
   (`_write`): the conversation and user rows (inserted, or updated if nobody changed them since the load),
   the transcript and logs (`transcript.Rows`), the rows handlers wrote, and the outbox rows of what the turn
   owes after commit (`outbox.py`), all in one transaction. A turn that lost a race to a turn of the same
   conversation is computed again from fresh rows (`retry.in_transaction`).
5. *After commit*: what it owes is carried out at once (`outbox.carry_out`); the outbox keeps what a dying
   process could not do.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace
from uuid import uuid4

from sqlalchemy import Connection

from runtime import engine
from runtime.botdoc import Bot
from runtime.extensions import db
from runtime.steps.base import Input
from runtime.store import bots, phones, statements, writer_queue
from runtime.store.activities import TICK
from runtime.store.models import Conversation, utcnow
from runtime.store.retry import in_transaction
from runtime.turns import effects, outbox
from runtime.turns.effects import COMMITTED, DRY_RUN_CHANNEL, OUTGOING, AfterCommit, Committed
from runtime.turns.handover import KEEP, check_free, in_language, with_people
from runtime.turns.handover import end as end_handover
from runtime.turns.transcript import Rows

log = logging.getLogger(__name__)
MAX_ROUNDS = 50  # a turn runs a bounded number of steps anyway; this bounds the in-turn answers


class ConversationNotFound(LookupError):
    def __init__(self, conversation_id: str):
        super().__init__(f"There is no conversation '{conversation_id}'.")
        self.conversation_id = conversation_id


class Turn:
    """A turn being computed, as its in-turn handlers see it: the conversation (as loaded), the bot, the turn's
    time; what they add: rows to write with the turn (`write`), the open handover, more effects (`extra`)."""

    def __init__(self, conversation, bot: Bot, now: datetime, *, handover_id: str | None = KEEP,
                 extra: list[dict] = ()):
        self.conversation, self.bot, self.now = conversation, bot, now
        self.handover = handover_id
        self.extra = list(extra)
        self.writes: dict[str, Callable[[Connection], object]] = {}

    def write(self, name: str, work: Callable[[Connection], object]) -> None:
        """Run `work(connection)` in the turn's transaction; a later write of the same name replaces it."""
        self.writes[name] = work


@dataclass
class _Saved:
    """What one committed turn leaves to do outside its transaction."""

    conversation: object
    activities: list[dict]
    logs: list[dict] = field(default_factory=list)
    transcript: list[dict] = field(default_factory=list)
    effects: list[dict] = field(default_factory=list)
    owed: list[tuple[AfterCommit, dict]] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    at: datetime | None = None


def start_conversation(
    bot_id: str, user_id: str, channel: str, *, data: dict | None = None, first: Input | None = None,
    version: int | None = None, client_key: str | None = None, inbound_activity: dict | None = None,
    alongside: Callable[[Connection], None] | None = None, silent: bool = False,
    languages: list[str] | None = None, accepted: list[str] | None = None, conversation_id: str | None = None,
) -> tuple[Conversation, list[dict]]:
    """Open a conversation and run the bot's start dialog, so the bot speaks first.

    Runs the latest published version (`version` picks another; 0 is the draft) or raises
    `bots.BotNotPublished`. `data` (e.g. the page's user data) is merged into the user's data first;
    `first` is an input the conversation began with, applied after the start dialog; as with `handle`,
    `inbound_activity` is kept for it in the transcript and `client_key` marks it applied; `alongside`
    writes rows of its own in the turn's transaction (a channel's address book, which may name the conversation
    by the `conversation_id` it chose). `silent` runs no start dialog: the conversation begins with people (a
    platform connection whose messages all go to agents), and the bot has said nothing. `languages` are those
    the visitor asks for, most preferred first (a widget's locale), `accepted` those their client accepts (a
    browser's Accept-Language): the conversation speaks the bot's language that fits best (`engine.start`).
    Returns the conversation (not attached to the session) and the stamped outbound activities.
    """
    new_id = conversation_id or uuid4().hex

    def attempt() -> _Saved:
        number = bots.get_bot(bot_id).published_version if version is None else version
        if number is None:
            raise bots.BotNotPublished(bot_id)
        indexed = bots.load_indexed(bot_id, number)
        user = statements.LOAD_USER.first(db.session.connection(), {"bot_id": bot_id, "user_id": user_id})
        loaded = SimpleNamespace(id=new_id, bot_id=bot_id, user_id=user_id, channel=channel, state={},
                                 handover_id=None, activity_seq=0, version_id=None,
                                 user_data=user.data if user else None, user_version=user.version_id if user else None)
        turn = Turn(loaded, indexed, utcnow())
        merged = {**(loaded.user_data or {}), **(data or {})}
        if silent:
            result = engine.TurnResult(state=engine.new_state(), data=merged)
        else:
            result = engine.start(indexed, merged, user=_user_of(loaded), now=turn.now, first=first,
                                  language=languages, accepted=accepted)
            result = _settle(turn, result)
        return _save(turn, result, number, first, inbound_activity=inbound_activity, client_key=client_key,
                     alongside=alongside)

    saved = in_transaction(attempt)
    said = _after_commit(saved)
    c = saved.conversation
    conversation = Conversation(id=c.id, bot_id=c.bot_id, user_id=c.user_id, channel=c.channel, state=c.state,
                                waiting_step=c.waiting_step, bot_version=c.bot_version, activity_seq=c.activity_seq,
                                created_at=saved.at, updated_at=c.updated_at, handover_id=c.handover_id, version_id=1)
    return conversation, saved.activities + said


def handle(conversation_id: str, inp: Input, *, client_key: str | None = None,
           inbound_activity: dict | None = None, alongside: Callable[[Connection], None] | None = None,
           **aside) -> list[dict]:
    """Apply one input to a conversation and return the stamped activities the bot answered with.

    `inbound_activity` is kept in the transcript as received, but for what only Arbor may set (`from` is the
    conversation's user, `channelData.arbor` is dropped: `activities.from_outside`) and the stamps; without
    it one is built from `inp`. With a `client_key` seen before in this conversation nothing is applied again: the
    activities answered the first time are returned. `alongside` writes rows of its own in the turn's
    transaction (an integration call's log rows with its result), so they commit, or not, with the turn.
    `aside` is what `append` documents: things said before the bot's answer, effects, the open handover.

    While a handover session holds the conversation, the user's messages and events are kept in the
    transcript for the agent and the bot is not run; a trigger from outside ends the session (the bot takes
    over again); the `result` that closes it resumes the handover step.
    """
    return _apply(conversation_id, inp, client_key=client_key, inbound_activity=inbound_activity,
                  alongside=alongside, **aside)


def append(conversation_id: str, activities: list[dict], *, alongside: Callable[[Connection], None] | None = None,
           effects: list[dict] = (), handover: str | None = KEEP) -> list[dict]:
    """Add what a person said (an agent's message, a notice that one joined) to the transcript, without the bot.

    Stamped and ordered like a turn's activities (channels and webhooks see them like the bot's), in the
    conversation's serialized order; `activities` keep their own `from`. `effects` are owed as a turn's
    are; `handover` sets or clears (None) the conversation's open handover session. Returns the activities.
    """
    return _apply(conversation_id, None, alongside=alongside, say=activities, effects=effects, handover=handover)


def _apply(conversation_id: str, inp: Input | None, *, client_key: str | None = None,
           inbound_activity: dict | None = None, alongside: Callable[[Connection], None] | None = None,
           say: list[dict] = (), effects: list[dict] = (), handover: str | None = KEEP) -> list[dict]:
    """The turn behind `handle` and `append`: `inp` None runs no bot, it only says `say`."""

    def attempt() -> _Saved:
        # Compute first, holding no global lock (the engine may run for a whole render budget); then `_write`
        # takes SQLite's writer lock to write, and its version checks send a turn that lost a race back here.
        connection = _hold(conversation_id, write=False)
        loaded = statements.LOAD.first(connection, {"conversation_id": conversation_id, "client_key": client_key})
        if loaded is None:
            raise ConversationNotFound(conversation_id)
        if loaded.answered_seq is not None:
            return _Saved(loaded, list(connection.scalars(statements.ANSWERS, {
                "conversation_id": conversation_id, "seq": loaded.answered_seq})))
        # The draft stays the draft; otherwise the latest published version, so republishing takes effect.
        number = loaded.bot_version if loaded.bot_version == bots.DRAFT else (
            loaded.published_version or loaded.bot_version)
        indexed = bots.load_indexed(loaded.bot_id, number)
        turn = Turn(loaded, indexed, max(utcnow(), loaded.updated_at + TICK), handover_id=handover, extra=effects)
        language = (loaded.state or {}).get("language")
        before = [in_language(a, language) for a in say]
        check_free(loaded.handover_id, turn.handover)
        if inp is None or (loaded.handover_id and with_people(connection, loaded.handover_id, inp)):
            result = engine.TurnResult(state=loaded.state, data=loaded.user_data)  # a person has the user
        else:
            if loaded.handover_id and inp.kind in ("trigger", "timeout") and turn.handover is KEEP:
                before += [in_language(a, language) for a in end_handover(turn, inp.kind)]
            result = engine.turn(indexed, loaded.state, loaded.user_data, inp, user=_user_of(loaded), now=turn.now)
            result = _settle(turn, result)
        result.activities = before + result.activities
        return _save(turn, result, number, inp, inbound_activity=inbound_activity, client_key=client_key,
                     alongside=alongside)

    saved = in_transaction(attempt)
    return saved.activities + _after_commit(saved)


def _settle(turn: Turn, result: engine.TurnResult) -> engine.TurnResult:
    """Hand the result's effects to their in-turn handlers: an answer goes back to its step and the engine goes
    on (one effect at a time, the step waiting for it); then the others, in order."""
    registry = effects.registry()
    user = _user_of(turn.conversation)
    for _ in range(MAX_ROUNDS):
        effect = next((e for e in result.effects if e.get("type") in registry.answers), None)
        if effect is None:
            break
        with db.session.no_autoflush:  # the turn's own rows are not written yet
            value = registry.in_turn[effect["type"]](turn, effect)
        follow = engine.turn(turn.bot, result.state, result.data, Input.result(effect["step"], value), user=user,
                             now=turn.now)
        result = engine.TurnResult(activities=result.activities + follow.activities,
                                   effects=[e for e in result.effects if e is not effect] + follow.effects,
                                   logs=result.logs + follow.logs, state=follow.state, data=follow.data,
                                   visited=result.visited + follow.visited)
    for effect in result.effects:
        handler = registry.in_turn.get(effect.get("type"))
        if handler is not None and effect["type"] not in registry.answers:
            handler(turn, effect)
    return result


def _save(turn: Turn, result: engine.TurnResult, number: int, inp: Input | None, *,
          inbound_activity: dict | None, client_key: str | None,
          alongside: Callable[[Connection], None] | None) -> _Saved:
    """The computed turn as rows, written by `_write` in one transaction: the one write path of every turn."""
    loaded, now = turn.conversation, turn.now
    result.effects = result.effects + turn.extra
    outgoing = effects.registry().in_turn.get(OUTGOING)
    rows = Rows(loaded, loaded.activity_seq, turn.bot, result, now, inp, inbound_activity=inbound_activity,
                client_key=client_key, rewrite=outgoing and (lambda activity: outgoing(turn, activity)))
    closed = bool(result.state.get("ended")) and not loaded.state.get("ended")
    values = {"state": result.state, "waiting_step": _waiting_step(result.state), "bot_version": number,
              "activity_seq": rows.seq, "updated_at": rows.moment}
    if turn.handover is not KEEP:
        values["handover_id"] = turn.handover
    user = {"data": result.data} if result.data != loaded.user_data else {}
    if rows.user_spoke:
        user["last_message_at"] = now
    conversation = SimpleNamespace(**{"id": loaded.id, "bot_id": loaded.bot_id, "user_id": loaded.user_id,
                                      "channel": loaded.channel, "handover_id": loaded.handover_id,
                                      "webhooks": getattr(loaded, "webhooks", None), **values})
    owed = _owed(conversation, rows.transcript, result.effects, closed)
    pending = outbox.rows(loaded.id, owed, now)

    def write(connection: Connection) -> None:
        if loaded.user_version is None:
            statements.INSERT_USER.write(connection, {"bot_id": loaded.bot_id, "user_id": loaded.user_id,
                                                      "data": result.data, "created_at": now, "version_id": 1,
                                                      **user})
        elif user:  # a user row nothing changed in is not written (nor its version bumped)
            statements.update_user(connection, loaded, **user)
        if loaded.version_id is None:
            statements.INSERT_CONVERSATION.write(connection, {
                "id": loaded.id, "bot_id": loaded.bot_id, "user_id": loaded.user_id, "channel": loaded.channel,
                "created_at": now, "version_id": 1, "handover_id": None, **values})
        else:
            statements.update_conversation(connection, loaded, **values)
        for work in turn.writes.values():
            work(connection)
        statements.insert_rows(connection, rows.transcript, rows.nlp_log, rows.fuzzy_log, rows.visits)
        if pending:
            outbox.INSERT.write_many(connection, pending)
        if alongside is not None:
            alongside(connection)

    _write(loaded.id, write)
    return _Saved(conversation, rows.outbound, result.logs, rows.transcript, result.effects, owed,
                  [row["id"] for row in pending], now)


def _owed(conversation, transcript: list[dict], turn_effects: list[dict], closed: bool
          ) -> list[tuple[AfterCommit, dict]]:
    """What the turn owes after commit: its `COMMITTED` (when it wrote any row) and each effect, by handler."""
    if conversation.channel == DRY_RUN_CHANNEL:
        return []
    announced = [{"type": COMMITTED, "first": transcript[0]["seq"], "last": transcript[-1]["seq"], "closed": closed,
                  "effects": turn_effects}] if transcript else []
    return effects.registry().owed(conversation, announced + turn_effects)


def _after_commit(saved: _Saved) -> list[dict]:
    """Log the turn's errors and carry out what it owes, once (a retried attempt left no trace); the activities
    of what that added to the reply (a sync integration call's answer)."""
    conversation = saved.conversation
    for entry in saved.logs:
        if entry.get("kind") == "error":
            log.error("bot %s, conversation %s, dialog %s, step %s: %s", conversation.bot_id, conversation.id,
                      entry.get("dialog"), entry.get("step"), entry.get("message"))
    if not saved.owed:
        return []
    return outbox.carry_out(saved.owed, saved.ids, lambda effect_id: Committed(
        conversation, saved.transcript, saved.effects, saved.at, effect_id))


def _write(conversation_id: str, write: Callable[[Connection], None]) -> None:
    """Write a computed turn (`write(connection)`) and commit, holding SQLite's writer lock (the queue and
    then the database's) only for the writes: no global lock is held while the engine computes.

    On SQLite the turn read outside any transaction (the driver begins one before a write only), so
    `_hold` can begin the write at once; the version checks in `write` then find a turn of the same
    conversation that committed meanwhile, and `in_transaction` computes it again from fresh rows.
    A session already in a write transaction (a caller's own) keeps it: it may hold the lock already.
    PostgreSQL locked the conversation's row in `_hold` (this conversation only) and writes in place.
    """
    session = db.session()
    with writer_queue.turn():
        write(_hold(conversation_id))
        session.commit()


def _hold(conversation_id: str, *, write: bool = True) -> Connection:
    """The session's connection, after making other turns of this conversation wait until this one commits.

    Not needed for correctness (the version checks are), but contending turns then wait instead of
    each running the bot only to lose the race: PostgreSQL locks the row (for the whole turn: it locks
    this conversation only); SQLite, which has one writer for the whole database, takes its write lock
    only to save (`write`), rather than at the first write; before that the turn reads without a lock.
    """
    connection = db.session.connection()
    if connection.dialect.name != "sqlite":
        if write:
            return connection  # the row is locked since the turn's read
        statements.LOCK.rows(connection, {"conversation_id": conversation_id})
        return connection
    if not write:
        return connection
    sqlite = connection.connection.dbapi_connection
    if not sqlite.in_transaction:
        # Straight to the driver, as SQLAlchemy would pass it on anyway (sqlite3 then adds no BEGIN of
        # its own): a turn is spared one Core statement's overhead, some 5% of it.
        sqlite.execute("BEGIN IMMEDIATE")
    return connection


def _waiting_step(state: dict) -> str | None:
    """The step a conversation waits at, kept in a column of its own so analytics need not read the state."""
    waiting = state.get("waiting")
    return waiting.get("step") if waiting else None


def _user_of(conversation) -> dict:
    """The bot's `user`: its id and channel, and `phone` when a platform user's address is a number."""
    phone = phones.phone_of(conversation.user_id, conversation.channel)
    return {"id": conversation.user_id, "channel": conversation.channel, **({"phone": phone} if phone else {})}
