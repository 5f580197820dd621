"""What the editor calls things: the step menu, a step's one-line summary, a branch's label."""

from __future__ import annotations

from runtime.steps import STEP_TYPES
from runtime.steps._words import short

# The menu's order: the steps a newcomer needs first.
ORDER = ["message", "question", "choice", "condition", "set", "goto", "carousel", "event", "wait", "integration",
         "email", "sms", "dataset-query", "faq", "handover", "clear-data", "end"]


def step_menu() -> list[tuple[str, str, str]]:
    """(type, plain name, one-line description) of every step type, for the "add a step" menu."""
    kinds = sorted(STEP_TYPES, key=lambda t: ORDER.index(t) if t in ORDER else len(ORDER))
    return [(t, STEP_TYPES[t].TITLE, STEP_TYPES[t].DESCRIPTION) for t in kinds]


def type_title(kind: str) -> str:
    module = STEP_TYPES.get(kind)
    return module.TITLE if module else f"Unknown step “{kind}”"


def badge(kind: str) -> str:
    return getattr(STEP_TYPES.get(kind), "ABBREVIATION", "?")


def summary(step: dict) -> str:
    """One line saying what a step does, for its node in the tree: the designers' note, else the type's own
    summary (`summary(step)` in its module), else its text."""
    kind = step.get("type")
    if step.get("title"):
        return short(step["title"])
    module = STEP_TYPES.get(kind)
    if module is None:
        return "Kept as it is; Arbor does not know this step type"
    if hasattr(module, "summary"):
        return module.summary(step)
    text = step.get("text")
    return short(text) if text else f"(empty {type_title(kind).lower()})"


def branch_label(step: dict, slot: str) -> str:
    """`Option “Yes”`, `If age >= 18`, `Otherwise`, `When the page sends an event`, `After the timeout`."""
    parts = slot.strip("/").split("/")
    module = STEP_TYPES.get(step.get("type"))
    try:
        if hasattr(module, "branch_label"):
            return module.branch_label(step, parts)
    except (IndexError, KeyError, ValueError):
        pass
    return parts[0]


def field_label(step: dict, field: str) -> str:
    """A field of a step as its form calls it: “What the bot asks”, not `text`."""
    return getattr(STEP_TYPES.get(step.get("type")), "LABELS", {}).get(field, field)


FIELD_WORDS = {"start": "start dialog", "fallback": "fallback dialog", "dialogs": "dialogs", "id": "id",
               "name": "name", "format": "format", "triggers": "page-event triggers", "integrations": "integrations",
               "languages": "languages", "translations": "translations", "translationSources": "translations"}


def place(doc: dict, pointer: str) -> tuple[str | None, str | None, str]:
    """(dialog id, step id, the place in plain words) of a JSON Pointer into a document."""
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
    if not parts:
        return None, None, "the whole bot"
    node, dialog_id, step_id, words, field, step = doc, None, None, [], parts[-1], {}
    for part in parts:
        try:
            node = node[int(part)] if isinstance(node, list) else node[part]
        except (KeyError, IndexError, ValueError, TypeError):
            break
        if isinstance(node, dict) and node in (doc.get("dialogs") or []):
            dialog_id = node.get("id")
            words = [f"dialog “{node.get('title') or dialog_id}”"]
        elif isinstance(node, dict) and "type" in node and "id" in node:
            step_id, step = node.get("id"), node
            words = words[:1] + [f"step “{short(node.get('title') or summary(node), 40)}”"]
    if not words:
        return None, None, f"the bot's {FIELD_WORDS.get(parts[0], parts[0])}"
    if not field.isdigit() and field not in ("steps",):
        words.append(f"field “{field_label(step, field)}”")
    return dialog_id, step_id, ", ".join(words)
