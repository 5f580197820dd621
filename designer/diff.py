"""What changed between two versions of a bot, in plain words: dialogs and steps added, removed, changed,
each with its old and new text side by side (never a JSON diff)."""

from __future__ import annotations

from dataclasses import dataclass, field

from designer.labels import field_label, summary, type_title
from designer.tree import all_steps

FIELD_NAMES = {"text": "text", "storage": "storage", "options": "options", "branches": "conditions",
               "else": "otherwise steps", "dialog": "target dialog", "value": "value", "name": "name",
               "events": "events", "timeout": "timeout", "params": "settings", "title": "note",
               "retry": "asked again with", "validate": "expected answer", "buttons": "buttons",
               "image": "image", "mode": "how it continues", "items": "cards from", "card": "card",
               "languages": "languages", "start": "start dialog"}
HIDDEN = ("id", "type")


@dataclass
class Change:
    """One difference: its kind (added | removed | changed | settings), a sentence, and (field, before, after)
    rows of plain text."""

    kind: str
    sentence: str
    rows: list[tuple[str, str, str]] = field(default_factory=list)


def _steps(doc: dict) -> dict[str, tuple[dict, dict]]:
    return {s.get("id"): (d, s) for d, s in all_steps(doc)}


def _shallow(step: dict) -> dict:
    """A step without its child steps, so a change inside a branch counts for the child only."""
    from runtime.steps import branches
    own = dict(step)
    for suffix, _ in branches(step):
        key = suffix.strip("/").split("/")[0]
        if key in ("else", "onEvent", "onTimeout"):
            own.pop(key, None)
        elif key in own:
            own[key] = [{k: v for k, v in item.items() if k != "steps"} for item in own[key]]
    return own


def as_text(value) -> str:
    """A field's value as a person reads it: options by their titles, conditions by their expressions."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return "; ".join(as_text(item) for item in value)
    if isinstance(value, dict):
        for key in ("title", "when", "name", "text"):
            if isinstance(value.get(key), str):
                return value[key]
        return ", ".join(f"{k}: {as_text(v)}" for k, v in value.items())
    return str(value)


def _name(step: dict, key: str) -> str:
    """A field as the step's form calls it ("What the bot asks"), else in plain words."""
    label = field_label(step, key)
    return label if label != key else FIELD_NAMES.get(key, key)


def _rows(was: dict, now: dict) -> list[tuple[str, str, str]]:
    """(field, before, after) for each field that differs, in the order the step lists them."""
    keys = [k for k in dict.fromkeys([*was, *now]) if k not in HIDDEN]
    return [(_name(now or was, k), as_text(was.get(k)), as_text(now.get(k))) for k in keys
            if was.get(k) != now.get(k)]


def describe(old: dict, new: dict) -> list[Change]:
    """Each difference from `old` to `new`, settings first, then dialogs, then steps."""
    changes: list[Change] = []
    for key, label in (("name", "name"), ("languages", "languages"), ("start", "start dialog")):
        before, after = (as_text(old.get(key)), as_text(new.get(key)))
        if before != after:
            changes.append(Change("settings", f"The bot's {label} changed.", [(label, before, after)]))
    old_dialogs = {d.get("id"): d for d in old.get("dialogs", [])}
    new_dialogs = {d.get("id"): d for d in new.get("dialogs", [])}
    for dialog_id in new_dialogs.keys() - old_dialogs.keys():
        title = new_dialogs[dialog_id].get("title") or dialog_id
        changes.append(Change("added", f"Dialog “{title}” was added.", [("dialog", "", title)]))
    for dialog_id in old_dialogs.keys() - new_dialogs.keys():
        title = old_dialogs[dialog_id].get("title") or dialog_id
        changes.append(Change("removed", f"Dialog “{title}” was removed.", [("dialog", title, "")]))
    before, after = _steps(old), _steps(new)
    for step_id, (d, step) in after.items():
        what, where = type_title(step.get("type")), f"in dialog “{d.get('title') or d.get('id')}”"
        if step_id not in before:
            changes.append(Change("added", f"{what} “{summary(step)}” was added {where}.", _rows({}, _shallow(step))))
            continue
        was_dialog, was = before[step_id]
        if _shallow(was) != _shallow(step):
            changes.append(Change("changed", f"{what} “{summary(step)}” {where} changed.",
                                  _rows(_shallow(was), _shallow(step))))
        elif was_dialog.get("id") != d.get("id"):
            changes.append(Change("changed", f"{what} “{summary(step)}” moved {where}.",
                                  [("dialog", was_dialog.get("title") or was_dialog.get("id"),
                                    d.get("title") or d.get("id"))]))
    for step_id, (d, step) in before.items():
        if step_id not in after:
            changes.append(Change("removed", f"{type_title(step.get('type'))} “{summary(step)}” was removed from "
                                             f"dialog “{d.get('title') or d.get('id')}”.", _rows(_shallow(step), {})))
    return changes
