"""What a committed turn owes the bot's webhook subscriptions: one delivery row per matching event.

Events, named as in a subscription's filter: `message.received` (the user's message), `message.sent`
(each of the bot's messages), `event` (each event the bot sent to the page; `event:<name>` filters one),
`handover` (the bot passed the conversation to a person), `conversation.closed`. Each is a JSON body in
the Standard Webhooks shape `{"type", "timestamp", "data"}`, ordered within its conversation by the
transcript's sequence number.
"""

from __future__ import annotations

import json
import logging
import time
from uuid import uuid4

from flask import Flask
from redis.exceptions import RedisError
from sqlalchemy import insert, select

from runtime.extensions import db
from runtime.store.models import utcnow
from runtime.webhooks.models import ACTIVE, WebhookDelivery, WebhookSubscription

log = logging.getLogger(__name__)
CACHE_SECONDS = 5.0


def on_turn(app: Flask, *, conversation, transcript: list[dict], effects: list[dict], closed: bool) -> None:
    """Subscriber of `turn_committed`: record the deliveries the turn owes, then wake their senders."""
    subscriptions = active_subscriptions(app, conversation.bot_id)
    if not subscriptions:
        return
    base = {"bot": conversation.bot_id, "conversationId": conversation.id, "userId": conversation.user_id,
            "channel": conversation.channel}
    found = list(_events(transcript, effects, closed))
    now = utcnow()
    rows = [
        {"message_id": "msg_" + uuid4().hex, "subscription_id": sub.id, "conversation_id": conversation.id,
         "seq": seq, "event": name, "status": "pending", "tries": 0, "next_attempt_at": now, "created_at": now,
         "body": json.dumps({"type": name, "timestamp": now.isoformat(), "data": {**base, **data}})}
        for sub in subscriptions for seq, name, data in found if _wanted(sub.events, name, data)]
    if not rows:
        return
    db.session.execute(insert(WebhookDelivery), rows)
    db.session.commit()
    from runtime.webhooks.delivery import wake  # delivery imports the app's jobs; keep this module light
    try:
        for subscription_id in {row["subscription_id"] for row in rows}:
            wake(subscription_id, conversation.id)
    except RedisError as e:  # the rows are saved: the sweeper sends them when Redis is back
        log.warning("conversation %s: webhook deliveries saved but not queued (%s)", conversation.id, e)


def active_subscriptions(app: Flask, bot_id: str) -> list:
    """The bot's active subscriptions (id, events), read at most every few seconds per process: every turn
    asks, and most bots have none. A change made in this process is seen at once (`forget`); one made
    elsewhere within `CACHE_SECONDS` (a delivery for a subscription switched off meanwhile is marked failed
    by the sender, not sent)."""
    cache = app.extensions.setdefault("arbor.webhooks.active", {})
    hit = cache.get(bot_id)
    if hit is not None and time.monotonic() - hit[0] < CACHE_SECONDS:
        return hit[1]
    found = db.session.execute(
        select(WebhookSubscription.id, WebhookSubscription.events)
        .where(WebhookSubscription.bot_id == bot_id, WebhookSubscription.status == ACTIVE)).all()
    cache[bot_id] = (time.monotonic(), found)
    return found


def forget(app: Flask, bot_id: str) -> None:
    app.extensions.get("arbor.webhooks.active", {}).pop(bot_id, None)


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
        if effect.get("type") == "handover":
            yield last, "handover", {"seq": last, "handover": {k: v for k, v in effect.items() if k != "type"}}
    if closed:
        yield last, "conversation.closed", {"seq": last}


def _wanted(events: list[str], name: str, data: dict) -> bool:
    return name in events or (name == "event" and f"event:{data.get('name')}" in events)
