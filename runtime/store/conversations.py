"""The conversation store: the one turn function every channel calls.

A turn loads the conversation, its user's data and the bot version to run, lets the engine apply the
input, and saves the new position, data, transcript and logs in one transaction. Two inputs for one
conversation at once are serialized: the conversation and user rows carry version columns, and a turn
that lost the race is redone from the start on fresh rows (`retry.in_transaction`); `_hold` makes
contending turns of one conversation wait rather than race. An inbound activity is applied once:
its client key is unique per conversation, and a key seen before gets back the replies it got then.

`handle`, the hot path, reads and writes with prebuilt Core statements (`statements`) rather than
the ORM, whose bookkeeping was most of a turn; the rest (opening conversations, the designer) uses the
ORM models.

What the engine asks to be done after a turn (timers, calls) is announced through `effects_ready`
once the turn is committed; whoever carries effects out subscribes to it. Integration calls go to the
hook `app.extensions["arbor.integration-calls"]` instead, since a sync call's answer is part of the reply.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from uuid import uuid4

from blinker import Namespace
from flask import current_app
from sqlalchemy import Connection

from runtime import engine
from runtime.botdoc import Bot
from runtime.extensions import db
from runtime.steps._phrases import phrase
from runtime.steps.base import Input
from runtime.store import bots, inline, phones, statements, writer_queue
from runtime.store.activities import TICK, from_input, from_outside, from_user, stamp
from runtime.store.models import (
    BotUser,
    Conversation,
    FuzzyQaLogEntry,
    HandoverSession,
    NlpLogEntry,
    StepVisit,
    TranscriptEntry,
    utcnow,
)
from runtime.store.retry import in_transaction

log = logging.getLogger(__name__)

signals = Namespace()
effects_ready = signals.signal("effects-ready")
"""Sent with the app as sender and `conversation_id`, `effects` (list of dicts) after a committed turn."""
turn_committed = signals.signal("turn-committed")
"""Sent with the app as sender after a committed turn that applied something: `conversation` (id, bot_id,
user_id, channel), `transcript` (its new rows: seq, direction, activity), `effects`, and `closed` (the
conversation ended in this turn). Outgoing webhooks subscribe."""

KEEP: str = "keep"
"""`handover=KEEP` (the default of `append` and `handle`): the conversation's open handover stays as it is."""

NOTICES = {"agent-joined": "{name} joined the conversation.", "agent-left": "{name} left the conversation.",
           "bot-back": "The bot took over the conversation again."}
"""What the notices say, in English; `_in_language` says them in the conversation's language."""

DRY_RUN_CHANNEL = "conversation-test"
"""Conversations on this channel (conversation tests) announce no effects: no e-mail, SMS or timer goes out."""

outbound_rewrites: list[Callable[[dict, str, str], dict]] = []
"""Functions `(activity, bot_id, user_id) -> activity` applied to what the bot sends before it is stored
(the URL tracker routes link buttons through its redirect)."""


class ConversationNotFound(LookupError):
    def __init__(self, conversation_id: str):
        super().__init__(f"There is no conversation '{conversation_id}'.")
        self.conversation_id = conversation_id


class AlreadyHandedOver(Exception):
    """`append(..., handover=new id)` found another session holding the conversation (opened meanwhile)."""

    def __init__(self, session_id: str):
        super().__init__(f"The handover '{session_id}' holds this conversation already.")
        self.session_id = session_id


@dataclass
class _Saved:
    """What one committed turn leaves to do outside its transaction."""

    activities: list[dict]
    logs: list[dict] = field(default_factory=list)
    effects: list[dict] = field(default_factory=list)
    transcript: list[dict] = field(default_factory=list)
    closed: bool = False


