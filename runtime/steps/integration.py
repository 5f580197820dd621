"""integration: call an outside system through a template from the catalog.

The engine does no I/O, so the step asks for the call as an effect (`integration.call`) with its input
filled in from user data. `sync`: the step waits for the `result` input, which the store feeds back in
the same request once the call is done; then the output goes to the step's storage, or `onError` runs.
`async`: the conversation goes on at once; the result is written to the storage when it arrives.
A message that arrives while a sync call is still running is dropped; one that arrives after its time
is up (the process making the call died) counts as a failed call, so no conversation stays stuck.
A sync call of an integration that acts for the user (`oauth2-authorization-code`), for a user who has not
signed in, shows the sign-in button instead (`_sign_in`), and is made once the user is back from the provider.
"""

from __future__ import annotations

from datetime import timedelta

from runtime.expressions import fill, strings, template_names

from . import _sign_in, schema
from .base import Context, End, Goto, Next, Outcome, Wait

TYPE = "integration"
TITLE = "Call an outside system"
DESCRIPTION = "Call a CRM, a ticket system or any REST API through a configured integration."
ABBREVIATION = "API"  # the badge on its node in the tree
# The form's labels (templates/designer/steps/integration.html shows them; problems name fields by them).
LABELS = {
    "output": "Keep the answer in (optional)",
    "timing": "The user",
    "timeout": "Wait at most (seconds)",
}
ACCEPTS = ("result", "message", "timeout")  # a timeout: the user did not sign in in time
DEFAULT_TIMEOUT, MAX_TIMEOUT = 3, 30
GRACE = timedelta(seconds=5)  # past the call's timeout before a waiting conversation gives up on it
APOLOGY = "Sorry, something went wrong on our side and I cannot go on right now. Please try again later."
KNOWN = frozenset({"user", "event", "input", "now"})
ON_ERROR = {
    "type": "object", "required": ["action"], "additionalProperties": False,
    "properties": {
        "action": {"enum": ["fail", "dialog", "flag"]},
        "dialog": {"type": "string", "minLength": 1},
        "storage": schema.NAME,
        "message": schema.TEMPLATE,
    },
}
SCHEMA = schema.step(TYPE, {
    "use": {"type": "string", "minLength": 1, "maxLength": 64,
            "description": "The name of an integration configured for this bot."},
    "params": {"type": "object", "additionalProperties": True,
               "description": "The template's input; texts may use {{ storage }}."},
    "output": schema.NAME,
    "timing": {"enum": ["sync", "async"], "default": "sync"},  # data kept ahead of time: a dataset (botdoc/migrations)
    "timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_TIMEOUT, "default": DEFAULT_TIMEOUT},
    "onError": ON_ERROR,
}, required=("use",))


def run(step: dict, ctx: Context) -> Outcome:
    integration = ctx.bot.doc.get("integrations", {}).get(step["use"])
    if integration is None:
        return failed(step, ctx, f"No integration named '{step['use']}' is configured for this bot.")
    params = step.get("params") or {}
    missing = sorted({name for text in strings(params) if "{" in text
                      for name in template_names(text)} - KNOWN - ctx.data.keys())
    if missing:
        return failed(step, ctx, f"The parameters use {', '.join(map(repr, missing))}, which "
                                 f"{'has' if len(missing) == 1 else 'have'} no value yet.")
    timeout = min(float(step.get("timeout", DEFAULT_TIMEOUT)), MAX_TIMEOUT)
    timing = step.get("timing", "sync")
    ctx.effect({"type": "integration.call", "step": step["id"], "use": step["use"], "integration": integration,
                "input": fill(params, ctx.render, ctx.evaluate), "timing": timing, "timeout": timeout,
                "output": step.get("output"), "onError": step.get("onError")})
    if timing == "async":
        return Next()
    return Wait({"until": (ctx.now + timedelta(seconds=timeout) + GRACE).isoformat()})


def resume(step: dict, ctx: Context, memo: dict) -> Outcome:
    result = _sign_in.settle(step, ctx, memo, failed, "The call")
    if not isinstance(result, dict):
        return result
    if result.get("signedIn"):
        return run(step, ctx)  # back from the provider: make the call now
    if not result.get("ok"):
        return failed(step, ctx, result.get("error") or "The call failed.")
    if step.get("output"):
        ctx.data[step["output"]] = result.get("output")
    return Next()


def failed(step: dict, ctx: Context, reason: str) -> Outcome:
    """Follow the step's onError (default `fail`): apologise and end, start a dialog, or flag and go on."""
    ctx.error(f"Integration '{step['use']}' failed: {reason}")
    on_error = step.get("onError") or {"action": "fail"}
    message = ctx.render(on_error["message"]) if on_error.get("message") else None
    if on_error["action"] == "flag":
        if on_error.get("storage"):
            ctx.data[on_error["storage"]] = True
        if message:
            ctx.emit({"type": "message", "text": message})
        return Next()
    if on_error["action"] == "dialog":
        if message:
            ctx.emit({"type": "message", "text": message})
        return Goto(on_error["dialog"], "jump")
    ctx.emit({"type": "message", "text": message or ctx.phrase(APOLOGY)})
    return End()


def templates(step: dict):
    yield from _texts(step.get("params") or {}, "/params")
    if (step.get("onError") or {}).get("message"):
        yield "/onError/message", step["onError"]["message"]


def texts(step: dict):
    yield "/onError/message", (step.get("onError") or {}).get("message")


def _texts(value, path: str):
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _texts(item, f"{path}/{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _texts(item, f"{path}/{i}")


def writes(step: dict):
    if step.get("output"):
        yield step["output"]
    if step.get("onError", {}).get("storage"):
        yield step["onError"]["storage"]


def start(doc: dict, dialog_id: str) -> dict:
    return {"use": next(iter(doc.get("integrations") or {}), "integration"), "params": {}}


def summary(step: dict) -> str:
    return f"Call {step.get('use', '?')}" + (f" → {step['output']}" if step.get("output") else "")


def problems(step: dict, doc: dict, dialogs: dict):
    if step["use"] not in doc.get("integrations", {}):
        yield "/use", (f"No integration named '{step['use']}' is set up for this bot: add it on the Integrations "
                       "page, or pick one that is.")
