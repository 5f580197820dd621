"""condition: take the first branch whose expression holds, else the `else` steps."""

from __future__ import annotations

from . import schema
from .base import Context, Enter, Next, Outcome

TYPE = "condition"
TITLE = "Condition"
DESCRIPTION = "Do different things depending on what the bot knows (age >= 18, topic == \"loan\")."
SCHEMA = schema.step(TYPE, {
    "branches": {"type": "array", "minItems": 1, "maxItems": 50, "items": {
        "type": "object", "required": ["when", "steps"], "additionalProperties": False,
        "properties": {"title": {"type": "string", "maxLength": 200}, "when": schema.EXPRESSION,
                       "steps": schema.STEPS},
    }},
    "else": schema.STEPS,
}, required=("branches",))


def run(step: dict, ctx: Context) -> Outcome:
    for branch in step["branches"]:
        if ctx.evaluate(branch["when"]):
            return Enter(branch["steps"])
    return Enter(step["else"]) if step.get("else") else Next()


def expressions(step: dict):
    for i, branch in enumerate(step.get("branches", [])):
        yield f"/branches/{i}/when", branch.get("when")


def branches(step: dict):
    for i, branch in enumerate(step.get("branches", [])):
        yield f"/branches/{i}/steps", branch.get("steps", [])
    if step.get("else") is not None:
        yield "/else", step["else"]