def start_conversation(
    bot_id: str, user_id: str, channel: str, *, data: dict | None = None, first: Input | None = None,
    version: int | None = None, client_key: str | None = None, inbound_activity: dict | None = None,
    alongside: Callable[[Conversation], None] | None = None, silent: bool = False,
    languages: list[str] | None = None, accepted: list[str] | None = None,
) -> tuple[Conversation, list[dict]]:
    """Open a conversation and run the bot's start dialog, so the bot speaks first.

    Runs the latest published version (`version` picks another; 0 is the draft) or raises
    `bots.BotNotPublished`. `data` (e.g. the page's user data) is merged into the user's data first;
    `first` is an input the conversation began with, applied after the start dialog; as with `handle`,
    `inbound_activity` is kept for it in the transcript and `client_key` marks it applied; `alongside`
    adds rows of its own about the new conversation in its transaction (a channel's address book).
    `silent` runs no start dialog: the conversation begins with people (a platform connection whose
    messages all go to agents), and the bot has said nothing. `languages` are those the visitor asks for, most
    preferred first (a widget's locale), `accepted` those their client accepts (a browser's Accept-Language):
    the conversation speaks the bot's language that fits best (`engine.start` says in which order).
    Returns the conversation and the stamped outbound activities.
    """

    def attempt() -> tuple[Conversation, _Saved]:
        bot = bots.get_bot(bot_id)
        number = bot.published_version if version is None else version
        if number is None:
            raise bots.BotNotPublished(bot_id)
        indexed = bots.load_indexed(bot_id, number)
        user = _bot_user(bot_id, user_id)
        conversation = Conversation(id=uuid4().hex, bot_id=bot_id, user_id=user_id, channel=channel,
                                    bot_version=number, activity_seq=0)
        now = utcnow()
        if silent:
            result = engine.TurnResult(state=engine.new_state(), data={**user.data, **(data or {})})
        else:
            result = engine.start(indexed, {**user.data, **(data or {})}, user=_user_of(conversation),
                                  now=now, first=first, language=languages, accepted=accepted)
            result = inline.settle(indexed, result, user=_user_of(conversation), now=now)
        turn = _Turn(conversation, 0, indexed, result, now, first, inbound_activity, client_key)
        turn.saved.closed = bool(result.state.get("ended"))
        with writer_queue.turn():  # computed: now write, holding SQLite's writer lock only for that
            save(conversation, user, turn, result, now, indexed)
        return conversation, turn.saved

    def save(conversation, user, turn, result, now, indexed) -> None:
        db.session.add(conversation)
        conversation.state, conversation.waiting_step = result.state, _waiting_step(result.state)
        conversation.activity_seq, conversation.updated_at = turn.seq, turn.moment
        user.data = result.data
        if turn.user_spoke:
            user.last_message_at = now
        db.session.add_all([TranscriptEntry(**row) for row in turn.transcript])
        db.session.add_all([NlpLogEntry(**row) for row in turn.nlp_log])
        db.session.add_all([FuzzyQaLogEntry(**row) for row in turn.fuzzy_log])
        db.session.add_all([StepVisit(**row) for row in turn.visits])
        effect = next((e for e in reversed(result.effects) if e.get("type") == "handover"), None)
        if effect is not None and channel != DRY_RUN_CHANNEL:
            db.session.flush()  # the conversation row first: the session refers to it
            session = HandoverSession(**session_row(conversation, queue=effect.get("queue"), step=effect.get("step"),
                                                    now=now, timeout=_timeout_of(indexed, effect)))
            db.session.add(session)
            conversation.handover_id = effect["session"] = session.id
        if alongside is not None:
            db.session.flush()
            alongside(conversation)
        db.session.commit()

    conversation, saved = in_transaction(attempt)
    _after_commit(conversation, saved)
    return conversation, saved.activities + _integration_calls(conversation, saved.effects)


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

    The hot path of every channel, so it runs Core statements (`statements`) on the session's
    connection rather than the ORM: one read, two version-checked updates, one executemany per table.
    """
    return _apply(conversation_id, inp, client_key=client_key, inbound_activity=inbound_activity,
                  alongside=alongside, **aside)


def append(conversation_id: str, activities: list[dict], *, alongside: Callable[[Connection], None] | None = None,
           effects: list[dict] = (), handover: str | None = KEEP) -> list[dict]:
    """Add what a person said (an agent's message, a notice that one joined) to the transcript, without the bot.

    Stamped and ordered like a turn's activities (channels and webhooks see them like the bot's), in the
    conversation's serialized order; `activities` keep their own `from`. `effects` are announced as a turn's
    are; `handover` sets or clears (None) the conversation's open handover session. Returns the activities.
    """
    return _apply(conversation_id, None, alongside=alongside, say=activities, effects=effects, handover=handover)


def _apply(conversation_id: str, inp: Input | None, *, client_key: str | None = None,
           inbound_activity: dict | None = None, alongside: Callable[[Connection], None] | None = None,
           say: list[dict] = (), effects: list[dict] = (), handover: str | None = KEEP) -> list[dict]:
    """The turn behind `handle` and `append`: `inp` None runs no bot, it only says `say`."""

    def attempt() -> tuple[tuple, _Saved]:
        # Compute first, holding no global lock (the engine may run for a whole render budget); then
        # `_save` takes SQLite's writer lock to write, and its version checks send a turn that lost a race
        # back here (`in_transaction` runs `attempt` again on fresh rows).
        connection = _hold(conversation_id, write=False)
        loaded = statements.LOAD.first(connection, {"conversation_id": conversation_id, "client_key": client_key})
        if loaded is None:
            raise ConversationNotFound(conversation_id)
        if loaded.answered_seq is not None:
            return loaded, _Saved(list(connection.scalars(statements.ANSWERS, {
                "conversation_id": conversation_id, "seq": loaded.answered_seq})))
        # The draft stays the draft; otherwise the latest published version, so republishing takes effect.
        number = loaded.bot_version if loaded.bot_version == bots.DRAFT else (
            loaded.published_version or loaded.bot_version)
        indexed = bots.load_indexed(loaded.bot_id, number)
        now = max(utcnow(), loaded.updated_at + TICK)
        language = (loaded.state or {}).get("language")
        before, opened, extra = [_in_language(a, language) for a in say], handover, list(effects)
        writes: list[Callable[[Connection], None]] = []  # handover rows, written with the turn in `_save`
        if opened not in (KEEP, None) and loaded.handover_id not in (None, opened):
            raise AlreadyHandedOver(loaded.handover_id)
        if inp is None or (loaded.handover_id and _with_people(connection, loaded.handover_id, inp)):
            result = engine.TurnResult(state=loaded.state, data=loaded.user_data)  # a person has the user
        else:
            if loaded.handover_id and inp.kind in ("trigger", "timeout") and handover is KEEP:
                before += [_in_language(a, language) for a in _end_handover(writes, loaded, now, extra, inp.kind)]
                opened = None
            result = engine.turn(indexed, loaded.state, loaded.user_data, inp, user=_user_of(loaded), now=now)
            result = inline.settle(indexed, result, user=_user_of(loaded), now=now)
            opened = _open_handover(writes, loaded, indexed, result.effects, now, opened)
        result.activities, result.effects = before + result.activities, result.effects + extra
        turn = _Turn(loaded, loaded.activity_seq, indexed, result, now, inp, inbound_activity, client_key)
        turn.saved.closed = bool(result.state.get("ended")) and not loaded.state.get("ended")
        values = {} if opened is KEEP else {"handover_id": opened}
        user = {"data": result.data} if result.data != loaded.user_data else {}
        if turn.user_spoke:
            user["last_message_at"] = now

        def save(connection: Connection) -> None:
            for write in writes:
                write(connection)
            statements.update_conversation(connection, loaded, state=result.state,
                                           waiting_step=_waiting_step(result.state), bot_version=number,
                                           activity_seq=turn.seq, updated_at=turn.moment, **values)
            if user:  # as with the ORM, a user row nothing changed in is not written (nor its version bumped)
                statements.update_user(connection, loaded, **user)
            statements.insert_rows(connection, turn.transcript, turn.nlp_log, turn.fuzzy_log, turn.visits)
            if alongside is not None:
                alongside(connection)

        _save(conversation_id, save)
        return loaded, turn.saved

    conversation, saved = in_transaction(attempt)
    _after_commit(conversation, saved)
    return saved.activities + _integration_calls(conversation, saved.effects)


def notice(kind: str, text: str, **about) -> dict:
    """A line both widgets show (an agent joined or left): a plain message that says what it is in
    `channelData`, so Arbor's widget can set it apart and other Direct Line clients still show its text.
    The turn that says it puts it in the conversation's language (`_in_language`)."""
    return {"type": "message", "text": text, "textFormat": "plain",
            "channelData": {"arbor": {"notice": kind, **about}}}


