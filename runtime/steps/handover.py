"""handover: pass the conversation to a human agent.

The step says its text, asks the store for a handover session (an effect) and waits. While the session is
open the store keeps the user's messages from the bot; they go to agents. When the agent closes, the store
gives the step a `result`, and the bot takes over again: the dialog the step names, or the next step.
With a `timeout`, a handover no agent accepted in time ends (the store closes the session) and the
`onTimeout` steps run: the bot says nobody is free, offers a call back.
"""

from __future__ import annotations

from . import schema
from ._words import unknown_dialog
from .base import Context, Enter, Goto, Next, Outcome, Wait

TYPE = "handover"
TITLE = "Hand over to a person"
DESCRIPTION = "Pass the conversation to a human agent; the bot takes over again when the agent closes."
ABBREVIATION = "Hand"  # the badge on its node in the tree
# The form's labels (templates/designer/steps/handover.html shows them; problems name fields by them).
LABELS = {
    "text": "What the bot says first",
    "queue": "Agents' queue (optional)",
    "afterDialog": "When the agent closes, start",
    "timeout": "If no agent accepts within (seconds)",
}
ACCEPTS = ("result", "timeout", "message", "event")
TIMED = True  # its timer is cancelled when a trigger takes the conversation elsewhere
SCHEMA = schema.step(TYPE, {
    "text": schema.TEMPLATE,
    "queue": {"type": "string", "maxLength": 100, "description": "The agents' queue or skill."},
    "afterDialog": {"type": "string", "minLength": 1, "description": "Started when the agent closes."},
    "timeout": {"type": "integer", "minimum": 10, "maximum": 7 * 24 * 3600,
                "description": "Seconds to wait for an agent to accept before the 'on timeout' steps run."},
    "onTimeout": schema.STEPS,
})


def run(step: dict, ctx: Context) -> Outcome:
    if step.get("text"):
        # Marked, so a widget knows people will answer next (it shows no typing dots for the bot meanwhile).
        ctx.emit({"type": "message", "text": ctx.render(step["text"]), "textFormat": "markdown",
                  "channelData": {"arbor": {"handover": "waiting"}}})
    ctx.effect({"type": "handover", "step": step["id"], "queue": step.get("queue") or None})
    if step.get("timeout"):
        ctx.effect({"type": "timer.start", "step": step["id"], "seconds": step["timeout"]})
    return Wait()


def reask(step: dict, ctx: Context, memo: dict) -> Outcome:
    """Back from a dialog a trigger called: the session was closed when the bot took over; go on."""
    return _after(step)


def resume(step: dict, ctx: Context, memo: dict) -> Outcome:
    """The agent closed (a `result`), nobody accepted in time (a `timeout`), or no session holds the
    conversation any more: the bot goes on."""
    if ctx.input.kind == "timeout":
        return Enter(step["onTimeout"]) if step.get("onTimeout") else Next()
    if step.get("timeout"):
        ctx.effect({"type": "timer.cancel", "step": step["id"]})
    return _after(step)


def _after(step: dict) -> Outcome:
    return Goto(step["afterDialog"]) if step.get("afterDialog") else Next()


def templates(step: dict):
    if step.get("text"):
        yield "/text", step["text"]


texts = templates  # the notice that a person will answer


def branches(step: dict):
    if step.get("onTimeout") is not None:
        yield "/onTimeout", step["onTimeout"]


def branch_label(step: dict, slot: list[str]) -> str:
    return "When the time is up" if slot[0] == "onTimeout" else slot[0]


def leads(step: dict):
    if isinstance(step.get("afterDialog"), str):
        yield step["afterDialog"]


def problems(step: dict, doc: dict, dialogs: dict):
    if isinstance(step.get("afterDialog"), str) and step["afterDialog"] not in dialogs:
        yield "/afterDialog", unknown_dialog(step["afterDialog"], dialogs)
