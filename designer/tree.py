"""The draft's tree as the editor changes it: find a step, insert, move, copy and delete steps in any
step list of a dialog (a dialog's own list or a branch of a branching step), and make new ids.

Pure functions over the document dict; the views load the draft, call these and save it. A step
list is named by a `Place`: the dialog, and for a branch the branching step's id and the branch's
JSON Pointer suffix inside it (`/options/0/steps`, `/else`, `/onTimeout`).
"""

from __future__ import annotations

import copy
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

from runtime.steps import STEP_TYPES, branches

# The branches a type may hold even while they are empty or absent, so steps can be added into them.
_SLOTS = {
    "condition": lambda s: [f"/branches/{i}/steps" for i in range(len(s.get("branches", [])))] + ["/else"],
    "choice": lambda s: [f"/options/{i}/steps" for i in range(len(s.get("options", [])))],
    "wait": lambda s: ["/onEvent", "/onTimeout"],
    "handover": lambda s: ["/onTimeout"],
}


class EditError(ValueError):
    """An edit that cannot be made as asked; the message says why in plain words."""


class NotInDraft(EditError):
    """A dialog or step id that is not in the draft: a 404 when the URL names it, a 422 when the form does
    (`drafting.status_of`)."""

    def __init__(self, message: str, missing: str):
        super().__init__(message)
        self.missing = missing


@dataclass(frozen=True)
class Place:
    dialog: str
    parent: str | None = None  # the branching step's id; None for the dialog's own steps
    slot: str | None = None  # the branch's pointer suffix inside the parent

    @classmethod
    def parse(cls, text: str) -> Place:
        """`dialog` or `dialog|parent|/slot`, as the tree's drop zones name them."""
        parts = (text or "").split("|")
        if len(parts) == 1 and parts[0]:
            return cls(parts[0])
        if len(parts) == 3 and all(parts) and parts[2].startswith("/"):
            return cls(parts[0], parts[1], parts[2])
        raise EditError("That place in the tree is not known; reload the page.")

    def __str__(self) -> str:
        return self.dialog if self.parent is None else f"{self.dialog}|{self.parent}|{self.slot}"


def slots(step: dict) -> list[tuple[str, list | None]]:
    """Every branch of a step (suffix, its list or None while absent), in the order the tree shows them."""
    present = dict(branches(step))
    keys = _SLOTS[step.get("type")](step) if step.get("type") in _SLOTS else list(present)
    return [(key, present.get(key)) for key in keys]


def dialog(doc: dict, dialog_id: str) -> dict:
    for d in doc.get("dialogs", []):
        if d.get("id") == dialog_id:
            return d
    raise NotInDraft(f"There is no dialog '{dialog_id}' any more; reload the page.", dialog_id)


def walk(items: list) -> Iterator[tuple[dict, list, int]]:
    """(step, the list holding it, its index) for every step in `items`, branches included, in order."""
    todo = [(items, i) for i in range(len(items) - 1, -1, -1)]
    while todo:
        holder, i = todo.pop()
        step = holder[i]
        yield step, holder, i
        if isinstance(step, dict):
            for _, child in reversed(slots(step)):
                if isinstance(child, list):
                    todo.extend((child, j) for j in range(len(child) - 1, -1, -1))


def all_steps(doc: dict) -> Iterator[tuple[dict, dict]]:
    """(dialog, step) for every step of the bot."""
    for d in doc.get("dialogs", []):
        for step, _, _ in walk(d.get("steps", [])):
            yield d, step


def _dialogs(doc: dict, hint: str | None) -> list[dict]:
    """The dialogs, the one the step is probably in (the page's dialog) first: big bots are searched less."""
    dialogs = doc.get("dialogs", [])
    first = [d for d in dialogs if d.get("id") == hint] if hint else []
    return first + [d for d in dialogs if not first or d is not first[0]]


def locate(doc: dict, step_id: str, hint: str | None = None) -> tuple[dict, list, int, dict]:
    """(step, its list, its index, its dialog), or EditError; `hint` names the dialog to search first."""
    for d in _dialogs(doc, hint):
        for step, holder, i in walk(d.get("steps", [])):
            if isinstance(step, dict) and step.get("id") == step_id:
                return step, holder, i, d
    raise NotInDraft("That step is not in the draft any more; it may have been deleted. Reload the page.", step_id)


def step_list(doc: dict, place: Place) -> list:
    """The list a place names, created when it is a branch not yet there."""
    d = dialog(doc, place.dialog)
    if place.parent is None:
        return d.setdefault("steps", [])
    parent, _, _, owner = locate(doc, place.parent, place.dialog)
    if owner is not d or place.slot not in dict(slots(parent)):
        raise EditError("That branch is not there any more; reload the page.")
    *path, last = place.slot.strip("/").split("/")
    node = parent
    for key in path:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if not isinstance(node.get(last), list):
        node[last] = []
    return node[last]


def ids(doc: dict) -> set[str]:
    """Every dialog and step id (and any other `id` inside them): a plain scan, as fast as it gets in Python."""
    found: set[str] = set()
    todo: list = [doc.get("dialogs", [])]
    while todo:
        node = todo.pop()
        if isinstance(node, list):
            todo.extend(item for item in node if isinstance(item, dict | list))
        else:
            if "id" in node:
                found.add(node["id"])
            todo.extend(value for value in node.values() if isinstance(value, dict | list))
    return found