def _in_language(activity: dict, language: str | None) -> dict:
    """A notice in the conversation's language, when Arbor has words for it in that language (en, cs, de)."""
    about = ((activity.get("channelData") or {}).get("arbor") or {})
    english = NOTICES.get(about.get("notice"))
    if not language or english is None:
        return activity
    text = phrase(language, english).replace("{name}", str(about.get("agent") or ""))
    return {**activity, "text": text}


def _open_handover(writes: list, conversation: tuple, indexed, effects: list[dict], now: datetime,
                   current: str | None) -> str | None:
    """The turn's handover step asked for a person: open a session (its id goes into the effect, for the
    webhooks) and return its id; else `current`, unchanged."""
    effect = next((e for e in reversed(effects) if e.get("type") == "handover"), None)
    if effect is None or conversation.channel == DRY_RUN_CHANNEL:
        return current
    row = session_row(conversation, queue=effect.get("queue"), step=effect.get("step"), now=now,
                      timeout=_timeout_of(indexed, effect))
    writes.append(lambda connection: connection.execute(statements.INSERT_HANDOVER, row))
    effect["session"] = row["id"]
    return row["id"]


def _timeout_of(indexed, effect: dict) -> int | None:
    """How long the handover step that asked for people waits for an agent (its timer is started with it)."""
    return (indexed.steps.get(effect.get("step")) or {}).get("timeout")


