"""choice: offer options as buttons; each option may lead into its own steps."""

from __future__ import annotations

from . import schema
from ._buttons import suggested
from ._matching import match
from ._words import blank, empty, name_from, short
from .base import Context, Enter, Next, NotUnderstood, Outcome, Wait

TYPE = "choice"
TITLE = "Choice"
DESCRIPTION = "Offer options as buttons; each option can lead into its own steps."
ABBREVIATION = "Pick"  # the badge on its node in the tree
# A new step's values: ready to edit.
START = {"text": "", "options": [{"title": "Yes", "steps": []}, {"title": "No", "steps": []}]}
# The form's labels (templates/designer/steps/choice.html shows them; problems name fields by them).
LABELS = {
    "text": "What the bot asks",
    "storage": "Keep the answer in",
    "options": "Options",
}
SCHEMA = schema.step(TYPE, {
    "text": schema.TEMPLATE,
    "storage": schema.NAME_OR_LANGUAGE,
    "options": {"type": "array", "maxItems": 50, "items": {
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


def on_edit(step: dict, storages: set[str]) -> dict[str, str]:
    """A choice keeps its answer by default: once it has a question and no storage, the designer names one
    after the question (conditions and texts can then use the answer). Returns the fields it filled."""
    if step.get("storage") or blank(step.get("text")):
        return {}
    step["storage"] = name_from(step["text"], storages)
    return {"storage": step["storage"]}


def summary(step: dict) -> str:
    kept = f" → {step['storage']}" if step.get("storage") else ""
    return short(f"{step.get('text') or '(no question yet)'}{kept}")


def branch_label(step: dict, slot: list[str]) -> str:
    return f"Option “{step['options'][int(slot[1])].get('title', '')}”"


def problems(step: dict, doc: dict, dialogs: dict):
    if blank(step.get("text")):
        yield "/text", empty(LABELS["text"], "write the question the options answer.")
    if not step.get("options"):
        yield "/options", "A choice needs at least one option: add one with “+ Add an option”."
    seen = set()
    for i, option in enumerate(step.get("options", [])):
        for key in ("title", "value"):
            label = option.get(key)
            if label is None or (key == "value" and label.casefold() == option["title"].casefold()):
                continue
            if label.casefold() in seen:
                yield f"/options/{i}/{key}", (f"Two options share '{label}'; the bot could not tell them apart. "
                                              "Change one of them.")
            seen.add(label.casefold())
    for i, option in enumerate(step.get("options", [])):
        for j, phrasing in enumerate(option.get("phrasings", [])):
            if phrasing.casefold() in seen:
                yield f"/options/{i}/phrasings/{j}", (f"'{phrasing}' is already said by an option (its title, value "
                                                      "or another phrasing); remove it here.")
            seen.add(phrasing.casefold())
