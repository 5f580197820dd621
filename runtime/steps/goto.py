"""goto: continue in another dialog, for good (jump) or coming back afterwards (call)."""

from __future__ import annotations

from . import schema
from .base import Context, Goto, Outcome

TYPE = "goto"
TITLE = "Go to a dialog"
DESCRIPTION = "Continue in another dialog; with 'call' the bot comes back here when it ends."
SCHEMA = schema.step(TYPE, {
    "dialog": {"type": "string", "minLength": 1},
    "mode": {"enum": ["jump", "call"], "default": "jump"},
}, required=("dialog",))


def run(step: dict, ctx: Context) -> Outcome:
    return Goto(step["dialog"], step.get("mode", "jump"))
