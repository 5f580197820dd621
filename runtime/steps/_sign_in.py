"""The sign-in button: what a `sign-in` step, or an `integration` step acting for a user who has not signed in,
sends and how it waits for the user to come back from the provider.

The store makes the button's address (`runtime.integrations.sign_in.offer`: the provider's page with a signed,
single-use state) and hands it to the step as a `result` carrying `signIn`; the step shows it as a Bot Framework
sign-in card whose button opens the address (`openUrl`: Arbor's widget and Web Chat open it in a new tab; a
`signin` action would make Web Chat ask the Bot Framework token service for a session, which Arbor is not).
The URL tracker leaves a sign-in card alone: its single-use state must not land in the click log. The step
waits, with a timer, for the callback's `result`; a message meanwhile shows the button again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from .base import Context, Outcome, Wait

CARD = "application/vnd.microsoft.card.signin"
WAIT = 600  # seconds a sign-in button stays good unless the step says otherwise
ASK = "Please sign in to go on."


def offer(step: dict, ctx: Context, offered: dict, text: str | None) -> Wait:
    """Show the button and wait for the callback; the timer ends the wait after `offered["seconds"]`."""
    ctx.effect({"type": "timer.start", "step": step["id"], "seconds": offered["seconds"]})
    memo = {"nonce": offered["nonce"], "url": offered["url"], "text": text}
    return remind(ctx, memo)


def remind(ctx: Context, memo: dict) -> Wait:
    """Show the sign-in button (again) and keep waiting."""
    text = memo.get("text") or ctx.phrase(ASK)
    ctx.emit({"type": "message", "text": text, "attachments": [{"contentType": CARD, "content": {
        "buttons": [{"type": "openUrl", "title": ctx.phrase("Sign in"), "value": memo["url"]}]}}]})
    return Wait(memo)


def back(step: dict, ctx: Context, memo: dict) -> None:
    """The user came back from the provider (or refused): the wait's timer is no longer needed."""
    if memo.get("nonce"):
        ctx.effect({"type": "timer.cancel", "step": step["id"]})


def settle(step: dict, ctx: Context, memo: dict, failed: Callable[[dict, Context, str], Outcome], waited_for: str,
           text: Callable[[], str | None] = lambda: None) -> Outcome | dict:
    """What a step waiting for a call that may need the user to sign in (`integration`, `sign-in`) does with the
    input that woke it: an Outcome to end its turn with (the wait's timeout, a message while the button or the
    call is out, the button offered), else the call's result, the sign-in's timer cancelled. `waited_for` names
    the call in the failure when the process making it stopped; `text` is what the button says, if not the default.
    """
    inp = ctx.input
    if inp.kind == "timeout":
        return failed(step, ctx, "The user did not sign in in time.") if memo.get("nonce") else Wait(memo)
    if inp.kind == "message":
        if memo.get("nonce"):
            return remind(ctx, memo)
        if ctx.now < datetime.fromisoformat(memo["until"]):
            return Wait(memo)  # the call is still running in another request
        return failed(step, ctx, f"{waited_for} got no answer (the process making it stopped).")
    result = inp.value if isinstance(inp.value, dict) else {}
    if result.get("signIn") and not memo.get("nonce"):
        return offer(step, ctx, result["signIn"], text())
    back(step, ctx, memo)
    return result
