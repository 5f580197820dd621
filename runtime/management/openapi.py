"""`GET /api/openapi.json`: one OpenAPI 3.1 document for Arbor's public APIs (the management API, Direct Line,
the anonymous webchat token, the link tracker, the messaging platforms' inbound address), and `GET /api/docs`,
a plain page that renders it.

Built from the code where the code knows (the export names and their fixed fields come from the
exports' registry, the platform event from its JSON Schema), so the document cannot drift from what the
server does on those points.
"""

from __future__ import annotations

import re

from flask import Blueprint, render_template
from markupsafe import Markup, escape

from runtime.channels.platforms.inbound import SCHEMA as PLATFORM_EVENT
from runtime.management.exports import EXPORTS, available_names
from runtime.management.trigger import MODES

bp = Blueprint("openapi", __name__, url_prefix="/api")

ERROR = {"type": "object", "required": ["error"], "properties": {"error": {
    "type": "object", "required": ["code", "message"],
    "properties": {"code": {"type": "string", "description": "The management API's codes are the HTTP status's "
                                                             "name: BadRequest, Unauthorized, NotFound, Conflict, "
                                                             "RequestEntityTooLarge, UnprocessableEntity, "
                                                             "TooManyRequests. Direct Line's are Bot Framework's."},
                   "message": {"type": "string", "description": "What to change."}}}}}


def _error(description: str) -> dict:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _path_param(name: str, description: str, **schema) -> dict:
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": {"type": "string", "minLength": 1, **schema}}


BOT = _path_param("bot", "The bot's id.", pattern=r"^[A-Za-z0-9_-]{1,64}$")
KEY_ERRORS = {"401": _error("No function key, a wrong or revoked one, or another bot's."),
              "429": _error("Too many requests with a wrong key from this address; wait a minute.")}


def _export_operation() -> dict:
    more = " and every storage, camelCased"
    fields = "; ".join(f"`{name}`: {', '.join(entry.fields)}" + (more if entry.storages else "")
                       for name, entry in EXPORTS.items())
    number = {"type": "number", "minimum": -62_135_596_800, "maximum": 253_402_300_799}
    return {"get": {
        "operationId": "export", "tags": ["management"], "summary": "Export rows as a JSON array (streamed).",
        "description": f"Fields: {fields}. `where<Field>=value` (e.g. `whereGender=male`) keeps rows whose field "
                       "equals the value (non-text values compared as JSON: `whereAge=30`, `whereVip=true`).",
        "parameters": [
            BOT, _path_param("name", "The export.", enum=list(EXPORTS)),
            {"name": "fromTimestamp", "in": "query", "description": "UNIX seconds; rows at or after.",
             "schema": number},
            {"name": "toTimestamp", "in": "query", "description": "UNIX seconds; rows at or before.",
             "schema": number},
            {"name": "notEmpty", "in": "query", "schema": {"type": "string"},
             "description": "Comma-separated camelCase fields that must be non-empty (`phone,email`)."},
        ],
        "responses": {
            "200": {"description": "The rows, oldest first (userData: by user id).", "content": {"application/json": {
                "schema": {"type": "array", "items": {"type": "object", "required": ["userId", "timestamp"],
                                                      "properties": {"userId": {"type": "string"},
                                                                     "timestamp": {"type": ["string", "null"],
                                                                                   "format": "date-time"}}}}}}},
            "400": _error("A filter to fix: a time that is not a number, fromTimestamp after toTimestamp, a field no "
                          "row has, an unknown parameter."),
            "404": _error("No such export; the message lists the exports."),
            **KEY_ERRORS,
        },
    }}


