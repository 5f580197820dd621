"""What changed between two versions of a bot, in plain words: dialogs and steps added, removed, changed."""

from __future__ import annotations

from designer.labels import summary, type_title
from designer.tree import all_steps

FIELD_NAMES = {"text": "text", "storage": "storage", "options": "options", "branches": "conditions",
               "else": "otherwise steps", "dialog": "target dialog", "value": "value", "name": "name",
               "events": "events", "timeout": "timeout", "params": "settings", "title": "note"}


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


def describe(old: dict, new: dict) -> list[tuple[str, str]]:
    """(kind, sentence) for each difference; kind is added | removed | changed | settings."""
    lines: list[tuple[str, str]] = []
    for key, label in (("name", "name"), ("languages", "languages"), ("start", "start dialog")):
        before, after = (", ".join(v) if isinstance(v, list) else v for v in (old.get(key), new.get(key)))
        if before != after:
            lines.append(("settings", f"The bot's {label} changed from “{before}” to “{after}”."))
    old_dialogs = {d.get("id"): d for d in old.get("dialogs", [])}
    new_dialogs = {d.get("id"): d for d in new.get("dialogs", [])}
    for dialog_id in new_dialogs.keys() - old_dialogs.keys():
        lines.append(("added", f"Dialog “{new_dialogs[dialog_id].get('title') or dialog_id}” was added."))
    for dialog_id in old_dialogs.keys() - new_dialogs.keys():
        lines.append(("removed", f"Dialog “{old_dialogs[dialog_id].get('title') or dialog_id}” was removed."))
    before, after = _steps(old), _steps(new)
    for step_id, (d, step) in after.items():
        where = f"in dialog “{d.get('title') or d.get('id')}”"
        if step_id not in before:
            lines.append(("added", f"{type_title(step.get('type'))} “{summary(step)}” was added {where}."))
            continue
        was = before[step_id][1]
        if _shallow(was) != _shallow(step):
            fields = sorted(k for k in set(was) | set(step) if k not in ("id",) and
                            _shallow(was).get(k) != _shallow(step).get(k))
            what = ", ".join(FIELD_NAMES.get(k, k) for k in fields)
            lines.append(("changed", f"{type_title(step.get('type'))} “{summary(step)}” {where}: {what} changed."))
        elif before[step_id][0].get("id") != d.get("id"):
            lines.append(("changed", f"{type_title(step.get('type'))} “{summary(step)}” moved {where}."))
    for step_id, (d, step) in before.items():
        if step_id not in after:
            lines.append(("removed", f"{type_title(step.get('type'))} “{summary(step)}” was removed from dialog "
                                     f"“{d.get('title') or d.get('id')}”."))
    return lines
