"""Handover sessions as agents see them: the queue, accepting, replying, closing.

A session opens when a handover step runs (`runtime.turns.handover` opens it in the turn) or when a platform
connection sends every message to people (`open`). Each operation is one transaction through
`runtime.turns.turn` (`handle`/`append`), so what an agent does lands in the bot's transcript in order with the
user's messages, reaches the webchat and the platforms like the bot's messages, and is announced to the
outgoing webhooks. Status only moves forward (waiting -> active -> closed) by conditional updates: of two
agents accepting at once one wins and the other gets `AlreadyTaken`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import Connection, or_, select, update

from runtime.extensions import db
from runtime.steps.base import Input
from runtime.store import bots, statements, storable
from runtime.store.models import Bot, BotUser, Conversation, HandoverSession, utcnow
from runtime.turns import turn
from runtime.turns.handover import AlreadyHandedOver, notice, session_row

WAITING, ACTIVE, CLOSED = "waiting", "active", "closed"
# Why a session closed (`close_reason`): an agent (or the API) closed it; nobody accepted it within its timeout
# (abandoned: the bot went on); a trigger took the conversation elsewhere.
BY_AGENT, BY_TIMEOUT, BY_TRIGGER = "agent", "timeout", "trigger"
MAX_TEXT = 4000


class HandoverError(Exception):
    """An agent's action that cannot be done; the message says why, for the agent."""


class HandoverNotFound(HandoverError, LookupError):
    def __init__(self, session_id: str):
        super().__init__(f"There is no handover '{session_id}'.")


class AlreadyTaken(HandoverError):
    def __init__(self, session: HandoverSession):
        super().__init__(f"{session.agent_name or 'Another agent'} accepted this conversation already.")
        self.agent_name = session.agent_name


class HandoverClosed(HandoverError):
    def __init__(self, session: HandoverSession):
        if session.close_reason == BY_TIMEOUT:
            why = "Nobody accepted this handover in time, so the bot went on"
        elif session.close_reason == BY_TRIGGER:
            why = "The bot took this conversation back"
        else:
            why = f"This handover was closed{' by ' + session.closed_by if session.closed_by else ''}"
        super().__init__(f"{why}; nothing more can be sent in it.")


class NotAccepted(HandoverError):
    """A reply to a session nobody accepted yet, or that another agent holds."""


CONFLICTS = (AlreadyTaken, HandoverClosed, NotAccepted)
"""The errors that say the session is not in a state for the action (409 on the web), rather than the input
being wrong (the text: 400)."""


def get(session_id: str) -> HandoverSession:
    session = db.session.get(HandoverSession, session_id, populate_existing=True)
    if session is None:
        raise HandoverNotFound(session_id)
    return session


def open_of(conversation_id: str) -> HandoverSession | None:
    """The conversation's open session, if one holds it."""
    session_id = db.session.scalar(select(Conversation.handover_id).where(Conversation.id == conversation_id))
    return get(session_id) if session_id else None


def open(conversation_id: str, *, queue: str | None = None) -> HandoverSession:  # noqa: A001 - the store's verb
    """Hand the conversation to people without a handover step (a connection whose messages go to agents);
    the open session if there is one."""
    current = open_of(conversation_id)
    if current is not None:
        return current
    conversation = db.session.get(Conversation, conversation_id)
    if conversation is None:
        raise turn.ConversationNotFound(conversation_id)
    row = session_row(conversation, queue=queue, step=None, now=utcnow())
    session_id = row["id"]

    def insert(connection: Connection) -> None:
        connection.execute(statements.INSERT_HANDOVER, row)

    try:
        turn.append(conversation_id, [], alongside=insert, handover=session_id,
                             effects=[{"type": "handover", "session": session_id, "queue": queue, "step": None}])
    except AlreadyHandedOver as e:  # another message of the user opened one meanwhile
        return get(e.session_id)
    return get(session_id)


