"""choice: offer options as buttons; each option may lead into its own steps."""

from __future__ import annotations

from . import schema
from ._buttons import suggested
from ._matching import match
from .base import Context, Enter, Next, NotUnderstood, Outcome, Wait

TYPE = "choice"
TITLE = "Choice"
DESCRIPTION = "Offer options as buttons; each option can lead into its own steps."
SCHEMA = schema.step(TYPE, {
    "text": schema.TEMPLATE,
    "storage": schema.NAME_OR_LANGUAGE,
    "options": {"type": "array", "minItems": 1, "maxItems": 50, "items": {
        "type": "object", "required": ["title"], "additionalProperties": False,
        "properties": {
            "title": {"type": "string", "minLength": 1, "maxLength": 200},
            "value": {"type": "string", "minLength": 1, "maxLength": 200},
            "phrasings": {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 500},
                          "maxItems": 100, "description": "Other ways users say this option."},
            "steps": schema.STEPS,
        },
    }},
}, required=("text", "options"))


def run(step: dict, ctx: Context) -> Outcome:
    actions = [{"type": "imBack", "title": o["title"], "value": o["title"]} for o in step["options"]]
    ctx.emit({"type": "message", "text": ctx.render(step["text"]), "inputHint": "expectingInput",
              "suggestedActions": suggested(actions, ctx.user.get("id"))})
    return Wait()


def resume(step: dict, ctx: Context, memo: dict) -> Outcome:
    options = step["options"]
    picked = match(ctx.input, [(o.get("value", o["title"]), o["title"]) for o in options],
                   [o.get("phrasings", []) for o in options])
    if picked is None:
        ctx.log({"kind": "nlp-miss", "query": ctx.input.text or str(ctx.input.value or "")})
        return NotUnderstood()
    option = options[picked]
    if step.get("storage"):
        ctx.store(step["storage"], option.get("value", option["title"]))
    return Enter(option["steps"]) if option.get("steps") else Next()


def templates(step: dict):
    yield "/text", step.get("text")


def texts(step: dict):
    yield "/text", step.get("text")
    for i, option in enumerate(step.get("options", [])):
        yield f"/options/{i}/title", option.get("title")


def branches(step: dict):
    for i, option in enumerate(step.get("options", [])):
        if option.get("steps") is not None:
            yield f"/options/{i}/steps", option["steps"]


def writes(step: dict):
    if step.get("storage") and step["storage"] != schema.LANGUAGE:
        yield step["storage"]
