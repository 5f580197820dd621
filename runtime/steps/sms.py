"""sms: send a text message through the bot's SMS provider.

The step renders the text and asks for it to be sent (an `sms.send` effect); a background job posts it
to the provider's HTTP API (Twilio's Messages API by default) with retries, and logs it for the
`outgoingSms` export. `to` may list several numbers separated by commas or semicolons.
"""

from __future__ import annotations

from . import schema
from ._words import short
from .base import Context, Next, Outcome
from .email import recipients_of

TYPE = "sms"
TITLE = "Send an SMS"
DESCRIPTION = "Send a text message to a phone number through the bot's SMS provider."
ABBREVIATION = "SMS"  # the badge on its node in the tree
# A new step's values: ready to edit.
START = {"to": "", "text": ""}
# The form's labels (templates/designer/steps/sms.html shows them; problems name fields by them).
LABELS = {
    "to": "To",
    "text": "Text",
}
SCHEMA = schema.step(TYPE, {"to": schema.TEMPLATE, "text": schema.TEMPLATE}, required=("to", "text"))
MAX_RECIPIENTS = 20


def run(step: dict, ctx: Context) -> Outcome:
    numbers = recipients_of(step, ctx, "The SMS step has no number to send to", MAX_RECIPIENTS)
    if numbers:
        ctx.effect({"type": "sms.send", "step": step["id"], "to": numbers, "text": ctx.render(step["text"])})
    return Next()


def templates(step: dict):
    for key in ("to", "text"):
        if step.get(key):
            yield f"/{key}", step[key]


def texts(step: dict):
    """The message of an SMS to the visitor (its number comes from a storage, `{{ phone }}`), to be read in their
    language; one to a fixed number goes to the team and stays in the default language."""
    if "{" in str(step.get("to", "")):
        yield "/text", step.get("text")


def summary(step: dict) -> str:
    return short(f"To {step.get('to') or '?'}: {step.get('text') or ''}")
