"""Arbor's own JSON (docs/platforms.md): the format a platform is taught when it has none of its own.

Every POST carries the connection's verification token (`Authorization: Bearer <token>` or
`X-Verification-Token: <token>`); the body is one event checked by `inbound.SCHEMA`; the answer is
`{"conversationId"}` (a status: `{"applied"}`); replies are POSTed as JSON with the ids that tie them to the
conversation and `messageId`, ours, which status events name.
"""

from __future__ import annotations

import hmac

from flask import Request

from runtime.channels.platforms import inbound
from runtime.channels.platforms.adapters.base import Adapter, Connection, Refused
from runtime.channels.platforms.models import PlatformThread
from runtime.management.keys import digest
from runtime.store import storable


class ArborJson(Adapter):
    kind = "arbor"
    title = "Arbor JSON (any platform taught Arbor's format)"

    def authenticate(self, connection: Connection, request: Request, raw: bytes) -> None:
        token = bearer_or_header(request, "X-Verification-Token")
        if not token or not hmac.compare_digest(digest(token), connection.target.verification_token):
            raise Refused(401, "Send the connection's verification token: Authorization: Bearer <token>, or "
                               "X-Verification-Token: <token>.")

    def parse(self, connection: Connection, request: Request, raw: bytes):
        try:
            return inbound.parse(json_of(raw))
        except inbound.BadEvent as e:
            raise Refused(400, str(e)) from None

    def render(self, connection: Connection, thread: PlatformThread, conversation_id: str, activity: dict) -> dict:
        about = {"conversationId": conversation_id, "service": thread.service, "channel": thread.channel,
                 "assetId": thread.asset_id, "userId": thread.user_address}
        return {**about, **render(activity)}


def bearer_or_header(request: Request, header: str) -> str | None:
    """The token of `Authorization: Bearer <token>`, else the value of `header`."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.headers.get(header) or None


def json_of(raw: bytes):
    """A JSON body as Arbor stores JSON (`storable`); Refused(400) saying why not."""
    try:
        return storable.loads(raw)
    except (ValueError, RecursionError) as e:  # UnicodeDecodeError too
        raise Refused(400, f"The body is not JSON ({str(e)[:120]}); send one JSON object.") from None
    except storable.NotStorable as e:
        raise Refused(400, str(e)) from None


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
