"""What the editor calls things: the step menu, a step's one-line summary, a branch's label."""

from __future__ import annotations

from runtime.steps import STEP_TYPES

# The menu's order: the steps a newcomer needs first.
ORDER = ["message", "question", "choice", "condition", "set", "goto", "carousel", "event", "wait", "integration",
         "email", "sms", "dataset-query", "faq", "handover", "clear-data", "end"]
ABBREVIATIONS = {"message": "Msg", "question": "Ask", "choice": "Pick", "condition": "If", "set": "Set",
                 "goto": "Go", "carousel": "Card", "event": "Evt", "wait": "Wait", "integration": "API",
                 "email": "Mail", "sms": "SMS", "dataset-query": "Data", "faq": "FAQ", "handover": "Hand",
                 "clear-data": "Clr", "end": "End"}


def step_menu() -> list[tuple[str, str, str]]:
    """(type, plain name, one-line description) of every step type, for the "add a step" menu."""
    kinds = sorted(STEP_TYPES, key=lambda t: ORDER.index(t) if t in ORDER else len(ORDER))
    return [(t, STEP_TYPES[t].TITLE, STEP_TYPES[t].DESCRIPTION) for t in kinds]


def type_title(kind: str) -> str:
    module = STEP_TYPES.get(kind)
    return module.TITLE if module else f"Unknown step “{kind}”"


def badge(kind: str) -> str:
    return ABBREVIATIONS.get(kind, "?")


def _short(text: object, size: int = 70) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= size else text[: size - 1] + "…"


def summary(step: dict) -> str:
    """One line saying what a step does, for its node in the tree."""
    kind = step.get("type")
    if step.get("title"):
        return _short(step["title"])
    if kind == "question":
        return _short(f"{step.get('text') or '(no question yet)'} → {step.get('storage', '?')}")
    if kind == "set":
        return _short(f"{step.get('storage', '?')} = {step.get('value', '')}")
    if kind == "goto":
        return f"{'Call' if step.get('mode') == 'call' else 'Go to'} dialog {step.get('dialog', '?')}"
    if kind == "event":
        return f"Send “{step.get('name', '?')}” to the page"
    if kind == "wait":
        events = ", ".join(step.get("events") or []) or "an event"
        timeout = f" or {step['timeout']} s" if step.get("timeout") else ""
        return _short(f"Wait for {events}{timeout}")
    if kind == "condition":
        return f"{len(step.get('branches') or [])} condition(s) and otherwise"
    if kind == "integration":
        return f"Call {step.get('use', '?')}" + (f" → {step['output']}" if step.get("output") else "")
    if kind in ("email", "sms"):
        return _short(f"To {step.get('to') or '?'}: {step.get('subject') or step.get('text') or ''}")
    if kind == "dataset-query":
        return f"Look up {step.get('dataset', '?')} → {step.get('storage', '?')}"
    if kind == "faq":
        return f"{len(step.get('questions') or [])} question(s)"
    if kind == "end":
        return "End of the conversation"
    if kind not in STEP_TYPES:
        return "Kept as it is; Arbor does not know this step type"
    text = step.get("text")
    return _short(text) if text else f"(empty {type_title(kind).lower()})"


def branch_label(step: dict, slot: str) -> str:
    """`Option “Yes”`, `If age >= 18`, `Otherwise`, `When the page sends an event`, `After the timeout`."""
    parts = slot.strip("/").split("/")
    try:
        if parts[0] == "options":
            return f"Option “{step['options'][int(parts[1])].get('title', '')}”"
        if parts[0] == "branches":
            branch = step["branches"][int(parts[1])]
            return branch.get("title") or f"If {_short(branch.get('when'), 60)}"
    except (IndexError, KeyError, ValueError):
        pass
    return {"else": "Otherwise", "onEvent": "When the page sends the event",
            "onTimeout": "When the time is up"}.get(parts[0], parts[0])


FIELD_WORDS = {"start": "start dialog", "fallback": "fallback dialog", "dialogs": "dialogs", "id": "id",
               "name": "name", "format": "format", "triggers": "page-event triggers", "integrations": "integrations",
               "languages": "languages", "translations": "translations", "translationSources": "translations"}


def place(doc: dict, pointer: str) -> tuple[str | None, str | None, str]:
    """(dialog id, step id, the place in plain words) of a JSON Pointer into a document."""
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
    if not parts:
        return None, None, "the whole bot"
    node, dialog_id, step_id, words, field = doc, None, None, [], parts[-1]
    for part in parts:
        try:
            node = node[int(part)] if isinstance(node, list) else node[part]
        except (KeyError, IndexError, ValueError, TypeError):
            break
        if isinstance(node, dict) and node in (doc.get("dialogs") or []):
            dialog_id = node.get("id")
            words = [f"dialog “{node.get('title') or dialog_id}”"]
        elif isinstance(node, dict) and "type" in node and "id" in node:
            step_id = node.get("id")
            words = words[:1] + [f"step “{_short(node.get('title') or summary(node), 40)}”"]
    if not words:
        return None, None, f"the bot's {FIELD_WORDS.get(parts[0], parts[0])}"
    if not field.isdigit() and field not in ("steps",):
        words.append(f"field “{field}”")
    return dialog_id, step_id, ", ".join(words)