def _with_people(connection: Connection, session_id: str, inp: Input) -> bool:
    """Whether the open handover keeps `inp` from the bot: the user's messages and events always; the step's
    timer only once an agent accepted (before that, nobody answering in time ends the handover)."""
    if inp.kind in ("message", "event"):
        return True
    if inp.kind != "timeout":
        return False
    status, step_id = connection.execute(statements.HANDOVER, {"session_id": session_id}).one()
    return status != "waiting" or step_id != inp.step


def _end_handover(writes: list, conversation: tuple, now: datetime, effects: list[dict],
                  why: str) -> list[dict]:
    """A trigger from outside, or the handover step's timer with no agent yet, gives the conversation back to
    the bot: close its session. After a trigger the user is told; after a timeout the step's own steps speak."""
    by = "bot" if why == "trigger" else "timeout"
    writes.append(lambda connection: connection.execute(statements.END_HANDOVER, {
        "session_id": conversation.handover_id, "at": now, "by": by, "reason": why}))
    effects.append({"type": "handover.closed", "session": conversation.handover_id, "by": by})
    return [notice("bot-back", NOTICES["bot-back"])] if why == "trigger" else []


def session_row(conversation: Conversation | tuple, *, queue: str | None, step: str | None, now: datetime,
                timeout: int | None = None) -> dict:
    """A new handover session of the conversation, waiting in `queue` (for `timeout` seconds at most, if
    given), as a row to insert."""
    return {"id": uuid4().hex, "bot_id": conversation.bot_id, "conversation_id": conversation.id,
            "user_id": conversation.user_id, "channel": conversation.channel, "queue": queue, "step_id": step,
            "status": "waiting", "created_at": now, "timeout": timeout}


def transcript(conversation_id: str, after_seq: int = 0) -> list[dict]:
    """The conversation's stamped activities, both directions, after sequence number `after_seq`."""
    return list(db.session.connection().scalars(statements.TRANSCRIPT, {
        "conversation_id": conversation_id, "after_seq": after_seq}))


def _save(conversation_id: str, save: Callable[[Connection], None]) -> None:
    """Write a computed turn (`save(connection)`) and commit, holding SQLite's writer lock (the queue and
    then the database's) only for the writes: no global lock is held while the engine computes.

    On SQLite the read the turn computed from is ended first (a read transaction cannot take the write
    lock once another writer committed); the version checks in `save` then find a turn of the same
    conversation that committed meanwhile, and `in_transaction` computes it again from fresh rows.
    A session already in a write transaction (a caller's own) keeps it: it may hold the lock already.
    PostgreSQL locked the conversation's row in `_hold` (this conversation only) and writes in place.
    """
    session = db.session()
    if session.connection().dialect.name == "sqlite" and not writer_queue.writing():
        session.commit()  # ends the read; nothing was written
    with writer_queue.turn():
        save(_hold(conversation_id))
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


def _bot_user(bot_id: str, user_id: str) -> BotUser:
    user = db.session.get(BotUser, (bot_id, user_id), populate_existing=True)
    if user is None:
        user = BotUser(bot_id=bot_id, user_id=user_id, data={})
        db.session.add(user)
    return user


def _waiting_step(state: dict) -> str | None:
    """The step a conversation waits at, kept in a column of its own so analytics need not read the state."""
    waiting = state.get("waiting")
    return waiting.get("step") if waiting else None


def _user_of(conversation: Conversation | tuple) -> dict:
    """The bot's `user`: its id and channel, and `phone` when a platform user's address is a number."""
    phone = phones.phone_of(conversation.user_id, conversation.channel)
    return {"id": conversation.user_id, "channel": conversation.channel, **({"phone": phone} if phone else {})}


