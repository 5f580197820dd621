"""The conversation store: the one turn function every channel calls.

A turn loads the conversation, its user's data and the bot version to run, lets the engine apply the
input, and saves the new position, data, transcript and logs in one transaction. Two inputs for one
conversation at once are serialized: the conversation and user rows carry version columns, and a turn
that lost the race is redone from the start on fresh rows (`retry.in_transaction`); `_hold` makes
contending turns of one conversation wait rather than race. An inbound activity is applied once:
its client key is unique per conversation, and a key seen before gets back the replies it got then.

What the engine asks to be done after a turn (timers, calls) is announced through `effects_ready`
once the turn is committed; whoever carries effects out subscribes to it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from uuid import uuid4

from blinker import Namespace
from flask import current_app
from sqlalchemy import func, or_, select

from runtime import engine
from runtime.botdoc import Bot
from runtime.extensions import db
from runtime.steps.base import Input
from runtime.store import bots
from runtime.store.activities import TICK, from_input, from_user, stamp
from runtime.store.models import Bot as BotRow
from runtime.store.models import BotUser, Conversation, NlpLogEntry, TranscriptEntry, utcnow
from runtime.store.retry import in_transaction

log = logging.getLogger(__name__)

effects_ready = Namespace().signal("effects-ready")
"""Sent with the app as sender and `conversation_id`, `effects` (list of dicts) after a committed turn."""


class ConversationNotFound(LookupError):
    def __init__(self, conversation_id: str):
        super().__init__(f"There is no conversation '{conversation_id}'.")
        self.conversation_id = conversation_id


@dataclass
class _Saved:
    """What one committed turn leaves to do outside its transaction."""

    activities: list[dict]
    logs: list[dict] = field(default_factory=list)
    effects: list[dict] = field(default_factory=list)


def start_conversation(
    bot_id: str, user_id: str, channel: str, *, data: dict | None = None, first: Input | None = None,
    version: int | None = None,
) -> tuple[Conversation, list[dict]]:
    """Open a conversation and run the bot's start dialog, so the bot speaks first.

    Runs the latest published version (`version` picks another; 0 is the draft) or raises
    `bots.BotNotPublished`. `data` (e.g. the page's user data) is merged into the user's data first;
    `first` is an input the conversation began with, applied after the start dialog.
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
        db.session.add(conversation)
        now = utcnow()
        result = engine.start(indexed, {**user.data, **(data or {})}, user=_user_of(conversation),
                              now=now, first=first)
        return conversation, _save(conversation, user, indexed, result, now, first)

    conversation, saved = in_transaction(attempt)
    _after_commit(conversation, saved)
    return conversation, saved.activities


def handle(conversation_id: str, inp: Input, *, client_key: str | None = None,
           inbound_activity: dict | None = None) -> list[dict]:
    """Apply one input to a conversation and return the stamped activities the bot answered with.

    `inbound_activity` is kept in the transcript as received (plus stamps); without it one is built
    from `inp`. With a `client_key` seen before in this conversation nothing is applied again: the
    activities answered the first time are returned.
    """

    def attempt() -> tuple[Conversation, _Saved]:
        conversation = _hold(conversation_id)
        if conversation is None:
            raise ConversationNotFound(conversation_id)
        if client_key is not None:
            answered = _answered(conversation_id, client_key)
            if answered is not None:
                return conversation, _Saved(answered)
        number = _version_to_run(conversation)
        indexed = bots.load_indexed(conversation.bot_id, number)
        user = _bot_user(conversation.bot_id, conversation.user_id)
        now = max(utcnow(), conversation.updated_at + TICK)
        result = engine.turn(indexed, conversation.state, user.data, inp, user=_user_of(conversation),
                             now=now)
        conversation.bot_version = number
        saved = _save(conversation, user, indexed, result, now, inp, inbound_activity, client_key)
        return conversation, saved

    conversation, saved = in_transaction(attempt)
    _after_commit(conversation, saved)
    return saved.activities


def transcript(conversation_id: str, after_seq: int = 0) -> list[dict]:
    """The conversation's stamped activities, both directions, after sequence number `after_seq`."""
    return list(db.session.scalars(
        select(TranscriptEntry.activity)
        .where(TranscriptEntry.conversation_id == conversation_id, TranscriptEntry.seq > after_seq)
        .order_by(TranscriptEntry.seq)))


def _hold(conversation_id: str) -> Conversation | None:
    """Load the conversation and keep other turns of it waiting until this one commits.

    Not needed for correctness (the version checks are), but contending turns then wait instead of
    each running the bot only to lose the race: PostgreSQL locks the row; SQLite, which has one
    writer anyway, takes its write lock now rather than at the first write.
    """
    connection = db.session.connection()
    if connection.dialect.name != "sqlite":
        return db.session.get(Conversation, conversation_id, populate_existing=True, with_for_update=True)
    if not connection.connection.dbapi_connection.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    return db.session.get(Conversation, conversation_id, populate_existing=True)


def _version_to_run(conversation: Conversation) -> int:
    """The draft stays the draft; otherwise the latest published version, so republishing takes effect."""
    if conversation.bot_version == bots.DRAFT:
        return bots.DRAFT
    published = db.session.scalar(select(BotRow.published_version).where(BotRow.id == conversation.bot_id))
    return published or conversation.bot_version


def _bot_user(bot_id: str, user_id: str) -> BotUser:
    user = db.session.get(BotUser, (bot_id, user_id), populate_existing=True)
    if user is None:
        user = BotUser(bot_id=bot_id, user_id=user_id, data={})
        db.session.add(user)
    return user


def _user_of(conversation: Conversation) -> dict:
    return {"id": conversation.user_id, "channel": conversation.channel}


def _answered(conversation_id: str, client_key: str) -> list[dict] | None:
    """The replies to the inbound activity with this client key, or None if it was never received.

    A turn's rows are contiguous (turns are serialized): its inbound row, then its outbound rows.
    """
    row = TranscriptEntry
    seq = db.session.scalar(select(row.seq).where(row.conversation_id == conversation_id,
                                                  row.client_key == client_key))
    if seq is None:
        return None
    next_inbound = (select(func.min(row.seq))
                    .where(row.conversation_id == conversation_id, row.direction == "in", row.seq > seq)
                    .scalar_subquery())
    return list(db.session.scalars(
        select(row.activity)
        .where(row.conversation_id == conversation_id, row.direction == "out", row.seq > seq,
               or_(next_inbound.is_(None), row.seq < next_inbound))
        .order_by(row.seq)))


def _save(conversation: Conversation, user: BotUser, bot: Bot, result: engine.TurnResult, now: datetime,
          inp: Input | None, inbound_activity: dict | None = None, client_key: str | None = None) -> _Saved:
    """Stamp and append the turn's activities, store the new position and data, write NLP misses."""
    seq, moment = conversation.activity_seq, now
    stamps = {"conversation_id": conversation.id, "channel": conversation.channel}
    reply_to = None
    if inp is not None:
        seq += 1
        inbound = stamp(inbound_activity or from_input(inp), seq=seq, moment=moment,
                        sender={"id": conversation.user_id, "role": "user"}, **stamps)
        _append(conversation, seq, "in", inbound, now, client_key)
        if from_user(inp):
            reply_to = inbound["id"]
            user.last_message_at = now
    sender = {"id": bot.id, "name": bot.doc.get("name") or bot.id, "role": "bot"}
    outbound = []
    for activity in result.activities:
        seq, moment = seq + 1, moment + TICK
        reply = {**activity, "replyToId": reply_to} if reply_to else activity
        outbound.append(stamp(reply, seq=seq, moment=moment, sender=sender, **stamps))
        _append(conversation, seq, "out", outbound[-1], now)
    conversation.state = result.state
    conversation.activity_seq = seq
    conversation.updated_at = moment
    user.data = result.data
    for entry in result.logs:
        if entry.get("kind") == "nlp-miss":
            db.session.add(NlpLogEntry(
                bot_id=conversation.bot_id, user_id=conversation.user_id, conversation_id=conversation.id,
                timestamp=now, dialog_id=entry.get("dialog"), step_id=entry.get("step"),
                step_type=entry.get("stepType"), query=entry.get("query")))
    return _Saved(outbound, result.logs, result.effects)


def _append(conversation: Conversation, seq: int, direction: str, activity: dict, now: datetime,
            client_key: str | None = None) -> None:
    db.session.add(TranscriptEntry(conversation_id=conversation.id, seq=seq, direction=direction,
                                   activity=activity, client_key=client_key, created_at=now))


def _after_commit(conversation: Conversation, saved: _Saved) -> None:
    """Log the turn's errors and hand its effects on, once: a retried attempt left no trace."""
    for entry in saved.logs:
        if entry.get("kind") == "error":
            log.error("bot %s, conversation %s, dialog %s, step %s: %s", conversation.bot_id, conversation.id,
                      entry.get("dialog"), entry.get("step"), entry.get("message"))
    if saved.effects:
        effects_ready.send(current_app._get_current_object(), conversation_id=conversation.id,
                           effects=saved.effects)
