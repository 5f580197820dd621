"""sms: send a text message through the bot's SMS provider."""

from __future__ import annotations

from . import schema

TYPE = "sms"
TITLE = "Send an SMS"
DESCRIPTION = "Send a text message to a phone number through the bot's SMS provider."
AVAILABLE = False
SCHEMA = schema.step(TYPE, {"to": schema.TEMPLATE, "text": schema.TEMPLATE}, required=("to", "text"))


def templates(step: dict):
    for key in ("to", "text"):
        if step.get(key):
            yield f"/{key}", step[key]
