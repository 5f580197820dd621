"""The turn's side of a handover: while a session holds the conversation people answer, not the bot.

A handover step asks for people with a `handover` effect; its in-turn handler (`open_session`) opens the session
in the turn's own transaction. While it is open the user's messages are kept for the agents and the bot is not
run (`with_people`); a trigger from outside, or the step's timer with no agent yet, gives the conversation back
(`end`). What agents do (accept, reply, close) is `runtime.store.handovers`, through the same turn.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING
from uuid import uuid4

from flask import Flask
from sqlalchemy import Connection

from runtime.steps._phrases import phrase
from runtime.steps.base import Input
from runtime.store import statements
from runtime.turns import effects

if TYPE_CHECKING:
    from runtime.turns.turn import Turn

KEEP: str = "keep"
"""`handover=KEEP` (the default of `append` and `handle`): the conversation's open handover stays as it is."""

NOTICES = {"agent-joined": "{name} joined the conversation.", "agent-left": "{name} left the conversation.",
           "bot-back": "The bot took over the conversation again."}
"""What the notices say, in English; `in_language` says them in the conversation's language."""


class AlreadyHandedOver(Exception):
    """`append(..., handover=new id)` found another session holding the conversation (opened meanwhile)."""

    def __init__(self, session_id: str):
        super().__init__(f"The handover '{session_id}' holds this conversation already.")
        self.session_id = session_id


def init_app(app: Flask) -> None:
    effects.registry(app).on_turn("handover", open_session)


def notice(kind: str, text: str, **about) -> dict:
    """A line both widgets show (an agent joined or left): a plain message that says what it is in
    `channelData`, so Arbor's widget can set it apart and other Direct Line clients still show its text.
    The turn that says it puts it in the conversation's language (`in_language`)."""
    return {"type": "message", "text": text, "textFormat": "plain",
            "channelData": {"arbor": {"notice": kind, **about}}}


def in_language(activity: dict, language: str | None) -> dict:
    """A notice in the conversation's language, when Arbor has words for it in that language (en, cs, de)."""
    about = ((activity.get("channelData") or {}).get("arbor") or {})
    english = NOTICES.get(about.get("notice"))
    if not language or english is None:
        return activity
    text = phrase(language, english).replace("{name}", str(about.get("agent") or ""))
    return {**activity, "text": text}


def session_row(conversation, *, queue: str | None, step: str | None, now: datetime,
                timeout: int | None = None) -> dict:
    """A new handover session of the conversation, waiting in `queue` (for `timeout` seconds at most, if
    given), as a row to insert."""
    return {"id": uuid4().hex, "bot_id": conversation.bot_id, "conversation_id": conversation.id,
            "user_id": conversation.user_id, "channel": conversation.channel, "queue": queue, "step_id": step,
            "status": "waiting", "created_at": now, "timeout": timeout}


def check_free(held_by: str | None, opening: str | None) -> None:
    """A session opened from outside (`append(handover=id)`) needs the conversation free of any other."""
    if opening not in (KEEP, None) and held_by not in (None, opening):
        raise AlreadyHandedOver(held_by)


def open_session(turn: Turn, effect: dict) -> None:
    """In-turn handler of `handover`: open a session with the turn (its id goes into the effect, for the
    webhooks); of two in one turn the last stands."""
    if turn.conversation.channel == effects.DRY_RUN_CHANNEL:
        return
    timeout = (turn.bot.steps.get(effect.get("step")) or {}).get("timeout")
    row = session_row(turn.conversation, queue=effect.get("queue"), step=effect.get("step"), now=turn.now,
                      timeout=timeout)
    turn.write("handover.open", lambda connection: connection.execute(statements.INSERT_HANDOVER, row))
    effect["session"] = turn.handover = row["id"]


def with_people(connection: Connection, session_id: str, inp: Input) -> bool:
    """Whether the open handover keeps `inp` from the bot: the user's messages and events always; the step's
    timer only once an agent accepted (before that, nobody answering in time ends the handover)."""
    if inp.kind in ("message", "event"):
        return True
    if inp.kind != "timeout":
        return False
    status, step_id = connection.execute(statements.HANDOVER, {"session_id": session_id}).one()
    return status != "waiting" or step_id != inp.step


def end(turn: Turn, why: str) -> list[dict]:
    """A trigger from outside, or the handover step's timer with no agent yet, gives the conversation back to
    the bot: close its session. After a trigger the user is told; after a timeout the step's own steps speak."""
    by = "bot" if why == "trigger" else "timeout"
    session_id = turn.conversation.handover_id
    turn.write("handover.end", lambda connection: connection.execute(statements.END_HANDOVER, {
        "session_id": session_id, "at": turn.now, "by": by, "reason": why}))
    turn.handover = None
    turn.extra.append({"type": "handover.closed", "session": session_id, "by": by})
    return [notice("bot-back", NOTICES["bot-back"])] if why == "trigger" else []
