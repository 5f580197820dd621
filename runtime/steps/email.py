"""email: send an e-mail (a lead to sales, a summary to the user)."""

from __future__ import annotations

from . import schema

TYPE = "email"
TITLE = "Send an e-mail"
DESCRIPTION = "Send an e-mail, for example a new lead to your sales team."
AVAILABLE = False
SCHEMA = schema.step(TYPE, {
    "to": schema.TEMPLATE,
    "subject": schema.TEMPLATE,
    "body": schema.TEMPLATE,
    "replyTo": schema.TEMPLATE,
}, required=("to", "subject", "body"))


def templates(step: dict):
    for key in ("to", "subject", "body", "replyTo"):
        if step.get(key):
            yield f"/{key}", step[key]
