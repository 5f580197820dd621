"""Twilio Programmable Messaging (SMS and WhatsApp): its webhook in, TwiML and the Messages API out.

Followed (/work/shared/PLATFORMS.md, from Twilio's documentation and the `twilio` library's sources):
- the inbound webhook is an `application/x-www-form-urlencoded` POST with `MessageSid`, `AccountSid`, `From`,
  `To`, `Body`, `NumMedia`, `MediaUrl0..N` / `MediaContentType0..N`; WhatsApp numbers carry `whatsapp:+...`;
- `X-Twilio-Signature` is checked by the library's own `RequestValidator` with the connection's auth token
  against the public URL the request was sent to, built from configuration (the connection's public URL,
  else ARBOR_BASE_URL and the inbound path) and never from the `Host` header, which a proxy may have rewritten;
- the turn's replies answer the POST as TwiML (the library's `MessagingResponse`: one `<Message>` each, with
  its `<Media>`); replies that come later (timers, agents, async results) go through the Messages API, as the
  `sms` step's outbox sends (`runtime.messaging.outbox`), one job per turn sending its messages in order (those
  after one that could not be sent end failed unsent: `send_later`);
- status callbacks (`MessageSid`, `MessageStatus`: queued, sent, delivered, undelivered, failed, read,
  `ErrorCode`) become delivery statuses: every message Arbor sends names its status callback (TwiML's
  `action`, the API's `StatusCallback`), the inbound address with `?status=<our message id>`;
- Twilio waits a limited time for the answer: the turn is answered at once, its slow work runs after.
The sender's number is the conversation's user (`twilio:<From>`), `user.phone` in the bot.
"""

from __future__ import annotations

import base64
import logging
import re
from urllib.parse import parse_qsl, quote

from flask import Request, Response, current_app
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from runtime import integrations
from runtime.channels.platforms import statuses
from runtime.channels.platforms.adapters.base import (
    Adapter,
    Answered,
    Connection,
    PlatformError,
    Refused,
    button_lines,
    media_urls,
)
from runtime.channels.platforms.inbound import Routed, Status
from runtime.channels.platforms.models import PlatformThread
from runtime.extensions import db
from runtime.integrations.errors import IntegrationError
from runtime.jobs import enqueue
from runtime.management.models import OutgoingSms
from runtime.messaging import outbox
from runtime.steps.base import Input
from runtime.store import storable

log = logging.getLogger(__name__)
SERVICE = "twilio"
API = "https://api.twilio.com"
ACCOUNT_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")
SENDER = re.compile(r"^(whatsapp:)?\+[1-9]\d{5,14}$")
STATUSES = {"sent": statuses.SENT, "delivered": statuses.DELIVERED, "read": statuses.READ,
            "undelivered": statuses.FAILED, "failed": statuses.FAILED, "canceled": statuses.FAILED}
MAX_MEDIA = 10
AFTER_A_FAILURE = "An earlier reply of this turn could not be sent."
# What to change when the outbound guard refuses Twilio's API address: not the connection's settings (the address
# is the operator's TWILIO_API_URL), but that setting, or OUTBOUND_ALLOW_HOSTS if the API is meant to be there.
API_REFUSED = ("That is Twilio's API address, an Arbor setting, not one of the connection's: ask Arbor's operator "
               "to correct TWILIO_API_URL, or to allow its host with OUTBOUND_ALLOW_HOSTS.")


