"""sign-in: let the user sign in to an outside system, so the integration acts for them with their consent.

For an integration whose auth is `oauth2-authorization-code`. The step asks the store (an `integration.call`
effect marked `signIn`) whether the user has a token for it; if so the bot goes on at once. If not, the store
hands back a sign-in button (`_sign_in`), the user consents at the provider, and the callback resumes the step:
the bot goes on. A refusal, a failed exchange, or no sign-in within `timeout` seconds follows `onError`, as an
integration step's failure does.
"""

from __future__ import annotations

from datetime import timedelta

from . import _sign_in, schema
from .base import Context, Next, Outcome, Wait
from .integration import GRACE, ON_ERROR, failed

TYPE = "sign-in"
TITLE = "Sign the user in"
DESCRIPTION = "Let the user sign in to an outside system, so its integration acts for them with their consent."
ABBREVIATION = "Sign"  # the badge on its node in the tree
# The form's labels (templates/designer/steps/sign-in.html shows them; problems name fields by them).
LABELS = {
    "use": "Sign in to (integration)",
    "text": "Text above the button (optional)",
    "timeout": "Give up after (seconds)",
}
ACCEPTS = ("result", "message", "timeout")
TIMED = True  # its timer is cancelled when a trigger takes the conversation elsewhere
KIND = "oauth2-authorization-code"
CHECK_TIMEOUT = 10  # seconds the store may take to tell whether the user has a token (it may refresh one)
SCHEMA = schema.step(TYPE, {
    "use": {"type": "string", "minLength": 1, "maxLength": 64,
            "description": "An integration of this bot whose auth is oauth2-authorization-code."},
    "text": schema.TEMPLATE,
    "timeout": {"type": "integer", "minimum": 30, "maximum": 24 * 3600, "default": _sign_in.WAIT,
                "description": "Seconds the sign-in button stays good; then onError runs."},
    "onError": ON_ERROR,
}, required=("use",))


def run(step: dict, ctx: Context) -> Outcome:
    integration = ctx.bot.doc.get("integrations", {}).get(step["use"])
    if integration is None:
        return failed(step, ctx, f"No integration named '{step['use']}' is configured for this bot.")
    if (integration.get("auth") or {}).get("type") != KIND:
        return failed(step, ctx, f"The integration '{step['use']}' does not sign users in (its auth is not {KIND}).")
    ctx.effect({"type": "integration.call", "signIn": True, "step": step["id"], "use": step["use"],
                "integration": integration, "timing": "sync", "timeout": CHECK_TIMEOUT,
                "seconds": int(step.get("timeout", _sign_in.WAIT))})
    return Wait({"until": (ctx.now + timedelta(seconds=CHECK_TIMEOUT) + GRACE).isoformat()})


def resume(step: dict, ctx: Context, memo: dict) -> Outcome:
    result = _sign_in.settle(step, ctx, memo, failed, "The sign-in check",
                             lambda: ctx.render(step["text"]) if step.get("text") else None)
    if not isinstance(result, dict):
        return result
    if not result.get("ok"):
        return failed(step, ctx, result.get("error") or "The sign-in failed.")
    return Next()


def reask(step: dict, ctx: Context, memo: dict) -> Outcome:
    """Back from a dialog a trigger called: check again (the user may have signed in meanwhile)."""
    return run(step, ctx)


def templates(step: dict):
    if step.get("text"):
        yield "/text", step["text"]
    if (step.get("onError") or {}).get("message"):
        yield "/onError/message", step["onError"]["message"]


def texts(step: dict):
    yield "/text", step.get("text")
    yield "/onError/message", (step.get("onError") or {}).get("message")


def writes(step: dict):
    if (step.get("onError") or {}).get("storage"):
        yield step["onError"]["storage"]


def start(doc: dict, dialog_id: str) -> dict:
    """A new step's values: the bot's first integration that signs users in (else its first), ready to edit."""
    integrations = doc.get("integrations") or {}
    signing = [name for name, found in integrations.items() if (found.get("auth") or {}).get("type") == KIND]
    return {"use": next(iter(signing or integrations), "integration"), "timeout": _sign_in.WAIT}


def summary(step: dict) -> str:
    return f"Sign the user in to {step.get('use') or '?'}"


def problems(step: dict, doc: dict, dialogs: dict):
    integration = (doc.get("integrations") or {}).get(step["use"])
    if integration is None:
        yield "/use", (f"No integration named '{step['use']}' is set up for this bot: add it on the Integrations "
                       "page, or pick one that is.")
    elif (integration.get("auth") or {}).get("type") != KIND:
        yield "/use", (f"The integration '{step['use']}' does not sign users in: set its authentication to "
                       "“oauth2-authorization-code” on the Integrations page, or pick another.")
