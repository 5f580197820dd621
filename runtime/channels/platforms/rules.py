"""Who answers a connection's users, by its rule.

`bot-first` (the default, and how the webchat works): the bot answers until a handover step hands the
conversation to people, who have it until they close. `agent`: people answer everything; a handover is
opened before each message if none is, and the bot never runs. `bot`: the bot keeps every conversation;
a handover step's session is closed at once, as if an agent had closed it, and the bot goes on.
"""

from __future__ import annotations

import logging

from runtime.channels.platforms.models import AGENT, BOT, PlatformConnection
from runtime.store import handovers

log = logging.getLogger(__name__)


def before_message(connection: PlatformConnection, conversation_id: str) -> None:
    """Before a user's message is applied: under `agent`, make sure people hold the conversation."""
    if connection.rule == AGENT:
        handovers.open(conversation_id)


def after_turn(connection: PlatformConnection, conversation_id: str, effects: list[dict]) -> None:
    """After a committed turn: under `bot`, close the handover a step just opened."""
    if connection.rule != BOT:
        return
    for effect in effects:
        if effect.get("type") == "handover" and effect.get("session"):
            log.info("platform connection %s/%s keeps its conversations with the bot: closed handover %s of "
                     "conversation %s at once", connection.bot_id, connection.slug, effect["session"],
                     conversation_id)
            try:
                handovers.close(effect["session"], by={"id": f"platform:{connection.slug}", "name": connection.name})
            except handovers.HandoverError as e:  # closed meanwhile (by an agent, a trigger): nothing to do
                log.info("handover %s: %s", effect["session"], e)


def agents_closed(conversation_id: str) -> None:
    """The platform's agents closed their conversation (Webex Connect's CCSP): the open handover closes and
    the bot has the user again."""
    session = handovers.open_of(conversation_id)
    if session is None:
        return
    log.info("conversation %s: the platform's agents closed their conversation; handover %s closed",
             conversation_id, session.id)
    try:
        handovers.close(session.id, by={"id": "platform", "name": "the platform's agents"})
    except handovers.HandoverError as e:
        log.info("handover %s: %s", session.id, e)
