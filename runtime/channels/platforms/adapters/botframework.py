"""Microsoft Bot Framework (Azure Bot Service, and through it Teams, Slack, Facebook...): Arbor as a Bot
Framework bot, at `POST /b/<bot>/botframework/messages` (the bot's messaging endpoint).

Followed (/work/shared/PLATFORMS.md; Microsoft's "Bot Connector API" reference and "Authenticate requests with
the Bot Connector API"; botframework-connector's sources):
- every activity carries `Authorization: Bearer <JWT>`, checked by `botframework_auth.claims_of` against the
  connection's issuer, OpenID metadata and app id (the three addresses are settings; Microsoft's public
  values by default), and its `serviceUrl` against the token's;
- the activity's `id` is its platform id: a retried activity is applied once; `conversation.id` names the
  conversation (one Arbor conversation per Bot Framework conversation and channel), `recipient` is the bot's
  account on the channel, `from` the user's;
- `message` (text, a card's `value`, attachments by URL) is the user's message; `conversationUpdate` is an
  event of that name (`membersAdded`, `membersRemoved`): one that adds the bot opens the conversation, so the
  start dialog greets; `messageReaction` is an event of that name (`reactionsAdded`, `reactionsRemoved`,
  `replyToId`) on an open conversation; `event` activities are events by their `name`; `typing` and the other
  types are answered and make no turn (as Direct Line drops them);
- replies are the transcript's Bot Framework activities as they are (hero cards and suggested actions stay
  the attachments and actions Direct Line serves), addressed with `from` (the bot's account), `recipient`,
  `conversation`, `serviceUrl` and `replyToId`, and POSTed to `{serviceUrl}/v3/conversations/{id}/activities/
  {replyToId}` (ReplyToActivity), or `.../activities` (SendToConversation) for what answers nothing the user
  sent (a timer, an agent, an async result), through the same delivery queue as the other platforms' replies,
  with a bearer token from the token endpoint (client credentials: `botframework_auth.access_token`);
- only a `serviceUrl` that came in a verified activity is ever sent to: the latest one the conversation's
  transcript kept.
The app password is kept in the bot's secret store (`SECRET`), bound to the token endpoint's address: pointed
at another endpoint, it counts as unset until it is entered again (the secrets' rule, `runtime.store.secrets`).
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any
from urllib.parse import quote

from flask import Request, current_app
from sqlalchemy import select

from runtime import integrations
from runtime.channels.platforms import statuses
from runtime.channels.platforms.adapters.arbor import json_of
from runtime.channels.platforms.adapters.base import (
    EVENT,
    Adapter,
    Connection,
    Ignored,
    PlatformError,
    Refused,
)
from runtime.channels.platforms.adapters.botframework_auth import TokenRefused, access_token, claims_of, forget
from runtime.channels.platforms.inbound import Routed
from runtime.channels.platforms.models import PlatformConnection, PlatformThread
from runtime.extensions import db
from runtime.integrations.errors import IntegrationError
from runtime.steps.base import Input
from runtime.store import secrets as bot_secrets
from runtime.store.activities import activity_id
from runtime.store.models import TranscriptEntry
from runtime.webhooks import delivery
from runtime.webhooks.models import WebhookDelivery

log = logging.getLogger(__name__)
SERVICE = "botframework"
ISSUER = "https://api.botframework.com"
METADATA_URL = "https://login.botframework.com/v1/.well-known/openidconfiguration"
TOKEN_ENDPOINT = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"
PUBLIC_TENANT = "botframework.com"
SECRET = "botframework.appPassword"  # in the bot's secret store
APP_ID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")  # Azure's are GUIDs
TENANT = re.compile(r"^[A-Za-z0-9.-]{1,100}$")
REPLY_FIELDS = ("type", "text", "attachments", "attachmentLayout", "suggestedActions", "inputHint", "speak",
                "textFormat", "locale", "summary")
OPENING, ON_OPEN = ("message", "conversationUpdate", "event"), ("messageReaction",)


class BotFramework(Adapter):
    kind = "botframework"
    title = "Microsoft Bot Framework"
    delivers = False  # each reply goes to its conversation's serviceUrl (`reply_url`), not one address
    one_per_bot = True  # the messaging endpoint names the bot only

    def configure(self, settings: dict, secrets: dict, kept: dict) -> tuple[dict, dict]:
        app_id = _given(settings, "appId")
        if not APP_ID.match(app_id):
            raise PlatformError("The app id is the bot's Microsoft App ID (Azure Bot > Configuration), such as "
                                "00000000-0000-0000-0000-000000000000.")
        tenant = _given(settings, "tenant")
        if tenant and not TENANT.match(tenant):
            raise PlatformError("The tenant is the directory (tenant) id or domain of a single-tenant bot; leave it "
                                "blank for a multi-tenant one.")
        fresh = {"appId": app_id, **({"tenant": tenant} if tenant else {})}
        defaults = {"issuer": ISSUER, "openIdMetadataUrl": METADATA_URL,
                    "tokenEndpoint": TOKEN_ENDPOINT.format(tenant=tenant or PUBLIC_TENANT)}
        for key, default in defaults.items():
            value = _given(settings, key) or default
            if not value.startswith(("https://", "http://")) or len(value) > 2000 or any(c.isspace() for c in value):
                raise PlatformError(f"The {_LABELS[key]} is an address starting with https:// (blank: Microsoft's "
                                    f"public one, {default}).")
            if value != default and key != "issuer":  # the issuer is compared, never fetched
                _reachable(key, value)
            fresh[key] = value
        password = (secrets.get("appPassword") or "").strip()
        if password and (len(password) > 1000 or any(c.isspace() for c in password)):
            raise PlatformError("The app password is the client secret made for the app id (one line, no spaces).")
        return fresh, {"appPassword": password} if password else {}

    def keep(self, bot_id: str, settings: dict, sealed: dict) -> dict:
        """The app password goes to the bot's secret store, bound to the token endpoint; without a new one, the
        stored one must be bound to this endpoint already."""
        password = sealed.pop("appPassword", None)
        endpoint = settings["tokenEndpoint"]
        if password:
            bot_secrets.set_secret(bot_id, SECRET, password, bound_to=endpoint)
        else:
            bound = bot_secrets.addresses(bot_id)
            if SECRET not in bound:
                raise PlatformError("Give the app password (Azure Bot > Configuration > Manage Password: a client "
                                    "secret): replies are sent with a token it obtains.")
            if bound[SECRET] != bot_secrets.destination(endpoint):
                raise PlatformError(f"The app password was entered for another token endpoint; enter it again for "
                                    f"{endpoint}: a password never follows a new address.")
        forget()  # keys and tokens of the old settings
        return sealed

    def deleted(self, bot_id: str) -> None:
        bot_secrets.delete_secret(bot_id, SECRET)

    def inbound_path(self, row: PlatformConnection) -> str:
        return f"/b/{row.bot_id}/botframework/messages"

    def inbound_token(self, secrets: dict) -> tuple[str, dict[str, str]]:
        token, _ = super().inbound_token(secrets)
        return token, {}  # activities carry the Bot Framework's JWT instead: nothing to show

    def target_url(self, settings: dict, url: str) -> str:
        return settings["tokenEndpoint"]  # what the designer shows: where reply tokens come from

    def authenticate(self, connection: Connection, request: Request, raw: bytes) -> None:
        if not request.headers.get("Authorization"):
            raise Refused(401, "The activity has no Authorization: Bearer <JWT> header: only activities the Bot "
                               "Framework signed are taken.")
        activity = _activity(raw)
        settings = connection.settings
        try:
            claims_of(request.headers["Authorization"], metadata_url=settings["openIdMetadataUrl"],
                      issuer=settings["issuer"], audience=settings["appId"], service_url=activity["serviceUrl"],
                      channel_id=activity["channelId"])
        except TokenRefused as e:
            raise Refused(e.status, str(e)) from None

    def parse(self, connection: Connection, request: Request, raw: bytes) -> Routed | Ignored:
        activity = _activity(raw)
        kind = activity["type"]
        if kind not in OPENING + ON_OPEN:
            return Ignored(f"a {kind[:40]} activity makes no turn")
        for key in ("id", "conversation", "recipient"):
            if not activity.get(key):
                raise Refused(400, f'A Bot Framework "{kind}" activity lacks "{key}".')
        conversation, recipient, sender = activity["conversation"], activity["recipient"], activity.get("from") or {}
        if not isinstance(conversation, dict) or not _short(conversation.get("id"), 200):
            raise Refused(400, '"conversation.id" must be a string of 1 to 200 characters.')
        if not isinstance(recipient, dict) or not _short(recipient.get("id"), 200):
            raise Refused(400, '"recipient.id" (the bot\'s account on the channel) must be a string of 1 to 200 '
                               'characters.')
        if not isinstance(sender, dict) or not _short(activity["id"], 150):
            raise Refused(400, '"id" must be a string of at most 150 characters, and "from" an object.')
        about = {"id": activity["id"], "service": SERVICE, "channel": activity["channelId"],
                 "serviceUrl": activity["serviceUrl"], "conversationId": conversation["id"],
                 "bot": _account(recipient), "user": _account(sender),
                 **({"timestamp": activity["timestamp"]} if isinstance(activity.get("timestamp"), str) else {})}
        inp, kept, opens = _input(activity, recipient["id"])
        kept = {**kept, "from": {"id": str(sender.get("id") or ""), **_named(sender)},
                "channelData": {"platform": about}}
        return Routed(SERVICE, activity["channelId"][:40], recipient["id"], conversation["id"], inp, kept,
                      f"{kind}:{activity['id']}", opens=opens)

    def replies(self, connection: Connection, thread: PlatformThread, conversation_id: str,
                transcript: list[dict], effects: list[dict]) -> None:
        """Each message the turn said, as a Bot Framework activity for the conversation's latest serviceUrl, in
        order through the delivery queue."""
        messages = [row for row in transcript if row["direction"] == "out" and row["activity"].get("type") == "message"]
        if not messages:
            return
        where = _latest_platform(conversation_id, transcript)
        if where is None:
            log.warning("Bot Framework conversation %s: no activity of the platform tells its serviceUrl; %d "
                        "replies not sent", conversation_id, len(messages))
            return
        platform_ids = {row["activity"].get("id"): ((row["activity"].get("channelData") or {}).get("platform") or {})
                        .get("id") for row in transcript if row["direction"] == "in"}
        delivery.owe(conversation_id, [
            (connection.target.id, row["seq"], EVENT,
             json.dumps(render(row["activity"], where, platform_ids.get(row["activity"].get("replyToId")))))
            for row in messages])

    def reply_url(self, connection: Connection, sent: WebhookDelivery) -> str:
        body = json.loads(sent.body)
        base = f"{body['serviceUrl'].rstrip('/')}/v3/conversations/{quote(body['conversation']['id'], safe='')}" \
               f"/activities"
        return f"{base}/{quote(body['replyToId'], safe='')}" if body.get("replyToId") else base

    def reply_headers(self, connection: Connection, sent: WebhookDelivery) -> dict[str, str]:
        return {"authorization": f"Bearer {_token(connection)}"}

    def accepted(self, connection: Connection, sent: WebhookDelivery, content: bytes) -> None:
        statuses.apply(activity_id(sent.conversation_id, sent.seq), statuses.SENT)

    def check(self, connection: Connection) -> str:
        try:
            _token(connection)
        except IntegrationError as e:
            raise PlatformError(str(e)) from None
        base = (current_app.config.get("ARBOR_BASE_URL") or "").rstrip("/")
        return f"The token endpoint accepted the app id and password. In Azure Bot > Configuration, set the " \
               f"messaging endpoint to {base}{self.inbound_path(connection.row)}."

    def describe(self, connection: Connection) -> dict[str, Any]:
        return {key: connection.settings.get(key) for key in _LABELS}


def _reachable(key: str, url: str) -> None:
    """Refuse an address the server would never fetch (loopback, private, cloud metadata) when it is saved, as
    the outbound guard refuses it on each fetch, so the editor learns it here rather than from Azure's errors."""
    try:
        integrations.session().guard.check_url(url)
    except IntegrationError as e:
        raise PlatformError(f"The {_LABELS[key]}: {e}") from None


