"""What a committed turn owes the bot's webhook subscriptions: one delivery row per matching event.

Events, named as in a subscription's filter: `message.received` (the user's message), `message.sent`
(each of the bot's messages), `event` (each event the bot sent to the page; `event:<name>` filters one),
`handover` (the conversation was passed to people: the session, its queue), `handover.accepted` (an agent took
it), `handover.closed` (the bot has it again), `conversation.closed`. Each is a JSON body in
the Standard Webhooks shape `{"type", "timestamp", "data"}`, ordered within its conversation by the
transcript's sequence number.
"""

from __future__ import annotations

import json
import logging
import time

import redis
from flask import Flask, current_app
from sqlalchemy import select

from runtime import jobs
from runtime.extensions import db
from runtime.store.models import utcnow
from runtime.turns.effects import Committed
from runtime.webhooks.models import ACTIVE, WEBHOOK, WebhookSubscription

log = logging.getLogger(__name__)
HANDOVER_EVENTS = ("handover", "handover.accepted", "handover.closed")
CACHE_SECONDS = 5.0


def owed(conversation, effect: dict) -> bool:
    """Whether a turn of the conversation owes webhooks anything: its bot has active subscriptions (as the turn
    read them with its conversation, `webhooks`, when it did)."""
    if getattr(conversation, "webhooks", None) is not None and not conversation.webhooks:
        return False
    return bool(active_subscriptions(current_app, conversation.bot_id))


def on_turn(committed: Committed, effect: dict) -> None:
    """After-commit handler of `COMMITTED`: record the deliveries the turn owes (with the effect's outbox row:
    once), then wake their senders."""
    conversation, transcript, effects = committed.conversation, committed.transcript, committed.effects
    subscriptions = active_subscriptions(current_app, conversation.bot_id)
    if not subscriptions:
        return
    closed = effect["closed"]
    base = {"bot": conversation.bot_id, "conversationId": conversation.id, "userId": conversation.user_id,
            "channel": conversation.channel}
    found = list(_events(transcript, effects, closed))
    stamp = utcnow().isoformat()
    from runtime.webhooks.delivery import owe  # delivery imports the app's jobs; keep this module light
    owe(conversation.id, [(sub.id, seq, name, json.dumps({"type": name, "timestamp": stamp, "data": {**base, **data}}))
                          for sub in subscriptions for seq, name, data in found if _wanted(sub.events, name, data)])


def active_subscriptions(app: Flask, bot_id: str) -> list:
    """The bot's active subscriptions (id, events), cached per process: every turn asks, and most bots have none.

    A change made in any process is seen by the next turn in every process: `forget` bumps the bot's revision in
    Redis, and a cached answer serves only while the revision it was read under stands (one Redis GET instead
    of a query; Arbor runs as several web processes and workers, and a subscription made through one must get
    the events of turns committed by the others from the moment it is made). Read again every few seconds all
    the same; while Redis does not answer, changes made elsewhere are seen within those seconds."""
    revision = _revision(app, bot_id)
    cache = app.extensions.setdefault("arbor.webhooks.active", {})
    hit = cache.get(bot_id)
    if hit is not None and time.monotonic() - hit[0] < CACHE_SECONDS and revision in (None, hit[1]):
        return hit[2]
    found = db.session.execute(
        select(WebhookSubscription.id, WebhookSubscription.events)
        .where(WebhookSubscription.bot_id == bot_id, WebhookSubscription.status == ACTIVE,
               WebhookSubscription.kind == WEBHOOK)).all()
    cache[bot_id] = (time.monotonic(), revision, found)
    return found


def forget(app: Flask, bot_id: str) -> None:
    """The bot's subscriptions changed: every process reads them again at its next turn."""
    app.extensions.get("arbor.webhooks.active", {}).pop(bot_id, None)
    try:
        jobs.connection(app).incr(_revision_key(app, bot_id))
    except redis.RedisError as e:
        log.warning("webhooks: could not tell the other processes that bot %s's subscriptions changed (%s); "
                    "they see it within %.0f s", bot_id, e, CACHE_SECONDS)


def _revision(app: Flask, bot_id: str) -> bytes | None:
    """The bot's subscription revision in Redis (b"" before any change); None when Redis does not answer."""
    try:
        return jobs.connection(app).get(_revision_key(app, bot_id)) or b""
    except redis.RedisError:
        return None


def _revision_key(app: Flask, bot_id: str) -> str:
    return f"arbor:{app.config['ARBOR_REDIS_PREFIX']}webhooks:revision:{bot_id}"


def _events(transcript: list[dict], effects: list[dict], closed: bool):
    """(seq, event name, data) for each event of the turn, in transcript order."""
    last = 0
    for row in transcript:
        activity, last = row["activity"], row["seq"]
        data = {"seq": row["seq"], "activity": activity}
        if activity.get("type") == "message":
            yield row["seq"], "message.received" if row["direction"] == "in" else "message.sent", data
        elif activity.get("type") == "event" and row["direction"] == "out":
            yield row["seq"], "event", {**data, "name": activity.get("name")}
    for effect in effects:
        if effect.get("type") in HANDOVER_EVENTS:
            yield last, effect["type"], {"seq": last, "handover": {k: v for k, v in effect.items() if k != "type"}}
    if closed:
        yield last, "conversation.closed", {"seq": last}


def _wanted(events: list[str], name: str, data: dict) -> bool:
    return name in events or (name == "event" and f"event:{data.get('name')}" in events)