class Twilio(Adapter):
    kind = "twilio"
    title = "Twilio (SMS and WhatsApp)"
    in_response = True
    delivers = False  # later replies go through the outbox's guarded Messages API call

    def configure(self, settings: dict, secrets: dict, kept: dict) -> tuple[dict, dict]:
        account = (settings.get("accountSid") or "").strip()
        sender = (settings.get("phoneNumber") or "").strip().replace(" ", "")
        public = (settings.get("publicUrl") or "").strip()
        if not ACCOUNT_SID.match(account):
            raise PlatformError("The account SID is AC followed by 32 hexadecimal digits (Twilio Console > "
                                "Account Info).")
        if not SENDER.match(sender):
            raise PlatformError("The phone number is the Twilio number in E.164 form (+447700900123), or the "
                                "WhatsApp sender as whatsapp:+447700900123.")
        if public and not public.startswith(("https://", "http://")) or len(public) > 2000:
            raise PlatformError("The public URL is the inbound address as Twilio reaches it, starting with https://.")
        if not public and not current_app.config.get("ARBOR_BASE_URL"):
            raise PlatformError("Give the public URL (the inbound address as Twilio reaches it), or set "
                                "ARBOR_BASE_URL: Twilio's signatures are checked against it, never the Host.")
        token = (secrets.get("authToken") or "").strip() or kept.get("authToken")
        if not token or len(token) > 200 or any(c.isspace() for c in token):
            raise PlatformError("Give the account's auth token (Twilio Console > Account Info): requests are "
                                "checked with it, and replies sent with it.")
        return {"accountSid": account, "phoneNumber": sender, **({"publicUrl": public} if public else {})}, \
            {"authToken": token}

    def inbound_token(self, secrets: dict) -> tuple[str, dict[str, str]]:
        token, _ = super().inbound_token(secrets)
        return token, {}  # Twilio signs its requests with the auth token instead: nothing to show

    def target_url(self, settings: dict, url: str) -> str:
        return f"{_api()}/2010-04-01/Accounts/{settings['accountSid']}/Messages.json"

    def authenticate(self, connection: Connection, request: Request, raw: bytes) -> None:
        if request.mimetype != "application/x-www-form-urlencoded":
            raise Refused(400, "Twilio posts application/x-www-form-urlencoded: point the number's messaging "
                               "webhook (HTTP POST) at this address.")
        signature = request.headers.get("X-Twilio-Signature")
        if not signature:
            raise Refused(403, "The request has no X-Twilio-Signature: only Twilio's signed webhooks are taken.")
        url = public_url(connection)
        if request.query_string:
            url += "?" + request.query_string.decode("latin-1")
        if not RequestValidator(connection.secrets["authToken"]).validate(url, _form(raw), signature):
            raise Refused(403, f"The X-Twilio-Signature does not match: check the auth token, and that the public "
                               f"URL Arbor checks with ({public_url(connection)}) is the one set on Twilio's side.")

    def parse(self, connection: Connection, request: Request, raw: bytes):
        form = _form(raw)
        refused = storable.refusal(form)  # a NUL: PostgreSQL would refuse to keep it
        if refused:
            raise Refused(400, refused)
        if form.get("AccountSid") and form["AccountSid"] != connection.settings["accountSid"]:
            raise Refused(403, "The request is for another Twilio account than this connection's.")
        ours = request.args.get("status")
        if ours is not None:  # a status callback Arbor asked for
            error = form.get("ErrorCode")
            return Status(ours, STATUSES.get(form.get("MessageStatus", "")),
                          f"Twilio error {error}" if error else None, None)
        for key in ("MessageSid", "From", "To"):
            if not form.get(key):
                raise Refused(400, f"A Twilio message lacks {key}.")
        return _routed(form)

    def answer(self, connection: Connection, answered: Answered) -> Response:
        reply = MessagingResponse()
        for activity in answered.activities:
            if activity.get("type") != "message":
                continue
            message = reply.message(_text(activity), action=_status_url(connection, activity["id"]), method="POST")
            for url in media_urls(activity)[:MAX_MEDIA]:
                message.media(url)
        return Response(str(reply), mimetype="text/xml")

    def replies(self, connection: Connection, thread: PlatformThread, conversation_id: str,
                transcript: list[dict], effects: list[dict]) -> None:
        """What a turn said outside the answer to Twilio's POST (a timer, an agent, an async result): logged in
        the outbox and sent through the Messages API, one job per turn, in order."""
        from runtime.channels.platforms.api import answering_in_response  # a cycle otherwise

        messages = [row["activity"] for row in transcript
                    if row["direction"] == "out" and row["activity"].get("type") == "message"]
        if answering_in_response(connection.row.id, messages):
            return  # in the TwiML of this request's answer
        rows = []
        for activity in messages:
            sms = OutgoingSms(bot_id=connection.row.bot_id, user_id=f"{SERVICE}:{thread.user_address}",
                              channel="platform", provider=SERVICE, recipients=[thread.user_address],
                              message=_text(activity), attempts=0)
            db.session.add(sms)
            rows.append((sms, activity["id"], media_urls(activity)[:MAX_MEDIA]))
        if not rows:
            return
        db.session.flush()  # committed with the effect's outbox row; the job waits for them (`outbox._attempt`)
        enqueue("runtime.channels.platforms.adapters.twilio.send_later", connection.row.id,
                [[sms.id, message_id, media] for sms, message_id, media in rows], retry=outbox.RETRY)

    def check(self, connection: Connection) -> str:
        account = connection.settings["accountSid"]
        basic = base64.b64encode(f"{account}:{connection.secrets['authToken']}".encode()).decode()
        try:
            answer = integrations.session().request("GET", f"{_api()}/2010-04-01/Accounts/{account}.json",
                                                    headers={"Authorization": f"Basic {basic}"}, timeout=10)
        except IntegrationError as e:
            raise PlatformError(f"Could not reach Twilio's API: {e}") from None
        if answer.status in (401, 403, 404):
            raise PlatformError(f"Twilio refused the account SID and auth token (HTTP {answer.status}).")
        if answer.status >= 400:
            raise PlatformError(f"Twilio's API answered {answer.status}; try again later.")
        return f"Twilio accepted the account SID and auth token. Point {connection.settings['phoneNumber']}'s " \
               f"messaging webhook at {public_url(connection)} (HTTP POST)."

    def describe(self, connection: Connection) -> dict:
        return {key: connection.settings.get(key) for key in ("accountSid", "phoneNumber", "publicUrl")}


