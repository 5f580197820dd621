"""goto: continue in another dialog, for good (jump) or coming back afterwards (call)."""

from __future__ import annotations

from . import schema
from ._words import unknown_dialog
from .base import Context, Goto, Outcome

TYPE = "goto"
TITLE = "Go to a dialog"
DESCRIPTION = "Continue in another dialog; with 'call' the bot comes back here when it ends."
ABBREVIATION = "Go"  # the badge on its node in the tree
# The form's labels (templates/designer/steps/goto.html shows them; problems name fields by them).
LABELS = {
    "dialog": "Go to the dialog",
    "mode": "How",
}
SCHEMA = schema.step(TYPE, {
    "dialog": {"type": "string", "minLength": 1},
    "mode": {"enum": ["jump", "call"], "default": "jump"},
}, required=("dialog",))


def run(step: dict, ctx: Context) -> Outcome:
    return Goto(step["dialog"], step.get("mode", "jump"))


def start(doc: dict, dialog_id: str) -> dict:
    """A new goto leads to another dialog than its own, when there is one."""
    others = [d["id"] for d in doc.get("dialogs", []) if d.get("id") != dialog_id] or [dialog_id]
    return {"dialog": others[0], "mode": "jump"}


def summary(step: dict) -> str:
    return f"{'Call' if step.get('mode') == 'call' else 'Go to'} dialog {step.get('dialog', '?')}"


def leads(step: dict):
    yield step["dialog"]


def problems(step: dict, doc: dict, dialogs: dict):
    if step["dialog"] not in dialogs:
        yield "/dialog", unknown_dialog(step["dialog"], dialogs)