def listed(bot_ids: Iterable[str] | None = None, *, statuses: Iterable[str] = (WAITING, ACTIVE),
           queues: Iterable[str | None] | None = None, limit: int = 200) -> list[HandoverSession]:
    """Sessions in the given states, oldest first (the queue's order), of some bots (None: all), in some
    queues (None: all; a None among them: the sessions of handover steps that name no queue)."""
    query = _of(select(HandoverSession).where(HandoverSession.status.in_(list(statuses))), bot_ids, queues)
    return list(db.session.scalars(query.order_by(HandoverSession.created_at).limit(limit)))


def recently_closed(bot_ids: Iterable[str] | None = None, *, queues: Iterable[str | None] | None = None,
                    since: datetime, limit: int = 20) -> list[HandoverSession]:
    """Closed sessions handed over from `since` on, of some bots and queues (as `listed`), the last closed
    first. Bounded by when they were handed over, so a poll reads recent rows only (through the index)."""
    query = _of(select(HandoverSession).where(HandoverSession.status == CLOSED, HandoverSession.created_at >= since),
                bot_ids, queues)
    return list(db.session.scalars(query.order_by(HandoverSession.closed_at.desc(), HandoverSession.id)
                                   .limit(limit)))


def _of(query, bot_ids: Iterable[str] | None, queues: Iterable[str | None] | None):
    if bot_ids is not None:
        query = query.where(HandoverSession.bot_id.in_(list(bot_ids)))
    if queues is not None:
        queues = list(queues)
        named = HandoverSession.queue.in_([q for q in queues if q is not None])
        query = query.where(or_(named, HandoverSession.queue.is_(None)) if None in queues else named)
    return query


def due_at(session: HandoverSession) -> datetime | None:
    """When the handover step stops waiting for an agent (None: it waits until someone acts)."""
    return session.created_at + timedelta(seconds=session.timeout) if session.timeout else None


def overdue(session: HandoverSession, now: datetime) -> bool:
    """Still waiting after its timeout: the timer that gives the conversation back to the bot has not run
    (the job worker is down or behind), so the user still waits for a person nobody sent."""
    due = due_at(session)
    return session.status == WAITING and due is not None and now >= due


def queue_names(bot_ids: Iterable[str] | None = None) -> list[str]:
    """The queues of some bots (None: all): those their published handover steps name, and those of their
    sessions (a queue the bot no longer names may still hold conversations)."""
    used = select(HandoverSession.queue).where(HandoverSession.queue.is_not(None)).distinct()
    published = select(Bot.id, Bot.published_version).where(Bot.published_version.is_not(None))
    if bot_ids is not None:
        ids = list(bot_ids)
        used, published = used.where(HandoverSession.bot_id.in_(ids)), published.where(Bot.id.in_(ids))
    names = set(db.session.scalars(used))
    for bot_id, version in db.session.execute(published).all():
        names.update(step["queue"] for step in bots.load_indexed(bot_id, version).steps.values()
                     if step["type"] == "handover" and step.get("queue"))
    return sorted(names)


def accept(session_id: str, agent: dict) -> HandoverSession:
    """`agent` ({"id", "name"}) takes the session; the user is told who joined."""
    session = get(session_id)
    name = _name(agent)

    def take(connection: Connection) -> None:
        taken = connection.execute(
            update(HandoverSession).where(HandoverSession.id == session_id, HandoverSession.status == WAITING)
            .values(status=ACTIVE, agent_id=str(agent["id"]), agent_name=name, accepted_at=utcnow()))
        if taken.rowcount != 1:
            raise _why_not(session_id)

    if session.status != WAITING:
        raise _why_not(session_id)
    turn.append(session.conversation_id,
                [notice("agent-joined", f"{name} joined the conversation.", agent=name)],
                alongside=take,
                effects=[{"type": "handover.accepted", "session": session_id, "agent": _public(agent)},
                         *([{"type": "timer.cancel", "step": session.step_id}] if session.step_id else [])])
    return get(session_id)


