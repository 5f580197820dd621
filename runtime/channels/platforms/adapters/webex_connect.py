"""Webex Connect (Generic Bot / IMI Bot): its events in, its format out.

Followed: Webex Connect's "Third-Party Bot" guide (/work/shared/seeds/webex-connect-third-party-bot.txt,
"Understand how to integrate BOT platform and Webex Connect using Webhooks"):
- events are POSTed to the bot's endpoint "using the BOT's access token for verification in every
  interaction"; the bot's "Verification Token" is "returned as part of the response to every POST request";
  the integration is saved only after "Verify";
- the event bodies, keys as written there: `Conversationid`, `ConversationType` ("BOT"), `Message`,
  `MessageType`, `Messageid`, `Media`, `Channel`, `Event: "Incoming message"`, `Timestamp`
  ("YYYY-MM-DD hh:mm:ss.SS" in GMT); `PostbackPayload` with `Event: "FB POSTBACK"`; `Event: "Message
  Delivery"` with `DeliveryStatus` (Delivered / Failed / Read) and `Description`; custom events `eventid`,
  `conversation_id`, `message`, `Messagetype`, `customparam1..N`;
- "the BOT platform is expected to pass the conversation ID back", and "the BOT's response is received on
  the Webhook URL that was generated for the added integration": every reply carries `Conversationid`;
- "The Handover event is raised when the BOT decides to handover the chat to a CCSP integration"; "every
  conversation with the CCSP agent has a new conversation ID"; "All the messages, that is, from the
  customer or agent, are forwarded to the BOT";
- the three rule actions: "Forward the message to CCSP integration", "... to BOT", "... to be handled by
  BOT + CCSP" (`rule_names`);
- five seconds to answer, at most four retries over the next hour: the channel answers once the turn is
  saved (replies and effects go after, by the jobs), and a retried event is applied once.

Where the guide is silent, Arbor's choices (docs/platforms.md says so too): the access token is taken from
`Authorization: Bearer <token>` or `X-Access-Token`; the verification token is returned in the JSON answer
(`verificationToken`) and the `X-Verification-Token` header; a POST with neither `Event` nor `eventid` is the
Verify request; a reply mirrors the incoming message's keys with `Event: "Outgoing message"` (buttons and
cards as text lines, an image in `Media`); the Handover event is `Event: "Handover"`, and the agent
conversation id is read from the answer to it (`Conversationid`); events whose `ConversationType` is not
"BOT" on that id are kept in the conversation's transcript; an event on the BOT conversation id while
agents held it means the agents closed theirs.
Postbacks and custom events carry no id: a retry is recognised by its identical body.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets as secrets_module
from datetime import UTC, datetime

from flask import Request, Response, jsonify

from runtime.channels.platforms.adapters.arbor import bearer_or_header, json_of
from runtime.channels.platforms.adapters.base import (
    Adapter,
    Answered,
    Connection,
    PlatformError,
    Refused,
    Verification,
    button_lines,
    media_urls,
)
from runtime.channels.platforms.inbound import Routed, Status
from runtime.channels.platforms.models import PlatformThread
from runtime.management.keys import digest
from runtime.steps.base import Input
from runtime.store.models import utcnow
from runtime.webhooks.models import WebhookDelivery

log = logging.getLogger(__name__)
SERVICE = "webex-connect"
MESSAGE, POSTBACK, DELIVERY, HANDOVER, OUTGOING = (
    "Incoming message", "FB POSTBACK", "Message Delivery", "Handover", "Outgoing message")
DELIVERY_STATUSES = ("Delivered", "Failed", "Read")
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?$")
CUSTOM_PARAM = re.compile(r"^customparam\d{1,3}$")
EVENT_ID = re.compile(r"^[A-Za-z0-9_.:/-]{1,100}$")


class WebexConnect(Adapter):
    kind = "webex-connect"
    title = "Webex Connect"
    rule_names = {"agent": "Forward the message to CCSP integration (agents)",
                  "bot": "Forward the message to BOT",
                  "bot-first": "Forward the message to be handled by BOT + CCSP (the first message to the BOT)"}
    verified_at_once = False

    def configure(self, settings: dict, secrets: dict, kept: dict) -> tuple[dict, dict]:
        sealed = {"verificationToken": _token(secrets.get("verificationToken"), "verification token")
                  or kept.get("verificationToken") or secrets_module.token_urlsafe(24)}
        access = _token(secrets.get("accessToken"), "access token")
        if access:
            sealed["accessToken"] = access  # taken out again by `inbound_token`: kept only as a digest
        return {}, sealed

    def inbound_token(self, secrets: dict) -> tuple[str, dict[str, str]]:
        token = secrets.pop("accessToken", None) or secrets_module.token_urlsafe(32)
        return token, {"BOT's access token": token, "Verification token": secrets["verificationToken"]}

    def authenticate(self, connection: Connection, request: Request, raw: bytes) -> None:
        token = bearer_or_header(request, "X-Access-Token")
        if not token or not hmac.compare_digest(digest(token), connection.target.verification_token):
            raise Refused(401, "Send the BOT's access token Webex Connect was given: Authorization: Bearer "
                               "<token>, or X-Access-Token: <token>.")

    def parse(self, connection: Connection, request: Request, raw: bytes):
        body = json_of(raw)
        if not isinstance(body, dict):
            raise Refused(400, "The body is not a Webex Connect event: send one JSON object.")
        if "eventid" in body:
            return _custom_event(connection, body)
        kind = body.get("Event")
        if kind is None:
            return Verification()
        if kind == DELIVERY:
            _require(body, "Messageid", "DeliveryStatus")
            if body["DeliveryStatus"] not in DELIVERY_STATUSES:
                raise Refused(400, f'"DeliveryStatus" must be one of {", ".join(DELIVERY_STATUSES)}.')
            return Status(body["Messageid"], body["DeliveryStatus"].lower(), _text(body, "Description", 1000),
                          _iso(body.get("Timestamp")))
        if kind == MESSAGE:
            _require(body, "Conversationid", "Messageid")
            text, media = _text(body, "Message", 4096), _text(body, "Media", 2000)
            if not text and not media:
                raise Refused(400, 'An "Incoming message" needs a "Message" or a "Media".')
            message_type = _text(body, "MessageType", 40) or ("text" if not media else "file")
            value = {"messageType": message_type, "mediaUrl": media} if media else None
            activity = {"type": "message", **({"text": text} if text else {}),
                        **({"attachments": [{"contentType": f"{message_type}/*", "contentUrl": media}]}
                           if media else {})}
            return _routed(connection, body, body["Conversationid"], Input.message(text or None, value), activity,
                           f"message:{body['Messageid']}")
        if kind == POSTBACK:
            _require(body, "Conversationid", "PostbackPayload")
            payload = body["PostbackPayload"]
            return _routed(connection, body, body["Conversationid"], Input.message(None, payload),
                           {"type": "message", "value": payload}, f"postback:{_body_digest(body)}")
        raise Refused(400, f'"Event" must be one of "{MESSAGE}", "{POSTBACK}", "{DELIVERY}" (or send a custom '
                           f'event with "eventid").')

    def answer(self, connection: Connection, answered: Answered) -> Response:
        token = connection.secrets.get("verificationToken", "")
        body: dict = {"verificationToken": token}
        if answered.conversation_id:
            body["conversationId"] = answered.conversation_id
        if answered.applied is not None:
            body["applied"] = answered.applied
        answer = jsonify(body)
        answer.headers["X-Verification-Token"] = token
        return answer

    def render(self, connection: Connection, thread: PlatformThread, conversation_id: str, activity: dict) -> dict:
        text = "\n".join([activity.get("text") or "", *button_lines(activity)]).strip()
        media = media_urls(activity)
        return {"Conversationid": thread.user_address, "ConversationType": "BOT", "Message": text,
                "MessageType": "image" if media and not text else "text", "Messageid": activity["id"],
                "Media": media[0] if media else "", "Channel": thread.channel, "Event": OUTGOING,
                "Timestamp": timestamp(_moment(activity.get("timestamp")))}

    def extra_deliveries(self, connection, thread, conversation_id, transcript, effects):
        """The Handover event, after the turn's messages, when a handover step hands the chat to agents (not
        under "Forward the message to BOT": there the bot keeps it)."""
        if connection.row.rule == "bot" or not any(e.get("type") == "handover" and e.get("session")
                                                   for e in effects):
            return []
        effect = next(e for e in reversed(effects) if e.get("type") == "handover")
        last = max((row["seq"] for row in transcript), default=0)
        body = {"Conversationid": thread.user_address, "ConversationType": "BOT", "Event": HANDOVER,
                "Channel": thread.channel, "Timestamp": timestamp(utcnow()),
                **({"Queue": effect["queue"]} if effect.get("queue") else {})}
        return [(connection.target.id, last, "handover", json.dumps(body))]

    def message_id_of(self, body: dict) -> str | None:
        return body.get("Messageid")

    def accepted(self, connection: Connection, sent: WebhookDelivery, content: bytes) -> None:
        super().accepted(connection, sent, content)
        if json.loads(sent.body).get("Event") != HANDOVER:
            return
        try:
            answer = json.loads(content or b"{}")
        except ValueError:
            answer = {}
        agent = answer.get("Conversationid") if isinstance(answer, dict) else None
        if isinstance(agent, str) and agent.strip():
            from runtime.channels.platforms import threads  # a cycle otherwise: threads -> rules -> adapters

            threads.remember_agent_conversation(connection.row, sent.conversation_id, SERVICE,
                                                connection.row.slug, agent.strip())
        else:
            log.info("Webex Connect connection %s: the answer to the Handover event of %s named no agent "
                     "Conversationid; the agent's events are matched when they name it", connection.row.slug,
                     sent.conversation_id)

    def describe(self, connection: Connection) -> dict:
        return {"webhookUrl": connection.target.url}


def timestamp(moment: datetime) -> str:
    """A moment as Webex Connect writes it: YYYY-MM-DD hh:mm:ss.SS in GMT."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 10_000:02d}"