_LABELS = {"appId": "app id", "tenant": "tenant", "issuer": "issuer", "openIdMetadataUrl": "OpenID metadata URL",
           "tokenEndpoint": "token endpoint"}


def render(activity: dict, where: dict, reply_to: str | None) -> dict:
    """A transcript message as the Bot Framework activity the connector takes: its own fields as they are (cards
    and suggested actions too), addressed to the conversation from the bot's account (named as the agent for an
    agent's message)."""
    reply = {key: activity[key] for key in REPLY_FIELDS if activity.get(key) is not None}
    if isinstance(reply.get("suggestedActions"), dict):
        reply["suggestedActions"] = {"actions": reply["suggestedActions"].get("actions") or []}  # `to`: Arbor's ids
    arbor = (activity.get("channelData") or {}).get("arbor") or {}
    speaker = (activity.get("from") or {}).get("name") if arbor.get("agent") and not arbor.get("notice") else None
    bot = where.get("bot") or {}
    reply.update({"from": {**bot, **({"name": speaker} if speaker else {})}, "recipient": where.get("user") or {},
                  "conversation": {"id": where["conversationId"]}, "channelId": where["channel"],
                  "serviceUrl": where["serviceUrl"], **({"replyToId": reply_to} if reply_to else {})})
    return reply


