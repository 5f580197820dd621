"""Every message of a platform conversation that goes out (the bot's, an agent's) goes to the connection's
platform in its own format, by the connection's adapter (`adapters`): by default a delivery through the
webhooks' queue (in order per conversation, 5 s to answer, retried for an hour, the connection switched off
after failures in a row: `runtime.webhooks.delivery`); Twilio's answer the POST with TwiML and send later
replies through the Messages API.
"""

from __future__ import annotations

import logging

from runtime.channels.platforms import adapters, connections, rules
from runtime.channels.platforms.threads import CHANNEL, thread_of
from runtime.turns import outbox
from runtime.turns.effects import Committed
from runtime.webhooks.models import WebhookDelivery

log = logging.getLogger(__name__)


def owed(conversation, effect: dict) -> bool:
    """Whether the turn owes a platform its messages: it is a platform conversation's."""
    return conversation.channel == CHANNEL


def on_turn(committed: Committed, effect: dict) -> None:
    """After-commit handler of `COMMITTED`: send the turn's outgoing messages to the conversation's platform (owed
    with the effect's outbox row: once), then apply the connection's rule to a handover the turn opened (after:
    what it says goes out after these)."""
    conversation, transcript, effects = committed.conversation, committed.transcript, committed.effects
    found = thread_of(conversation.id)
    if found is None:
        return
    thread, row = found
    connection = connections.of_target(row.target_id)
    adapters.of(row.kind).replies(connection, thread, conversation.id, transcript, effects)
    outbox.later(lambda: rules.after_turn(row, conversation.id, effects))


def sent(accepted: WebhookDelivery, content: bytes = b"") -> None:
    """The platform accepted a delivery: its adapter's bookkeeping (the message stands `sent`)."""
    connection = connections.of_target(accepted.subscription_id)
    if connection is not None:
        adapters.of(connection.row.kind).accepted(connection, accepted, content)