def _moment(iso: str | None) -> datetime:
    try:
        return datetime.fromisoformat(iso) if iso else utcnow()
    except ValueError:
        return utcnow()


def _iso(value) -> str | None:
    """A Webex Connect timestamp (GMT) as ISO 8601; Refused for another form."""
    if value in (None, ""):
        return None
    if not isinstance(value, str) or not TIMESTAMP.match(value):
        raise Refused(400, '"Timestamp" must be "YYYY-MM-DD hh:mm:ss.SS" in GMT.')
    return datetime.fromisoformat(value.replace(" ", "T")).replace(tzinfo=UTC).isoformat()


def _routed(connection: Connection, body: dict, conversation: str, inp: Input, activity: dict,
            key: str) -> Routed:
    when = _iso(body.get("Timestamp"))
    channel = _text(body, "Channel", 40) or "WEBEX"
    kind = body.get("ConversationType") or "BOT"
    about = {"service": SERVICE, "channel": channel, "conversationId": conversation, "conversationType": kind,
             **({"id": body["Messageid"]} if body.get("Messageid") else {}), **({"timestamp": when} if when else {})}
    activity = {**activity, "channelData": {"platform": about}}
    return Routed(SERVICE, channel, connection.row.slug, conversation, inp, activity, key, agent=kind != "BOT")


