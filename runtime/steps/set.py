"""set: compute a value and keep it in a storage."""

from __future__ import annotations

from . import schema
from ._words import short
from .base import Context, Next, Outcome

TYPE = "set"
TITLE = "Set a storage"
DESCRIPTION = "Compute a value (a sum, a flag, a text) and keep it in a storage."
ABBREVIATION = "Set"  # the badge on its node in the tree
# A new step's values: ready to edit.
START = {"storage": "result", "value": "1"}
# The form's labels (templates/designer/steps/set.html shows them; problems name fields by them).
LABELS = {
    "storage": "Keep the result in",
    "value": "Value",
}
SCHEMA = schema.step(TYPE, {"storage": schema.NAME_OR_LANGUAGE, "value": schema.EXPRESSION},
                     required=("storage", "value"))


def run(step: dict, ctx: Context) -> Outcome:
    ctx.store(step["storage"], ctx.evaluate(step["value"]))
    return Next()


def expressions(step: dict):
    yield "/value", step.get("value")


def writes(step: dict):
    if step.get("storage") != schema.LANGUAGE:
        yield step.get("storage")


def summary(step: dict) -> str:
    return short(f"{step.get('storage', '?')} = {step.get('value', '')}")
