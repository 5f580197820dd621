"""The one inbound shape every platform adapter produces (`Routed`: a message, postback or event for a
user's conversation; `Status`), and Arbor's own JSON format, checked by its JSON Schema (the `arbor` adapter).

Four types: `message` (the user wrote or sent media), `postback` (the user pressed a button of ours),
`event` (a custom event with any parameters) and `status` (what became of a message the bot sent).
The first three name the platform's asset, the user's identifier on the channel and the service, which
pick the conversation; a status names our message id. docs/platforms.md shows examples.
A bad body is answered 400 with the first thing to change (`BadEvent`);
fields the format does not name are ignored, so a platform's extras do not break it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator

from runtime.steps.base import Input

_ROUTE = {
    "id": {"type": "string", "minLength": 1, "maxLength": 200,
           "description": "The platform's id of this message or event; the same id twice is applied once."},
    "service": {"type": "string", "minLength": 1, "maxLength": 100},
    "channel": {"type": "string", "minLength": 1, "maxLength": 40, "description": "WHATSAPP, SMS, MESSENGER..."},
    "assetId": {"type": "string", "minLength": 1, "maxLength": 200,
                "description": "The platform's asset the user wrote to (a business number, a page)."},
    "userId": {"type": "string", "minLength": 1, "maxLength": 150,
               "description": "The user's identifier on the channel (a phone number, a page-scoped id)."},
    "timestamp": {"type": "string", "maxLength": 40},
}
_ROUTED = ["service", "channel", "assetId", "userId"]
SCHEMA: dict = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "An inbound platform event",
    "type": "object",
    "required": ["type"],
    "properties": {"type": {"enum": ["message", "postback", "event", "status"]}},
    "allOf": [
        {"if": {"properties": {"type": {"const": "message"}}}, "then": {
            "required": [*_ROUTED, "id"],
            "anyOf": [{"required": ["text"]}, {"required": ["mediaUrl"]}],
            "properties": {**_ROUTE,
                           "messageType": {"type": "string", "maxLength": 40,
                                           "description": "text, image, audio, video, file, location..."},
                           "text": {"type": "string", "maxLength": 4096},
                           "mediaUrl": {"type": "string", "maxLength": 2000}}}},
        {"if": {"properties": {"type": {"const": "postback"}}}, "then": {
            "required": [*_ROUTED, "payload"],
            "properties": {**_ROUTE, "payload": {"description": "The button's payload, as we sent it."},
                           "text": {"type": "string", "maxLength": 4096,
                                    "description": "The button's title, if the platform tells it."}}}},
        {"if": {"properties": {"type": {"const": "event"}}}, "then": {
            "required": [*_ROUTED, "eventId"],
            "properties": {**_ROUTE,
                           "eventId": {"type": "string", "pattern": "^[A-Za-z0-9_.:/-]{1,100}$"},
                           "parameters": {"type": "object"}}}},
        {"if": {"properties": {"type": {"const": "status"}}}, "then": {
            "required": ["messageId", "status"],
            "properties": {**_ROUTE,
                           "messageId": {"type": "string", "maxLength": 60, "description": "Our message id."},
                           "status": {"enum": ["Delivered", "Failed", "Read"]},
                           "description": {"type": "string", "maxLength": 1000}}}},
    ],
}
_VALIDATOR = Draft202012Validator(SCHEMA)


class BadEvent(ValueError):
    """A body that is not an inbound event; the message says what to change."""


@dataclass(frozen=True)
class Routed:
    """A message, postback or event for a user's conversation, as the engine's input."""

    service: str
    channel: str
    asset_id: str
    user_address: str
    input: Input
    activity: dict  # kept in the transcript
    client_key: str | None  # None: the platform gave no id, so a repeat cannot be told apart
    agent: bool = False  # it came on the conversation id the platform gave its agents (Webex Connect's CCSP)
    opens: bool = True  # False: applied to the user's open conversation only (a reaction never opens one)


@dataclass(frozen=True)
class Status:
    message_id: str
    status: str | None  # sent, delivered, failed, read; None: a step the transcript does not keep (queued)
    description: str | None
    timestamp: str | None


def parse(body: Any) -> Routed | Status:
    """Check a decoded body against the schema and say what it asks."""
    errors = sorted(_VALIDATOR.iter_errors(body), key=lambda e: (len(e.absolute_path), e.path))
    if errors:
        raise BadEvent(_explain(errors[0]))
    if body["type"] == "status":
        return Status(body["messageId"], body["status"].lower(), body.get("description"), body.get("timestamp"))
    about = {key: body[key] for key in ("id", "service", "channel", "assetId", "userId", "timestamp") if key in body}
    activity: dict = {"type": "message", "channelData": {"platform": about}}
    if body["type"] == "message":
        text, media = body.get("text"), body.get("mediaUrl")
        kind = body.get("messageType") or ("text" if media is None else "file")
        about["messageType"] = kind
        value = {"messageType": kind, "mediaUrl": media} if media else None
        inp = Input.message(text, value)
        activity.update({"text": text} if text is not None else {})
        if media:
            activity["attachments"] = [{"contentType": f"{kind}/*", "contentUrl": media}]
    elif body["type"] == "postback":
        inp = Input.message(body.get("text"), body["payload"])
        activity.update({"text": body.get("text"), "value": body["payload"]})
        activity = {key: value for key, value in activity.items() if value is not None}
    else:
        inp = Input.event(body["eventId"], body.get("parameters") or {})
        activity.update({"type": "event", "name": body["eventId"], "value": body.get("parameters") or {}})
    key = f"{body['type']}:{body['id']}" if body.get("id") else None
    return Routed(body["service"], body["channel"], body["assetId"], body["userId"], inp, activity, key)


def _explain(error) -> str:
    where = "/".join(str(part) for part in error.absolute_path)
    place = f'"{where}"' if where else "The body"
    if error.validator == "required":
        return f"{place} lacks {error.message.split(' is a required')[0]}: a {_type_of(error.instance)} needs it."
    if error.validator == "anyOf" and not where:
        return 'A message needs a "text" or a "mediaUrl".'
    if error.validator == "enum":
        return f"{place} must be one of {', '.join(map(str, error.validator_value))}."
    return f"{place}: {error.message[:200]}."


def _type_of(instance: Any) -> str:
    kind = instance.get("type") if isinstance(instance, dict) else None
    return f"{kind!r} event" if isinstance(kind, str) else "JSON object"
