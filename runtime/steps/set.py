"""set: compute a value and keep it in a storage."""

from __future__ import annotations

from . import schema
from .base import Context, Next, Outcome

TYPE = "set"
TITLE = "Set a storage"
DESCRIPTION = "Compute a value (a sum, a flag, a text) and keep it in a storage."
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