def _custom_event(connection: Connection, body: dict) -> Routed:
    _require(body, "eventid", "conversation_id")
    name = body["eventid"]
    if not EVENT_ID.match(name):
        raise Refused(400, '"eventid" has 1 to 100 letters, digits and _.:/- (e.g. "1001").')
    value = {key: item for key, item in body.items() if key in ("message", "Messagetype") or CUSTOM_PARAM.match(key)}
    activity = {"type": "event", "name": name, "value": value}
    return _routed(connection, body, body["conversation_id"], Input.event(name, value), activity,
                   f"event:{_body_digest(body)}")


def _require(body: dict, *keys: str) -> None:
    for key in keys:
        value = body.get(key)
        if value is None or value == "":
            raise Refused(400, f'The "{body.get("Event") or body.get("eventid")}" event lacks "{key}".')
        if not isinstance(value, str) or len(value) > 200:
            if key != "PostbackPayload":
                raise Refused(400, f'"{key}" must be a string of at most 200 characters.')


def _text(body: dict, key: str, limit: int) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise Refused(400, f'"{key}" must be a string of at most {limit:,} characters.')
    return value


def _token(value, what: str) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str) or not 8 <= len(value) <= 200 or any(c.isspace() for c in value):
        raise PlatformError(f"The {what} has 8 to 200 characters and no spaces (or leave it blank: Arbor makes one).")
    return value


def _body_digest(body: dict) -> str:
    """An event with no id of its own: a retry sends the same body, so its digest is its id."""
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:40]
