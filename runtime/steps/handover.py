"""handover: pass the conversation to a human agent."""

from __future__ import annotations

from . import schema

TYPE = "handover"
TITLE = "Hand over to a person"
DESCRIPTION = "Pass the conversation to a human agent; the bot takes over again when the agent closes."
AVAILABLE = False
SCHEMA = schema.step(TYPE, {
    "text": schema.TEMPLATE,
    "queue": {"type": "string", "maxLength": 100, "description": "The agents' queue or skill."},
    "afterDialog": {"type": "string", "minLength": 1, "description": "Started when the agent closes."},
})


def templates(step: dict):
    if step.get("text"):
        yield "/text", step["text"]