def new_id(taken: set[str], prefix: str) -> str:
    while True:
        candidate = f"{prefix}-{secrets.token_hex(3)}"
        if candidate not in taken:
            taken.add(candidate)
            return candidate


def insert(doc: dict, place: Place, index: int | None, step: dict) -> dict:
    """Put a step into a list at `index` (the end when None); returns it."""
    items = step_list(doc, place)
    items.insert(len(items) if index is None else max(0, min(index, len(items))), step)
    return step


def move(doc: dict, step_id: str, place: Place, index: int) -> None:
    """Move a step (with its branches) to `index` of another or the same list; not into itself."""
    step, holder, i, _ = locate(doc, step_id, place.dialog)
    if place.parent is not None and any(s.get("id") == place.parent for s, _, _ in walk([step])):
        raise EditError("A step cannot be moved into its own branches.")
    target = step_list(doc, place)
    holder.pop(i)
    target.insert(max(0, min(index, len(target))), step)


def remove(doc: dict, step_id: str, hint: str | None = None) -> dict:
    step, holder, i, _ = locate(doc, step_id, hint)
    holder.pop(i)
    return step


def duplicate(doc: dict, step_id: str, taken: set[str] | None = None) -> dict:
    """A copy of a step (and of its branches) with new ids, placed right after it; returns the copy.

    `taken` is the set of ids in use when the caller has it (it is updated), else it is computed.
    """
    step, holder, i, _ = locate(doc, step_id)
    twin = copy.deepcopy(step)
    taken = ids(doc) if taken is None else taken
    for inner, _, _ in walk([twin]):
        inner["id"] = new_id(taken, _prefix(inner.get("type")))
    holder.insert(i + 1, twin)
    return twin


def _prefix(kind: object) -> str:
    return str(kind or "step").split("-")[0][:8]


def new_step(doc: dict, kind: str, dialog_id: str, taken: set[str] | None = None) -> dict:
    """A step of a type with starting values that make sense to edit from (EditError for an unknown type).

    `taken` is the set of ids in use when the caller has it (it is updated), else it is computed.
    """
    if kind not in STEP_TYPES:
        raise EditError(f"There is no step type '{kind}'.")
    module = STEP_TYPES[kind]
    start = module.start(doc, dialog_id) if hasattr(module, "start") else copy.deepcopy(getattr(module, "START", {}))
    taken = ids(doc) if taken is None else taken
    return {"id": new_id(taken, _prefix(kind)), "type": kind, **start}


def gotos_to(doc: dict, dialog_id: str) -> list[tuple[dict, dict]]:
    """(dialog, step) of every step that leads to a dialog: goto, handover's afterDialog, onError."""
    found = []
    for d, step in all_steps(doc):
        targets = {step.get("dialog"), step.get("afterDialog"), (step.get("onError") or {}).get("dialog")}
        if dialog_id in targets:
            found.append((d, step))
    return found


def storages(doc: dict) -> list[str]:
    """The storage names the bot already uses, for the storage picker."""
    names = {t.get("storage") for t in doc.get("triggers", [])}
    for _, step in all_steps(doc):
        for key in ("storage", "output"):
            names.add(step.get(key))
        names.add((step.get("onError") or {}).get("storage"))
    return sorted(n for n in names if isinstance(n, str) and n)


def place_of(doc: dict, step_id: str, hint: str | None = None) -> Place:
    """The place of the list that holds a step; `hint` names the dialog to search first."""
    for d in _dialogs(doc, hint):
        if any(s.get("id") == step_id for s in d.get("steps", [])):
            return Place(d["id"])
        for step, _, _ in walk(d.get("steps", [])):
            for slot, items in slots(step):
                if any(isinstance(s, dict) and s.get("id") == step_id for s in items or []):
                    return Place(d["id"], step["id"], slot)
    raise NotInDraft("That step is not in the draft any more; reload the page.", step_id)


def shape_problem(doc: dict) -> str | None:
    """Why the editor could not show a document as a tree (dialogs and steps that are not objects with
    ids), or None. Anything else wrong is shown on its step and mended there."""
    dialogs = doc.get("dialogs")
    if not isinstance(dialogs, list) or not dialogs:
        return "A bot needs a list of dialogs (\"dialogs\": [...]) with at least one dialog."
    for i, d in enumerate(dialogs):
        if not isinstance(d, dict) or not isinstance(d.get("id"), str) or not isinstance(d.get("steps", []), list):
            return f"Dialog {i + 1} needs an \"id\" text and a \"steps\" list."
        for step, _, _ in walk(d.get("steps", [])):
            if not isinstance(step, dict) or not isinstance(step.get("id"), str) or \
                    not isinstance(step.get("type"), str):
                return f"Every step needs an \"id\" and a \"type\" (see dialog “{d['id']}”)."
            if any(items is not None and not isinstance(items, list) for _, items in slots(step)):
                return f"The branches of step “{step['id']}” must be lists of steps."
    return None
