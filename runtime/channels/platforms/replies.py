"""Every message of a platform conversation that goes out (the bot's, an agent's) becomes a reply posted
to the connection's platform, through the webhooks' queue: in order per conversation, 5 s to answer,
retried for an hour, the connection switched off after failures in a row (`runtime.webhooks.delivery`).

A reply is rendered for a plain messaging platform: text, buttons (title + postback payload, or a link),
cards (hero cards and carousels) and media (images), with the ids that tie it to the conversation and
`messageId`, ours, which the platform's status events name (docs/platforms.md). An agent's
message says `"from": {"role": "agent", "name"}`; a notice (an agent joined or left) names its kind.
"""

from __future__ import annotations

import json
import logging

from flask import Flask

from runtime.channels.platforms import rules, statuses
from runtime.channels.platforms.models import PlatformConnection, PlatformThread
from runtime.channels.platforms.threads import CHANNEL, thread_of
from runtime.webhooks import delivery
from runtime.webhooks.models import WebhookDelivery

log = logging.getLogger(__name__)
EVENT = "message"


def on_turn(app: Flask, *, conversation, transcript: list[dict], effects: list[dict], closed: bool) -> None:
    """Subscriber of `turn_committed`: queue the turn's outgoing messages for the conversation's platform, then
    apply the connection's rule to a handover the turn opened (after: what it says goes out after these)."""
    if conversation.channel != CHANNEL:
        return
    found = thread_of(conversation.id)
    if found is None:
        return
    thread, connection = found
    _queue(thread, connection, conversation.id, transcript)
    rules.after_turn(connection, conversation.id, effects)


def _queue(thread: PlatformThread, connection: PlatformConnection, conversation_id: str,
           transcript: list[dict]) -> None:
    messages = [row for row in transcript if row["direction"] == "out" and row["activity"].get("type") == "message"]
    about = {"conversationId": conversation_id, "service": thread.service, "channel": thread.channel,
             "assetId": thread.asset_id, "userId": thread.user_address}
    delivery.owe(conversation_id, [(connection.target_id, row["seq"], EVENT,
                                    json.dumps({**about, **render(row["activity"])})) for row in messages])


def sent(accepted: WebhookDelivery) -> None:
    """The platform accepted a reply: its message stands `sent` in the transcript (unless it got further)."""
    statuses.apply(json.loads(accepted.body)["messageId"], statuses.SENT)


def render(activity: dict) -> dict:
    """The reply body's message part, from a Bot Framework message activity."""
    sender, arbor = activity.get("from") or {}, (activity.get("channelData") or {}).get("arbor") or {}
    role = "agent" if arbor.get("agent") and not arbor.get("notice") else "bot"
    body: dict = {"type": "message", "messageId": activity["id"], "timestamp": activity.get("timestamp"),
                  "from": {"role": role, "name": sender.get("name")}, "text": activity.get("text") or ""}
    if arbor.get("notice"):
        body["notice"] = arbor["notice"]  # agent-joined, agent-left, bot-back: a line about the conversation
    actions = (activity.get("suggestedActions") or {}).get("actions") or []
    if actions:
        body["buttons"] = [_button(action) for action in actions]
    cards, media = [], []
    for attachment in activity.get("attachments") or []:
        kind, content = attachment.get("contentType", ""), attachment.get("content") or {}
        if kind == "application/vnd.microsoft.card.hero":
            cards.append({"title": content.get("title"), "subtitle": content.get("subtitle"),
                          "text": content.get("text"),
                          "imageUrl": next((image.get("url") for image in content.get("images") or []), None),
                          "buttons": [_button(action) for action in content.get("buttons") or []]})
        elif attachment.get("contentUrl"):
            media.append({"type": kind.partition("/")[0] or "file", "url": attachment["contentUrl"]})
    if cards:
        body["cards"] = cards
    if media:
        body["media"] = media
    return body


def _button(action: dict) -> dict:
    if action.get("type") == "openUrl":
        return {"title": action.get("title"), "url": action.get("value")}
    return {"title": action.get("title"), "payload": action.get("value")}