class _Turn:
    """A turn's results as rows to write: its activities stamped and numbered, its NLP misses, FAQ matches
    and the steps it ran.

    `conversation` is the ORM row (`start_conversation`) or the loaded Core row (`handle`): only its
    id, bot, user and channel are read. The rows are dicts keyed by column name, fit for the ORM
    constructors as for Core inserts.
    """

    def __init__(self, conversation: Conversation | tuple, seq: int, bot: Bot, result: engine.TurnResult,
                 now: datetime, inp: Input | None, inbound_activity: dict | None = None,
                 client_key: str | None = None):
        self.transcript: list[dict] = []
        stamps = {"conversation_id": conversation.id, "channel": conversation.channel}
        moment, reply_to, self.user_spoke = now, None, inp is not None and from_user(inp)
        if inp is not None:
            seq += 1
            told = from_outside(inbound_activity, conversation.user_id) if inbound_activity else from_input(inp)
            inbound = stamp(told, seq=seq, moment=moment,
                            sender={"id": conversation.user_id, "role": "user"}, **stamps)
            self._append(conversation, seq, "in", inbound, now, client_key)
            reply_to = inbound["id"] if self.user_spoke else None
        sender = {"id": bot.id, "name": bot.doc.get("name") or bot.id, "role": "bot"}
        outbound = []
        for activity in result.activities:
            seq, moment = seq + 1, moment + TICK
            for rewrite in outbound_rewrites:
                activity = rewrite(activity, conversation.bot_id, conversation.user_id)
            reply = {**activity, "replyToId": reply_to} if reply_to else activity
            outbound.append(stamp(reply, seq=seq, moment=moment, sender=sender, **stamps))
            self._append(conversation, seq, "out", outbound[-1], now)
        self.seq, self.moment = seq, moment  # the conversation's new activity_seq and updated_at
        who = {"bot_id": conversation.bot_id, "user_id": conversation.user_id, "conversation_id": conversation.id,
               "timestamp": now}
        self.nlp_log, self.fuzzy_log = [], []
        for entry in result.logs:
            if entry.get("kind") == "nlp-miss":
                self.nlp_log.append({**who, "dialog_id": entry.get("dialog"), "step_id": entry.get("step"),
                                     "step_type": entry.get("stepType"), "query": entry.get("query"),
                                     "model_id": entry.get("model", "fuzzy"), "intent": entry.get("intent"),
                                     "result": entry.get("result")})
            elif entry.get("kind") == "faq-match":
                self.fuzzy_log.append({**who, "dialog_id": entry.get("dialog"), "step_id": entry.get("step"),
                                       "intent": entry.get("intent"), "score": entry["score"], "text": entry["text"],
                                       "matched": entry["matched"], "other_classifications": entry["others"],
                                       "processed": False})
        # Each step once per turn: reach counts conversations, not loops inside one turn.
        self.visits = [{"bot_id": conversation.bot_id, "conversation_id": conversation.id, "step_id": step,
                        "at": now} for step in dict.fromkeys(result.visited)]
        self.saved = _Saved(outbound, result.logs, result.effects, self.transcript)

    def _append(self, conversation: Conversation | tuple, seq: int, direction: str, activity: dict,
                now: datetime, client_key: str | None = None) -> None:
        self.transcript.append({"conversation_id": conversation.id, "seq": seq, "direction": direction,
                                "activity": activity, "client_key": client_key, "created_at": now})


def _after_commit(conversation: Conversation | tuple, saved: _Saved) -> None:
    """Log the turn's errors and hand its effects on, once: a retried attempt left no trace."""
    for entry in saved.logs:
        if entry.get("kind") == "error":
            log.error("bot %s, conversation %s, dialog %s, step %s: %s", conversation.bot_id, conversation.id,
                      entry.get("dialog"), entry.get("step"), entry.get("message"))
    if conversation.channel == DRY_RUN_CHANNEL:
        return
    app = current_app._get_current_object()
    if saved.effects:
        effects_ready.send(app, conversation_id=conversation.id, effects=saved.effects)
    if saved.transcript and turn_committed.receivers:
        turn_committed.send(app, conversation=conversation, transcript=saved.transcript, effects=saved.effects,
                            closed=saved.closed)


def _integration_calls(conversation: Conversation | tuple, effects: list[dict]) -> list[dict]:
    """Carry out the integration calls a committed turn asked for (never inside its transaction: a call may
    take seconds); a sync call's result is applied as the next turn, whose activities are returned here, so
    the user gets the answer in the same response. The integrations package installs the hook."""
    calls = [effect for effect in effects if effect["type"] == "integration.call"]
    carry_out = current_app.extensions.get("arbor.integration-calls") if calls else None
    return carry_out(conversation, calls) if carry_out else []
