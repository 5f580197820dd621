"""condition: take the first branch whose expression holds, else the `else` steps."""

from __future__ import annotations

from . import schema
from ._condition_rows import ALWAYS, describe
from ._words import short
from .base import Context, Enter, Next, Outcome

TYPE = "condition"
TITLE = "Condition"
DESCRIPTION = "Do different things depending on what the bot knows: the option picked, an age, a topic."
ABBREVIATION = "If"  # the badge on its node in the tree
# The form's labels (templates/designer/steps/condition.html shows them; problems name fields by them).
LABELS = {"branches": "Conditions", "when": "If", "else": "Otherwise"}
# A new step's values: ready to edit.
START = {"branches": [{"when": "true", "steps": []}], "else": []}
SCHEMA = schema.step(TYPE, {
    "branches": {"type": "array", "maxItems": 50, "items": {
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


def on_edit(step: dict, storages: set[str]) -> dict[str, str]:
    """An If left empty (a branch just added, or its expression cleared) always holds; a branch gets its (empty)
    step list. Rows are picked next."""
    for branch in step.get("branches") or []:
        if not str(branch.get("when") or "").strip():
            branch["when"] = ALWAYS
        if not isinstance(branch.get("steps"), list):
            branch["steps"] = []
    return {}


def summary(step: dict) -> str:
    """"If interest is Website, otherwise …" (and how many more ifs): what it checks first, in plain words."""
    branches = step.get("branches") or []
    if not branches:
        return "No “If” yet"
    more = f" (and {len(branches) - 1} more)" if len(branches) > 1 else ""
    return short(f"{branch_label(step, ['branches', '0'])}{more}, otherwise …")


def branch_label(step: dict, slot: list[str]) -> str:
    if slot[0] == "else":
        return "Otherwise"
    branch = step["branches"][int(slot[1])]
    return branch.get("title") or f"If {short(describe(branch.get('when')), 60)}"  # "If interest is Website"


def problems(step: dict, doc: dict, dialogs: dict):
    if not step.get("branches"):
        yield "/branches", "A condition needs at least one “If”: add one, or remove the condition step."
