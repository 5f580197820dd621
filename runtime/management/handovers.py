"""The handover part of the management API, for contact-centre software that does what the agent console does:
list the handed-over conversations, read one (transcript and user data), accept, post agent messages, close.
Views only: `register(bp)` adds them to the management blueprint, whose guard checks the function key
(`/b/<bot>/api/management/handovers...`). The outgoing webhooks tell such software when to look
(`handover`, `message.received`, `handover.closed`).
"""

from __future__ import annotations

from flask import Blueprint, request
from werkzeug.exceptions import BadRequest, Conflict, NotFound

from runtime.management.body import json_object
from runtime.store import handovers
from runtime.store.models import HandoverSession
from runtime.turns.transcript import transcript

STATUSES = (handovers.WAITING, handovers.ACTIVE, handovers.CLOSED)


NO_QUEUE = "-"  # in ?queue=: the sessions of handover steps that name no queue


def register(bp: Blueprint) -> None:
    for rule, view, methods in (
            ("/handovers", list_sessions, ["GET"]), ("/handovers/<session>", show, ["GET"]),
            ("/handovers/<session>/accept", accept, ["POST"]), ("/handovers/<session>/messages", post, ["POST"]),
            ("/handovers/<session>/close", close, ["POST"])):
        bp.add_url_rule(rule, view_func=view, endpoint=f"handovers_{view.__name__}", methods=methods)


def list_sessions(bot: str):
    """`?status=waiting,active` (the default) or any of waiting, active, closed; `?queue=billing,refunds` only
    those queues (`-` stands for no queue); oldest first."""
    statuses = [s for s in request.args.get("status", "waiting,active").split(",") if s]
    if not statuses or any(s not in STATUSES for s in statuses):
        raise BadRequest(f"status is a comma-separated list of: {', '.join(STATUSES)}.")
    queues = None
    if "queue" in request.args:
        queues = [None if q == NO_QUEUE else q for q in (q.strip() for q in request.args["queue"].split(",")) if q]
        if not queues:
            raise BadRequest(f"queue is a comma-separated list of queue names ({NO_QUEUE} for no queue).")
    found = handovers.listed([bot], statuses=statuses, queues=queues)
    return {"handovers": [handovers.as_json(s) for s in found]}


def show(bot: str, session: str):
    """The session, its conversation's transcript (after `?after=` a sequence number) and the user's data."""
    after = request.args.get("after", "0")
    if not after.isdigit():
        raise BadRequest("after is the sequence number of the last activity you have (a whole number).")
    found = _session(bot, session)
    return {**handovers.as_json(found), "userData": handovers.user_data(found),
            "transcript": transcript(found.conversation_id, int(after))}


def accept(bot: str, session: str):
    """Body: `{"agent": {"id", "name"}}`. 409 when another agent was first or the session is closed."""
    found = _session(bot, session)
    agent = _agent(json_object())
    return _checked(lambda: handovers.as_json(handovers.accept(found.id, agent)))


def post(bot: str, session: str):
    """Body: `{"agent": {"id", "name"}, "text"}`: the agent who accepted says something to the user."""
    found, body = _session(bot, session), json_object()
    agent, text = _agent(body), body.get("text")
    if not isinstance(text, str):
        raise BadRequest("text is the message to send, a string.")
    return {"activity": _checked(lambda: handovers.post(found.id, agent, text))}, 201


def close(bot: str, session: str):
    """Body: `{"agent": {"id", "name"}}`. The bot takes over again; the answer holds what the user was sent."""
    found = _session(bot, session)
    agent = _agent(json_object())
    said = _checked(lambda: handovers.close(found.id, by=agent))
    return {**handovers.as_json(handovers.get(found.id)), "activities": said}


def _session(bot: str, session_id: str) -> HandoverSession:
    """The session the URL names, or 404: looked up before the body is read, so a wrong id is told as such."""
    try:
        found = handovers.get(session_id)
    except handovers.HandoverNotFound as e:
        raise NotFound(str(e)) from None
    if found.bot_id != bot:  # another bot's session is none of this key's business
        raise NotFound(f"There is no handover '{session_id}'.")
    return found


def _agent(body: dict) -> dict:
    agent = body.get("agent")
    if not isinstance(agent, dict) or not isinstance(agent.get("id"), str | int) or not str(agent["id"]).strip() \
            or not isinstance(agent.get("name", ""), str):
        raise BadRequest('agent is {"id": "...", "name": "..."}: who does this (the id your software knows).')
    return {"id": f"api:{str(agent['id'])[:200]}", "name": (agent.get("name") or str(agent["id"]))[:200]}


def _checked(work):
    try:
        return work()
    except handovers.CONFLICTS as e:
        raise Conflict(str(e)) from None
    except handovers.HandoverError as e:
        raise BadRequest(str(e)) from None
