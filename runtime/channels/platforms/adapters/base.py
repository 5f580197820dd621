"""What every platform adapter does, and the shapes it works with (as Rasa's input and output channels).

One platform channel (`/b/<bot>/hooks/<slug>`), one adapter per wire format, picked by the connection's
`kind`. An adapter turns the platform's request into Arbor's one inbound shape (`inbound.Routed` for a
message, postback or event, `inbound.Status` for a delivery status, `Verification` for a handshake), says
how the POST is answered, and formats what the bot says back into the platform's format. Everything in
between (which conversation, applying the input once, the rules, the transcript, statuses) is the channel's,
the same for every platform.
"""

from __future__ import annotations

import json
import secrets as secrets_module
from dataclasses import dataclass, field
from typing import Any

from flask import Request, Response, jsonify

from runtime.channels.platforms import statuses
from runtime.channels.platforms.inbound import Routed, Status
from runtime.channels.platforms.models import RULES, PlatformConnection, PlatformThread
from runtime.webhooks import delivery
from runtime.webhooks.models import WebhookDelivery, WebhookSubscription

EVENT = "message"  # the delivery log's name for a reply


class PlatformError(ValueError):
    """Bad input for a connection; the message says what to change."""


class Refused(Exception):
    """A request the adapter refuses: `status` (400, 401, 403) and a message that says what to change."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Verification:
    """A platform's handshake (Webex Connect's "Verify"): answered, and the connection counts as verified."""


@dataclass(frozen=True)
class Ignored:
    """An activity the platform sends that makes no turn (the Bot Framework's `typing`): answered, nothing kept."""

    why: str


@dataclass
class Connection:
    """A connection as its adapter sees it: the row, its delivery target, its settings and secrets."""

    row: PlatformConnection
    target: WebhookSubscription
    secrets: dict = field(default_factory=dict)  # unsealed by `connections.load`

    @property
    def settings(self) -> dict:
        return self.row.settings or {}


@dataclass
class Answered:
    """What the channel did with one inbound request, for the adapter to answer with."""

    conversation_id: str | None = None
    activities: list[dict] = field(default_factory=list)  # what the bot said in reply (now)
    applied: bool | None = None  # a status: whether it changed the message's status
    verified: bool = False


class Adapter:
    """The base: an adapter overrides what its platform does differently."""

    kind: str = ""
    title: str = ""
    # The rules as the platform names them (`models.RULES` -> label); the stored value stays ours.
    rule_names: dict[str, str] = {rule: rule for rule in RULES}
    verified_at_once = True  # False: the connection waits for the platform's handshake
    in_response = False  # True: the turn's replies go in the answer to the POST (TwiML), later ones apart
    delivers = True  # False: nothing goes to the delivery target's address (it only names the platform's API)
    one_per_bot = False  # True: the platform's inbound address names the bot only (the Bot Framework's)

    def configure(self, settings: dict, secrets: dict, kept: dict) -> tuple[dict, dict]:
        """The adapter's settings and secrets, checked (PlatformError says what to change); a secret left
        blank keeps its `kept` value."""
        return {}, {}

    def keep(self, bot_id: str, settings: dict, sealed: dict) -> dict:
        """Put away secrets kept outside the connection (the bot's secret store); the rest is sealed with it."""
        return sealed

    def deleted(self, bot_id: str) -> None:
        """The bot's connection was deleted: forget what `keep` put away."""

    def inbound_path(self, row: PlatformConnection) -> str:
        """Where the platform POSTs."""
        return f"/b/{row.bot_id}/hooks/{row.slug}"

    def inbound_token(self, secrets: dict) -> tuple[str, dict[str, str]]:
        """The token inbound POSTs carry (kept as a digest), and what to show once: label -> value."""
        token = secrets_module.token_urlsafe(32)
        return token, {"Verification token": token}

    def authenticate(self, connection: Connection, request: Request, raw: bytes) -> None:
        """Raise Refused unless the request comes from the platform."""
        raise NotImplementedError

    def parse(self, connection: Connection, request: Request, raw: bytes) -> Routed | Status | Verification:
        """The request as Arbor's inbound shape; Refused(400, what to change) for a bad one."""
        raise NotImplementedError

    def answer(self, connection: Connection, answered: Answered) -> Response:
        """The answer to the platform's POST."""
        if answered.applied is not None:
            return jsonify({"applied": answered.applied})
        return jsonify({"conversationId": answered.conversation_id})

    def render(self, connection: Connection, thread: PlatformThread, conversation_id: str, activity: dict) -> dict:
        """One outgoing message activity as the body the platform takes (for `replies`)."""
        raise NotImplementedError

    def replies(self, connection: Connection, thread: PlatformThread, conversation_id: str,
                transcript: list[dict], effects: list[dict]) -> None:
        """Send what a committed turn said: by default each message is a delivery to the connection's address,
        in order, with the webhooks' retries."""
        messages = [row for row in transcript if row["direction"] == "out" and row["activity"].get("type") == "message"]
        owed = [(connection.target.id, row["seq"], EVENT,
                 json.dumps(self.render(connection, thread, conversation_id, row["activity"]))) for row in messages]
        owed += self.extra_deliveries(connection, thread, conversation_id, transcript, effects)
        delivery.owe(conversation_id, owed)

    def extra_deliveries(self, connection: Connection, thread: PlatformThread, conversation_id: str,
                         transcript: list[dict], effects: list[dict]) -> list[tuple[str, int, str, str]]:
        """Deliveries besides the messages (Webex Connect's Handover event)."""
        return []

    def message_id_of(self, body: dict) -> str | None:
        """Our message id in a reply body, for the `sent` status once the platform accepted it."""
        return body.get("messageId")

    def accepted(self, connection: Connection, sent: WebhookDelivery, content: bytes) -> None:
        """The platform accepted a delivery (`content`: its answer): its message stands `sent`."""
        message_id = self.message_id_of(json.loads(sent.body))
        if message_id:
            statuses.apply(message_id, statuses.SENT)

    def reply_url(self, connection: Connection, sent: WebhookDelivery) -> str:
        """Where one delivery goes (the connection's address, by default; the Bot Framework's is per conversation)."""
        return connection.target.url

    def reply_headers(self, connection: Connection, sent: WebhookDelivery) -> dict[str, str] | None:
        """The credentials one delivery carries; None: the reply credentials saved with the connection."""
        return None

    def target_url(self, settings: dict, url: str) -> str:
        """Where deliveries to the platform go (the address the connection was given, by default)."""
        return url

    def check(self, connection: Connection) -> str:
        """The designer's Test button: try the platform with the connection's settings; what happened, or
        PlatformError saying what to change."""
        raise PlatformError(f"{self.title} has no test from Arbor's side.")

    def describe(self, connection: Connection) -> dict[str, Any]:
        """What the designer may show of the adapter's settings (never a secret)."""
        return {}


def button_lines(activity: dict) -> list[str]:
    """A text fallback for what a plain-text platform cannot show: buttons, cards and links as lines."""
    lines = []
    for action in (activity.get("suggestedActions") or {}).get("actions") or []:
        lines.append(_action_line(action))
    for attachment in activity.get("attachments") or []:
        content = attachment.get("content") or {}
        if attachment.get("contentType") == "application/vnd.microsoft.card.hero":
            lines.append(" - ".join(part for part in (content.get("title"), content.get("subtitle")) if part))
            lines += [f"  {_action_line(action)}" for action in content.get("buttons") or []]
    return [line for line in lines if line.strip()]


def _action_line(action: dict) -> str:
    if action.get("type") == "openUrl":
        return f"{action.get('title') or ''}: {action.get('value') or ''}".strip(": ")
    return f"- {action.get('title') or action.get('value') or ''}"


def media_urls(activity: dict) -> list[str]:
    """The images and files of a message, as URLs (a card's image included)."""
    found = []
    for attachment in activity.get("attachments") or []:
        if attachment.get("contentUrl"):
            found.append(attachment["contentUrl"])
        for image in (attachment.get("content") or {}).get("images") or []:
            if image.get("url"):
                found.append(image["url"])
    return found