def _activity(raw: bytes) -> dict:
    activity = json_of(raw)
    if not isinstance(activity, dict) or not isinstance(activity.get("type"), str) or not activity["type"]:
        raise Refused(400, 'The body is not a Bot Framework activity: send one JSON object with a "type".')
    for key in ("serviceUrl", "channelId"):
        if not _short(activity.get(key), 2000 if key == "serviceUrl" else 100):
            raise Refused(400, f'A Bot Framework activity needs "{key}" (a string).')
    if not activity["serviceUrl"].startswith(("https://", "http://")):
        raise Refused(400, '"serviceUrl" must be an http(s) address.')
    return activity


def _input(activity: dict, bot_id: str) -> tuple[Input, dict, bool]:
    """The engine's input, what the transcript keeps of the activity, and whether it may open a conversation."""
    kind, value = activity["type"], activity.get("value")
    if kind == "message":
        text = activity.get("text")
        if text is not None and not _short(text, 16_000):
            raise Refused(400, '"text" must be a string of at most 16,000 characters.')
        media = [{"url": item["contentUrl"], "contentType": str(item.get("contentType") or "application/octet-stream")}
                 for item in activity.get("attachments") or [] if isinstance(item, dict)
                 and _short(item.get("contentUrl"), 2000)]
        if value is None and media:
            value = {"messageType": media[0]["contentType"].partition("/")[0], "mediaUrl": media[0]["url"],
                     "media": media}
        if not text and value is None:
            raise Refused(400, 'A message needs "text", a "value" (a card\'s action) or an attachment by URL.')
        kept = {"type": "message", **({"text": text} if text else {}),
                **({"value": activity["value"]} if activity.get("value") is not None else {}),
                **({"attachments": [{"contentType": m["contentType"], "contentUrl": m["url"]} for m in media]}
                   if media else {})}
        return Input.message(text or None, value), kept, True
    if kind == "event":
        if not _short(activity.get("name"), 100):
            raise Refused(400, 'An event activity needs a "name" of 1 to 100 characters.')
        return Input.event(activity["name"], value), {"type": "event", "name": activity["name"], "value": value}, True
    if kind == "conversationUpdate":
        change = {key: [_account(member) for member in activity.get(key) or [] if isinstance(member, dict)]
                  for key in ("membersAdded", "membersRemoved")}
        opens = any(member.get("id") == bot_id for member in change["membersAdded"])
        return Input.event(kind, change), {"type": "event", "name": kind, "value": change}, opens
    change = {key: [item for item in activity.get(key) or [] if isinstance(item, dict)]
              for key in ("reactionsAdded", "reactionsRemoved")}
    change["replyToId"] = activity.get("replyToId")
    return Input.event(kind, change), {"type": "event", "name": kind, "value": change}, False