def post(session_id: str, agent: dict, text: str) -> dict:
    """The agent's message to the user, in the transcript as the bot's are (sent as the agent)."""
    text = (text or "").strip()
    if not text:
        raise HandoverError("Write a message first.")
    if len(text) > MAX_TEXT:
        raise HandoverError(f"A message has at most {MAX_TEXT} characters; this one has {len(text)}.")
    refused = storable.refusal(text)
    if refused:
        raise HandoverError(refused)
    session = get(session_id)

    def still_mine(connection: Connection) -> None:
        status, holder = connection.execute(select(HandoverSession.status, HandoverSession.agent_id)
                                            .where(HandoverSession.id == session_id)).one()
        if status != ACTIVE or holder != str(agent["id"]):
            raise _why_not(session_id, agent)

    if session.status != ACTIVE or session.agent_id != str(agent["id"]):
        raise _why_not(session_id, agent)
    message = {"type": "message", "text": text, "textFormat": "plain",
               "from": {"id": f"agent:{agent['id']}", "name": _name(agent), "role": "bot"},
               "channelData": {"arbor": {"agent": _name(agent), "handover": session_id}}}
    return turn.append(session.conversation_id, [message], alongside=still_mine)[0]


def close(session_id: str, *, by: dict) -> list[dict]:
    """End the session; the bot takes over again (the handover step goes on). Returns what was said: the
    notice and the bot's answer."""
    session = get(session_id)
    if session.status == CLOSED:
        raise HandoverClosed(session)
    name = _name(by)
    closed_at = utcnow()

    def end(connection: Connection) -> None:
        ended = connection.execute(statements.END_HANDOVER,
                                   {"session_id": session_id, "at": closed_at, "by": name, "reason": BY_AGENT})
        if ended.rowcount != 1:
            raise _why_not(session_id)

    said = [notice("agent-left", f"{name} left the conversation.", agent=name)] \
        if session.status == ACTIVE else []
    aside = {"alongside": end, "effects": [{"type": "handover.closed", "session": session_id, "by": _public(by)}],
             "handover": None}
    if session.step_id:
        return turn.handle(session.conversation_id, Input.result(session.step_id, {"ok": True}),
                                    say=said, **aside)
    return turn.append(session.conversation_id, said, **aside)


def user_data(session: HandoverSession) -> dict:
    user = db.session.get(BotUser, (session.bot_id, session.user_id), populate_existing=True)
    return dict(user.data) if user else {}


def as_json(session: HandoverSession) -> dict:
    """The session as the API and webhooks show it."""
    return {"id": session.id, "bot": session.bot_id, "conversationId": session.conversation_id,
            "userId": session.user_id, "channel": session.channel, "queue": session.queue, "status": session.status,
            "agent": {"id": session.agent_id, "name": session.agent_name} if session.agent_id else None,
            "createdAt": _iso(session.created_at), "acceptedAt": _iso(session.accepted_at),
            "closedAt": _iso(session.closed_at), "closedBy": session.closed_by, "closeReason": session.close_reason,
            "timeout": session.timeout}


def _why_not(session_id: str, agent: dict | None = None) -> HandoverError:
    """Why an action on the session cannot be done, read fresh (another agent may have just acted)."""
    db.session.rollback()
    session = get(session_id)
    if session.status == CLOSED:
        return HandoverClosed(session)
    if session.status == ACTIVE and (agent is None or session.agent_id != str(agent["id"])):
        return AlreadyTaken(session)
    return NotAccepted("Accept the conversation before you reply.")


def _name(agent: dict) -> str:
    return str(agent.get("name") or agent["id"])[:255]


def _public(agent: dict) -> dict:
    return {"id": str(agent["id"]), "name": _name(agent)}


def _iso(moment) -> str | None:
    return moment.isoformat() if moment else None

