"""email: send an e-mail (a lead to sales, a summary to the user).

The step renders the message and asks for it to be sent (an `email.send` effect); the bot's SMTP server
(its settings) gets it from a background job with retries, and the e-mail is logged for the
`outgoingEmail` export. `to` may list several addresses separated by commas or semicolons.
"""

from __future__ import annotations

import re

from . import schema
from ._words import short
from .base import Context, Next, Outcome

TYPE = "email"
TITLE = "Send an e-mail"
DESCRIPTION = "Send an e-mail, for example a new lead to your sales team."
ABBREVIATION = "Mail"  # the badge on its node in the tree
# A new step's values: ready to edit.
START = {"to": "", "subject": "", "body": ""}
# The form's labels (templates/designer/steps/email.html shows them; problems name fields by them).
LABELS = {
    "to": "To",
    "subject": "Subject",
    "body": "Text",
    "replyTo": "Reply to (optional)",
}
SCHEMA = schema.step(TYPE, {
    "to": schema.TEMPLATE,
    "subject": schema.TEMPLATE,
    "body": schema.TEMPLATE,
    "replyTo": schema.TEMPLATE,
}, required=("to", "subject", "body"))
MAX_RECIPIENTS = 50


def run(step: dict, ctx: Context) -> Outcome:
    recipients = recipients_of(step, ctx, "The e-mail step has no recipient", MAX_RECIPIENTS)
    if recipients:
        ctx.effect({"type": "email.send", "step": step["id"], "to": recipients,
                    "subject": ctx.render(step["subject"]).replace("\n", " ").strip(),
                    "body": ctx.render(step["body"]),
                    "replyTo": ctx.render(step["replyTo"]).strip() if step.get("replyTo") else None})
    return Next()


def recipients_of(step: dict, ctx: Context, missing: str, limit: int) -> list[str]:
    """The step's `to`, rendered and split at commas and semicolons, at most `limit`; none is a logged error."""
    found = addresses(ctx.render(step["to"]))
    if not found:
        ctx.log({"kind": "error", "message": f"{missing}: 'to' rendered empty ({step['to'][:80]!r}); nothing sent."})
    return found[:limit]


def addresses(text: str) -> list[str]:
    return [part.strip() for part in re.split(r"[,;]", text) if part.strip()]


def templates(step: dict):
    for key in ("to", "subject", "body", "replyTo"):
        if step.get(key):
            yield f"/{key}", step[key]


def texts(step: dict):
    """The subject and body of an e-mail to the visitor (its recipient comes from a storage, `{{ email }}`), to
    be read in their language; one to a fixed address goes to the team and stays in the default language."""
    if "{" in str(step.get("to", "")):
        for key in ("subject", "body"):
            yield f"/{key}", step.get(key)


def summary(step: dict) -> str:
    return short(f"To {step.get('to') or '?'}: {step.get('subject') or ''}")