def send_later(connection_id: str, messages: list[list]) -> int:
    """Send a turn's later replies through the Messages API, in order; a row sent before (a retried job) is not
    sent again. Each sent message stands `sent` on the transcript, and names its status callback.

    A reply whose try fails in a way a later try may pass (no answer, Twilio's 5xx or 429) is tried again with
    the whole job (`outbox.RETRY`), the replies after it waiting, so they still arrive in order. Once it has
    failed for good (`outbox._attempt` marked it failed: at once for a refusal no retry changes, a 400 such as
    21211 "not a valid phone number", 401/403 credentials, 404; else on its last try),
    the replies after it are not sent but end failed too, saying an earlier reply of this turn could not be sent
    (`AFTER_A_FAILURE`), on their outbox rows and on the transcript, where the failed one stands with its reason.
    Not sent anyway: an SMS or WhatsApp user reads a turn's replies as one sequence (an explanation then its
    question, a list then "reply with its number"), and without the one before, the later ones would be out of
    context or ask about what the user never saw; a refusal for good is often about the recipient besides (not
    a valid number, unsubscribed, outside WhatsApp's 24-hour window), which the later ones would meet too. Every
    row of the batch so ends sent or failed, none left queued (the outbox's sweeper leaves platform replies to
    this job)."""
    from runtime.channels.platforms import connections
    from runtime.channels.platforms.models import PlatformConnection

    row = db.session.get(PlatformConnection, connection_id)
    if row is None:
        return 0
    connection = connections.load(row.bot_id, row.slug)
    provider = {"baseUrl": _api(), "account": connection.settings["accountSid"],
                "token": connection.secrets.get("authToken"), "from": connection.settings["phoneNumber"],
                "name": "Twilio", "settings": f"the connection '{row.name}' (Platforms page)", "address": API_REFUSED}
    sent = 0
    for index, (sms_id, message_id, media) in enumerate(messages):
        extra = {"StatusCallback": _status_url(connection, message_id), **({"MediaUrl": media} if media else {})}

        def post(sms: OutgoingSms, given: dict, extra=extra) -> None:
            sms.provider_id = outbox._post_sms(given, sms.recipients[0], sms.message, extra)[:100]

        try:
            outcome = outbox._attempt(OutgoingSms, sms_id, "sms", post, provider=provider)
        except Exception:
            failed = db.session.get(OutgoingSms, sms_id)
            if failed is not None and failed.status == "failed":  # its last try: given up
                _give_up(failed, message_id, messages[index + 1:])
            raise
        if outcome == "sent":
            statuses.apply(message_id, statuses.SENT)
            sent += 1
    return sent