def _latest_platform(conversation_id: str, transcript: list[dict]) -> dict | None:
    """What the platform last said about the conversation (its serviceUrl, the accounts): from this turn, else
    the transcript's latest activity that came from it."""
    for row in reversed(transcript):
        found = _platform_of(row) if row["direction"] == "in" else None
        if found:
            return found
    rows = db.session.execute(select(TranscriptEntry.activity)
                              .where(TranscriptEntry.conversation_id == conversation_id,
                                     TranscriptEntry.direction == "in")
                              .order_by(TranscriptEntry.seq.desc()).execution_options(yield_per=50))
    return next((found for (activity,) in rows if (found := _platform_of({"activity": activity}))), None)


def _platform_of(row: dict) -> dict | None:
    about = (row["activity"].get("channelData") or {}).get("platform") or {}
    return about if about.get("service") == SERVICE and about.get("serviceUrl") else None


def _token(connection: Connection) -> str:
    settings = connection.settings
    try:
        password = bot_secrets.values(connection.row.bot_id, [SECRET], home=lambda _: settings["tokenEndpoint"])[SECRET]
    except bot_secrets.SecretMissing:
        raise IntegrationError("The Bot Framework app password is not set for this token endpoint: enter it again "
                               "on the bot's Platforms page.") from None
    return access_token(settings["tokenEndpoint"], settings["appId"], password)


def _given(settings: dict, key: str) -> str:
    value = settings.get(key)
    return value.strip() if isinstance(value, str) else ""


def _short(value, limit: int) -> bool:
    return isinstance(value, str) and 0 < len(value) <= limit


def _account(account: dict) -> dict:
    return {"id": str(account.get("id") or "")[:200], **_named(account)}


def _named(account: dict) -> dict:
    name = account.get("name")
    return {"name": name[:200]} if isinstance(name, str) and name else {}
