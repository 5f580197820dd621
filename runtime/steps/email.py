"""email: send an e-mail (a lead to sales, a summary to the user).

The step renders the message and asks for it to be sent (an `email.send` effect); the bot's SMTP server
(its settings) gets it from a background job with retries, and the e-mail is logged for the
`outgoingEmail` export. `to` may list several addresses separated by commas or semicolons.
"""

from __future__ import annotations

import re

from . import schema
from .base import Context, Next, Outcome

TYPE = "email"
TITLE = "Send an e-mail"
DESCRIPTION = "Send an e-mail, for example a new lead to your sales team."
SCHEMA = schema.step(TYPE, {
    "to": schema.TEMPLATE,
    "subject": schema.TEMPLATE,
    "body": schema.TEMPLATE,
    "replyTo": schema.TEMPLATE,
}, required=("to", "subject", "body"))
MAX_RECIPIENTS = 50


def run(step: dict, ctx: Context) -> Outcome:
    recipients = addresses(ctx.render(step["to"]))
    if not recipients:
        ctx.log({"kind": "error", "message": f"The e-mail step has no recipient: 'to' rendered empty "
                                             f"({step['to'][:80]!r}); nothing sent."})
        return Next()
    ctx.effect({"type": "email.send", "step": step["id"], "to": recipients[:MAX_RECIPIENTS],
                "subject": ctx.render(step["subject"]).replace("\n", " ").strip(), "body": ctx.render(step["body"]),
                "replyTo": ctx.render(step["replyTo"]).strip() if step.get("replyTo") else None})
    return Next()


def addresses(text: str) -> list[str]:
    return [part.strip() for part in re.split(r"[,;]", text) if part.strip()]


def templates(step: dict):
    for key in ("to", "subject", "body", "replyTo"):
        if step.get(key):
            yield f"/{key}", step[key]
