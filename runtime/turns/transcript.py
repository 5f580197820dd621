"""The transcript and the logs a turn leaves: what it said, numbered and stamped, and what it learned.

A turn's activities (the input, then the bot's answers) become transcript rows with the conversation's next
sequence numbers, each stamped a tick later than the one before (`activities.stamp`); its NLP misses and FAQ
matches become log rows, and the steps it ran become visits. The rows are dicts keyed by column name, written
by the turn's one save (`turn.py`) with Core inserts.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from runtime import engine
from runtime.botdoc import Bot
from runtime.extensions import db
from runtime.steps.base import Input
from runtime.store import statements
from runtime.store.activities import TICK, from_input, from_outside, from_user, stamp


class Rows:
    """One turn's rows to write: `transcript`, `nlp_log`, `fuzzy_log`, `visits`; and where the conversation now
    stands (`seq`, its new activity_seq, and `moment`, its new updated_at).

    `conversation` is read for its id, bot, user and channel only; `rewrite(activity)` is applied to each activity
    the bot sends before it is stamped (the `OUTGOING` handler).
    """

    def __init__(self, conversation, seq: int, bot: Bot, result: engine.TurnResult, now: datetime,
                 inp: Input | None, *, inbound_activity: dict | None = None, client_key: str | None = None,
                 rewrite: Callable[[dict], dict] | None = None):
        self.transcript: list[dict] = []
        self.outbound: list[dict] = []
        stamps = {"conversation_id": conversation.id, "channel": conversation.channel}
        moment, reply_to, self.user_spoke = now, None, inp is not None and from_user(inp)
        if inp is not None:
            seq += 1
            told = from_outside(inbound_activity, conversation.user_id) if inbound_activity else from_input(inp)
            inbound = stamp(told, seq=seq, moment=moment, sender={"id": conversation.user_id, "role": "user"},
                            **stamps)
            self._append(conversation.id, seq, "in", inbound, now, client_key)
            reply_to = inbound["id"] if self.user_spoke else None
        sender = {"id": bot.id, "name": bot.doc.get("name") or bot.id, "role": "bot"}
        for activity in result.activities:
            seq, moment = seq + 1, moment + TICK
            if rewrite is not None:
                activity = rewrite(activity)
            reply = {**activity, "replyToId": reply_to} if reply_to else activity
            self.outbound.append(stamp(reply, seq=seq, moment=moment, sender=sender, **stamps))
            self._append(conversation.id, seq, "out", self.outbound[-1], now)
        self.seq, self.moment = seq, moment
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

    def _append(self, conversation_id: str, seq: int, direction: str, activity: dict, now: datetime,
                client_key: str | None = None) -> None:
        self.transcript.append({"conversation_id": conversation_id, "seq": seq, "direction": direction,
                                "activity": activity, "client_key": client_key, "created_at": now})


def transcript(conversation_id: str, after_seq: int = 0) -> list[dict]:
    """The conversation's stamped activities, both directions, after sequence number `after_seq`."""
    return list(db.session.connection().scalars(statements.TRANSCRIPT, {
        "conversation_id": conversation_id, "after_seq": after_seq}))


def rows_between(conversation_id: str, first: int, last: int) -> list[dict]:
    """The transcript rows (seq, direction, activity) from `first` to `last`: a committed turn's, read again."""
    return [row._asdict() for row in db.session.connection().execute(statements.ROWS_BETWEEN, {
        "conversation_id": conversation_id, "first": first, "last": last})]