def _trigger_operation(mode: bool) -> dict:
    what = "Run a dialog in a mode (`clear`: drop the user's place in the tree first)" if mode else "Run a dialog"
    return {"post": {
        "operationId": "triggerInMode" if mode else "trigger", "tags": ["management"],
        "summary": f"{what} for a user, as a turn of their conversation.",
        "description": "`address` is base64 (standard or URL-safe, padded or not) of `{\"bot\": {\"id\"}, \"user\": "
                       "{\"id\"}, \"channelId\", \"conversation\": {\"id\"}?}`. The body, a JSON object, is saved into "
                       "the user's data first. The same `Idempotency-Key` runs the dialog once and answers the same; "
                       "with another dialog, mode or body it is refused (422).",
        "parameters": [BOT, _path_param("address", "The user's address, base64 of JSON."),
                       _path_param("dialogId", "The dialog to run."),
                       *([_path_param("mode", "How to run it.", enum=list(MODES))] if mode else []),
                       {"name": "Idempotency-Key", "in": "header", "schema": {"type": "string", "maxLength": 200}}],
        "requestBody": {"required": False, "content": {"application/json": {"schema": {"type": "object"}}}},
        "responses": {
            "202": {"description": "The dialog ran; its messages are in the user's conversation.",
                    "content": {"application/json": {"schema": {"type": "object", "required": ["conversationId"],
                                                                "properties": {"conversationId": {"type": "string"},
                                                                               "dialogId": {"type": "string"},
                                                                               "clear": {"type": "boolean"}}}}}},
            "400": _error("An address or body that cannot be read, or an unknown mode (the message says which)."),
            "404": _error("An unknown user, conversation or dialog."),
            "413": _error("A body over the limit (1 MiB by default)."),
            "422": _error("The Idempotency-Key was used for another call."),
            **KEY_ERRORS,
        },
    }}


ROWS = {"type": "array", "items": {"type": "object", "required": ["key"], "properties": {
    "key": {"type": "string", "maxLength": 200}, "fields": {"type": "object"},
    "tags": {"type": "array", "items": {"type": "string", "maxLength": 100}},
    "latitude": {"type": "number", "minimum": -90, "maximum": 90},
    "longitude": {"type": "number", "minimum": -180, "maximum": 180}}}}
SUBSCRIPTION = {"type": "object", "properties": {
    "url": {"type": "string", "format": "uri"}, "description": {"type": "string", "maxLength": 200},
    "events": {"type": "array", "items": {"type": "string"},
               "description": "message.received, message.sent, handover, handover.accepted, handover.closed, "
                              "event (or event:NAME), conversation.closed"},
    "verificationToken": {"type": "string", "minLength": 8, "maxLength": 200},
    "secret": {"type": "string", "description": "whsec_ and base64; made for you when left out."}}}