def _give_up(failed: OutgoingSms, message_id: str, later: list[list]) -> None:
    """The reply `failed` (our message `message_id`) could not be sent: it stands failed on the transcript with
    its reason, and the `later` replies of its turn, still queued, end failed without being sent (`send_later`)."""
    reason = failed.error
    rows = [(db.session.get(OutgoingSms, sms_id), later_id) for sms_id, later_id, _ in later]
    rows = [(row, later_id) for row, later_id in rows if row is not None and row.status == "queued"]
    for row, _ in rows:
        row.status, row.error = "failed", AFTER_A_FAILURE
    db.session.commit()
    statuses.apply(message_id, statuses.FAILED, description=reason)
    for _, later_id in rows:
        statuses.apply(later_id, statuses.FAILED, description=AFTER_A_FAILURE)


def public_url(connection: Connection) -> str:
    """The inbound address as Twilio reaches it: from configuration only, never from the request's Host."""
    given = connection.settings.get("publicUrl")
    if given:
        return given
    base = current_app.config.get("ARBOR_BASE_URL")
    if not base:
        raise Refused(403, "This Twilio connection has no public URL, and ARBOR_BASE_URL is not set: Arbor "
                           "cannot check Twilio's signature without the address Twilio posts to.")
    return f"{base.rstrip('/')}/b/{connection.row.bot_id}/hooks/{connection.row.slug}"


def _status_url(connection: Connection, message_id: str) -> str:
    return f"{public_url(connection)}?status={quote(message_id, safe='')}"


def _api() -> str:
    return (current_app.config.get("TWILIO_API_URL") or API).rstrip("/")


def _form(raw: bytes) -> dict[str, str]:
    try:
        return dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True, max_num_fields=200, errors="strict"))
    except (UnicodeDecodeError, ValueError) as e:
        raise Refused(400, f"The body is not a form Twilio sends ({str(e)[:120]}).") from None


def _routed(form: dict[str, str]) -> Routed:
    sender, body = form["From"], form.get("Body") or ""
    channel = "WHATSAPP" if sender.startswith("whatsapp:") else "SMS"
    try:
        count = min(int(form.get("NumMedia") or 0), MAX_MEDIA)
    except ValueError:
        raise Refused(400, "NumMedia is a number.") from None
    media = [{"url": form[f"MediaUrl{n}"],
              "contentType": form.get(f"MediaContentType{n}") or "application/octet-stream"}
             for n in range(count) if form.get(f"MediaUrl{n}")]
    if not body and not media:
        raise Refused(400, "A Twilio message has a Body or media (NumMedia, MediaUrl0).")
    for key, limit in (("From", 150), ("To", 200), ("MessageSid", 100), ("Body", 4096)):
        if len(form.get(key) or "") > limit:
            raise Refused(400, f"{key} is longer than {limit:,} characters.")
    kind = media[0]["contentType"].partition("/")[0] if media else "text"
    value = {"messageType": kind, "mediaUrl": media[0]["url"], "media": media} if media else None
    about = {"id": form["MessageSid"], "service": SERVICE, "channel": channel, "assetId": form["To"],
             "userId": sender, "messageType": kind}
    activity = {"type": "message", "channelData": {"platform": about}, **({"text": body} if body else {}),
                **({"attachments": [{"contentType": item["contentType"], "contentUrl": item["url"]}
                                    for item in media]} if media else {})}
    return Routed(SERVICE, channel, form["To"], sender, Input.message(body or None, value), activity,
                  f"message:{form['MessageSid']}")


def _text(activity: dict) -> str:
    return "\n".join([activity.get("text") or "", *button_lines(activity)]).strip()