def _operation(operation_id: str, summary: str, *, body: dict | None = None, ok: str = "200", **errors) -> dict:
    """One operation of the datasets' or webhooks' part of the management API."""
    found = {"operationId": operation_id, "tags": ["management"], "summary": summary,
             "responses": {ok: {"description": "Done."}, "404": _error("No such bot, dataset, subscription or "
                                                                       "delivery."), **KEY_ERRORS,
                           **{code.removeprefix("e"): _error(text) for code, text in errors.items()}}}
    if body is not None:
        found["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    return found


def _background() -> dict:
    """Datasets (push, pull on change) and outgoing webhook subscriptions."""
    base, name = "/b/{bot}/api/management", _path_param("name", "The dataset's name.")
    sub = _path_param("subscription", "The subscription's id.")
    bad = {"e400": "The body is not the JSON asked for.", "e422": "Bad rows or settings; the message says which."}
    return {
        f"{base}/datasets": {"parameters": [BOT], "get": _operation("listDatasets", "The bot's datasets.")},
        f"{base}/datasets/{{name}}": {
            "parameters": [BOT, name],
            "get": _operation("getDataset", "A dataset: rows, source, last update, last error."),
            "put": _operation("replaceDataset", "Replace all rows (creates the dataset).", body=ROWS, **bad),
            "patch": _operation("patchDataset", "Upsert rows and delete rows by key.", body={
                "type": "object", "properties": {"upsert": ROWS, "delete": {"type": "array", "items": {
                    "type": "string"}}}}, **bad)},
        f"{base}/datasets/{{name}}/changed": {"parameters": [BOT, name], "post": _operation(
            "datasetChanged", "The source changed: pull it now, in the background.", ok="202",
            e409="The dataset has no source to pull from.")},
        f"{base}/webhooks": {
            "parameters": [BOT],
            "get": _operation("listWebhooks", "The bot's webhook subscriptions and their state."),
            "post": _operation("createWebhook", "Subscribe and run the handshake; the secret is shown once.",
                               body={**SUBSCRIPTION, "required": ["url", "events"]}, ok="201", **bad)},
        f"{base}/webhooks/{{subscription}}": {
            "parameters": [BOT, sub],
            "get": _operation("getWebhook", "A subscription, with its deliveries counted by status."),
            "patch": _operation("editWebhook", "Change it; a new URL or token runs the handshake again.",
                                body=SUBSCRIPTION, **bad),
            "delete": _operation("deleteWebhook", "Delete it and its delivery log.", ok="204")},
        f"{base}/webhooks/{{subscription}}/verify": {"parameters": [BOT, sub], "post": _operation(
            "verifyWebhook", "Run the handshake again; on success it is active again.")},
        f"{base}/webhooks/{{subscription}}/rotate-secret": {"parameters": [BOT, sub], "post": _operation(
            "rotateWebhookSecret", "A new secret (shown once); the old one also signs meanwhile.", e400="Bad hours.",
            e422="keepOldHours out of range.")},
        f"{base}/webhooks/{{subscription}}/deliveries": {"parameters": [BOT, sub], "get": _operation(
            "webhookDeliveries", "The delivery log, newest first, with every attempt.", e400="Bad status or limit.")},
        f"{base}/webhooks/{{subscription}}/deliveries/{{delivery}}/redeliver": {
            "parameters": [BOT, sub, _path_param("delivery", "The delivery's id.", pattern=r"^[0-9]{1,18}$")],
            "post": _operation("redeliverWebhook", "Send a delivery again, with the same webhook-id.",
                               e422="The subscription is not active.")},
    }


def _handovers() -> dict:
    """What the agent console does, for contact-centre software."""
    base, session = "/b/{bot}/api/management/handovers", _path_param("session", "The handover's id.")
    agent = {"type": "object", "required": ["id"], "description": "Who acts: the id your software knows.",
             "properties": {"id": {"type": "string"}, "name": {"type": "string"}}}
    by = {"type": "object", "required": ["agent"], "properties": {"agent": agent}}
    taken = {"e400": "No agent, or a bad one.", "e409": "Another agent accepted it first, or it is closed."}
    return {
        base: {"parameters": [BOT], "get": {**_operation(
            "listHandovers", "Handed-over conversations, oldest first.", e400="An unknown status, or no queue named."),
            "parameters": [
                {"name": "status", "in": "query", "schema": {"type": "string", "default": "waiting,active"},
                 "description": "A comma-separated list of waiting, active, closed."},
                {"name": "queue", "in": "query", "schema": {"type": "string"},
                 "description": "Only these queues, comma-separated; `-` stands for handovers with no queue."}]}},
        f"{base}/{{session}}": {"parameters": [BOT, session], "get": _operation(
            "getHandover", "The handover, the user's data and the conversation's transcript (after `?after=`).",
            e400="after is not a whole number.")},
        f"{base}/{{session}}/accept": {"parameters": [BOT, session], "post": _operation(
            "acceptHandover", "Take the conversation; the user is told who joined.", body=by, **taken)},
        f"{base}/{{session}}/messages": {"parameters": [BOT, session], "post": _operation(
            "postHandoverMessage", "The agent who accepted says something to the user.", ok="201",
            body={**by, "required": ["agent", "text"], "properties": {
                "agent": agent, "text": {"type": "string", "maxLength": 4000}}}, **taken)},
        f"{base}/{{session}}/close": {"parameters": [BOT, session], "post": _operation(
            "closeHandover", "End the handover; the bot takes over again (its answer is returned).", body=by,
            **taken)},
    }


def _directline() -> dict:
    bearer = [{"directLine": []}]
    activity = {"type": "object", "required": ["type"], "properties": {
        "type": {"type": "string"}, "text": {"type": "string"}, "name": {"type": "string"}, "value": {},
        "channelData": {"type": "object"}, "from": {"type": "object"}}}
    start = {"type": "object", "properties": {"user": {"type": "object", "properties": {"id": {"type": "string"}}},
                                               "userData": {"type": "object"},
                                               "locale": {"type": "string", "maxLength": 35, "description":
                                                          "The visitor's language (cs-CZ); else the user's last "
                                                          "one, else Accept-Language, else the bot's default."}}}
    ok = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Conversation"}}}}
    errors = {"400": _error("A body or parameter to fix."), "401": _error("No credential."),
              "403": _error("The secret or token is wrong or expired; or OriginNotAllowed: the call comes from a "
                            "page (Origin) the bot does not allow, refused before anything is done."),
              "404": _error("No such conversation or bot.")}
    body = {"required": False, "content": {"application/json": {"schema": start}}}
    conversation_id = _path_param("conversationId", "The conversation.")
    return {
        "/v3/directline/tokens/generate": {"post": {
            "operationId": "generateToken", "tags": ["directline"], "security": bearer, "requestBody": body,
            "summary": "A token for a new conversation (Bearer: the bot's secret).",
            "responses": {"200": {"description": "The conversation and its token.", **ok}, **errors}}},
        "/v3/directline/tokens/refresh": {"post": {
            "operationId": "refreshToken", "tags": ["directline"], "security": bearer, "summary": "Refresh a token.",
            "responses": {"200": {"description": "A fresh token.", **ok}, **errors}}},
        "/v3/directline/conversations": {"post": {
            "operationId": "startConversation", "tags": ["directline"], "security": bearer, "requestBody": body,
            "summary": "Start a conversation (with the secret) or open the token's.",
            "responses": {"200": {"description": "The token's conversation.", **ok},
                          "201": {"description": "A new conversation.", **ok}, **errors}}},
        "/v3/directline/conversations/{conversationId}": {"get": {
            "operationId": "reconnect", "tags": ["directline"], "security": bearer,
            "parameters": [conversation_id, {"name": "watermark", "in": "query", "schema": {"type": "string"}}],
            "summary": "Resume a conversation with a fresh token.",
            "responses": {"200": {"description": "The conversation.", **ok}, **errors}}},
        "/v3/directline/conversations/{conversationId}/activities": {
            "get": {"operationId": "activities", "tags": ["directline"], "security": bearer,
                    "parameters": [conversation_id, {"name": "watermark", "in": "query",
                                                     "schema": {"type": "string", "pattern": "^[0-9]{0,9}$"}}],
                    "summary": "The activities after the watermark.",
                    "responses": {"200": {"description": "Activities and the new watermark.", "content": {
                        "application/json": {"schema": {"type": "object", "properties": {
                            "activities": {"type": "array", "items": activity},
                            "watermark": {"type": "string"}}}}}}, **errors}},
            "post": {"operationId": "postActivity", "tags": ["directline"], "security": bearer,
                     "parameters": [conversation_id],
                     "requestBody": {"required": True, "content": {"application/json": {"schema": activity}}},
                     "summary": "Send an activity (a message or an event).",
                     "responses": {"200": {"description": "The id its echo carries.", "content": {
                         "application/json": {"schema": {"type": "object", "properties": {
                             "id": {"type": "string"}}}}}}, **errors,
                         "413": _error("An activity over the size limit.")}}},
        "/b/{bot}/webchat/token": {"post": {
            "operationId": "webchatToken", "tags": ["directline"], "security": [], "parameters": [BOT],
            "requestBody": body, "summary": "A token for an anonymous visitor of a page the bot allows (Origin).",
            "responses": {"200": {"description": "The conversation and its token.", **ok}, **errors,
                          "429": _error("Too many new chats from this address.")}}},
        "/b/{bot}/webchat/allowed": {"get": {
            "operationId": "webchatAllowed", "tags": ["directline"], "security": [], "parameters": [BOT],
            "summary": "Whether the page (Origin) may go on chatting with the bot over Direct Line.",
            "description": "Asked by the widget when a Direct Line call failed unread: CORS hides a refusal as it "
                           "hides a network failure, and this answer, without a preflight, the page may read. It "
                           "takes no token, so it answers by the rule of a conversation opened with the secret (a "
                           "bot with no list allows any page): a page's own conversation that an empty list "
                           "refuses reads the 403 OriginNotAllowed of its Direct Line calls, which CORS never hides "
                           "for a bot with no list.",
            "responses": {"204": {"description": "The page may chat."},
                          "403": _error("OriginNotAllowed: the bot does not chat with pages of this origin.")}}},
    }


def _platforms() -> dict:
    """The inbound address of a messaging platform connection; the event's schema is the one the server checks."""
    answer = {"type": "object", "properties": {
        "conversationId": {"type": "string", "description": "The user's conversation (messages, postbacks, events)."},
        "applied": {"type": "boolean", "description": "A status: whether it changed the message's status."}}}
    return {"/b/{bot}/hooks/{connection}": {"post": {
        "operationId": "platformEvent", "tags": ["platforms"],
        "security": [{"platformToken": []}, {"platformTokenHeader": []}],
        "parameters": [BOT, _path_param("connection", "The connection's short name.")],
        "requestBody": {"required": True, "content": {
            "application/json": {"schema": {key: value for key, value in PLATFORM_EVENT.items() if key != "$schema"}},
            "application/x-www-form-urlencoded": {"schema": {"type": "object", "description": (
                "A Twilio connection: Twilio's messaging webhook or status callback, signed with X-Twilio-Signature "
                "(docs/platforms.md).")}}}},
        "summary": "A messaging platform's event: a user's message, postback or event, or a delivery status.",
        "description": ("In the format of the connection's platform: Arbor's JSON (the schema here), Webex Connect's "
                        "events (JSON, with the BOT's access token; answered with the verification token) or "
                        "Twilio's form-encoded webhook (answered with TwiML). docs/platforms.md shows each."),
        "responses": {"200": {"description": "Applied (replies go to the platform's address).",
                              "content": {"application/json": {"schema": answer},
                                          "text/xml": {"schema": {"type": "string", "description": "TwiML."}}}},
                      "400": _error("Not JSON, too large, or not an event; the message says what to change."),
                      "401": _error("No verification token, or a wrong one: nothing was stored."),
                      "403": _error("A Twilio signature that does not match, or a connection its platform has "
                                    "not verified yet: nothing was stored."),
                      "404": _error("No such bot or connection, or the bot is not published.")}}}}


def document() -> dict:
    """The OpenAPI 3.1 document."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "Arbor", "version": "1", "description": (
            "The management API of each bot (under its base URL `/b/{bot}`, opened by a function key in `?code=` or "
            "the `x-functions-key` header) and the Direct Line 3.0 API of the webchat. Errors are JSON: "
            "`{\"error\": {\"code\", \"message\"}}`, the message saying what to change. Exports available here: "
            + ", ".join(available_names()) + ".")},
        "tags": [{"name": "management", "description": "Exports and the trigger API."},
                 {"name": "directline", "description": "The webchat's Direct Line 3.0 API (polling)."},
                 {"name": "platforms", "description": "Messaging platforms' webhook channel (docs/platforms.md)."}],
        "security": [{"functionKeyQuery": []}, {"functionKeyHeader": []}],
        "paths": {
            "/b/{bot}/api/management/export/{name}": _export_operation(),
            "/b/{bot}/api/management/trigger/{address}/{dialogId}": _trigger_operation(mode=False),
            "/b/{bot}/api/management/trigger/{address}/{dialogId}/{mode}": _trigger_operation(mode=True),
            "/b/{bot}/r/{link}": {"get": {
                "operationId": "followLink", "tags": ["management"], "security": [],
                "summary": "A tracked link button: logs the click (the urlTracker export) and redirects.",
                "parameters": [BOT, _path_param("link", "The signed link the bot sent.")],
                "responses": {"302": {"description": "To the address the bot sent."},
                              "404": {"description": "Not a link this bot sent."}}}},
            **_background(),
            **_handovers(),
            **_directline(),
            **_platforms(),
        },
        "components": {
            "schemas": {"Error": ERROR, "Conversation": {
                "type": "object", "required": ["conversationId", "token"], "properties": {
                    "conversationId": {"type": "string"}, "token": {"type": "string"},
                    "expires_in": {"type": "integer"}}}},
            "securitySchemes": {
                "functionKeyQuery": {"type": "apiKey", "in": "query", "name": "code"},
                "functionKeyHeader": {"type": "apiKey", "in": "header", "name": "x-functions-key"},
                "directLine": {"type": "http", "scheme": "bearer",
                               "description": "The bot's Direct Line secret, or a token made with it."},
                "platformToken": {"type": "http", "scheme": "bearer",
                                  "description": "A platform connection's verification token."},
                "platformTokenHeader": {"type": "apiKey", "in": "header", "name": "X-Verification-Token"}},
        },
    }


@bp.get("/openapi.json")
def openapi_json() -> dict:
    return document()


@bp.app_template_filter("code_spans")
def code_spans(text: str | None) -> Markup:
    """`text` in backticks, as the document writes code, shown as code."""
    return Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", str(escape(text or ""))))


@bp.app_template_global()
def resolve(doc: dict, schema: dict) -> dict:
    """The schema a local `$ref` (`#/components/schemas/X`) points to, for the pages that render the document."""
    found: dict = doc
    for part in schema["$ref"].removeprefix("#/").split("/"):
        found = found[part]
    return found


@bp.get("/docs")
def docs() -> str:
    """The document for reading: a plain page, no scripts, nothing loaded from elsewhere (the designer shows the
    same operations, `_openapi_operations.html`, in its own page)."""
    return render_template("api_docs.html", doc=document())
