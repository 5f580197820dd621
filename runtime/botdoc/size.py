"""How big a bot may be in steps, counted by a cheap walk before any deep validation.

The schema (jsonschema when a document has errors) and the semantic checks cost time in proportion to the
steps; a document of 40,000 steps held a web thread for 18 s before its refusal. The count walks the parsed
JSON once, without recursion and without trusting its shape (it has not been validated yet): every item of a
dialog's `steps` and of a step's child lists (options, branches, else, onEvent, onTimeout) counts as a step.
"""

from __future__ import annotations

from runtime.steps import BRANCHES

from .problems import Problem, pointer

MAX_STEPS = 20_000


def max_steps() -> int:
    """ARBOR_MAX_STEPS of the running app, else the default."""
    from flask import current_app, has_app_context

    if has_app_context():
        try:
            return int(current_app.config.get("ARBOR_MAX_STEPS") or MAX_STEPS)
        except (TypeError, ValueError):
            return MAX_STEPS
    return MAX_STEPS


def count_steps(doc: dict) -> tuple[int, list[tuple[str, int]]]:
    """(all steps, [(dialog pointer, its steps)]) of a parsed document whose shape is not yet checked."""
    dialogs = doc.get("dialogs")
    if isinstance(dialogs, dict):  # format 0: dialogs by id
        found = [(pointer(("dialogs", key)), value) for key, value in dialogs.items()]
    elif isinstance(dialogs, list):
        found = [(f"/dialogs/{i}", value) for i, value in enumerate(dialogs)]
    else:
        return 0, []
    total, per_dialog = 0, []
    for where, dialog in found:
        steps = dialog.get("steps") if isinstance(dialog, dict) else None
        count = _count(steps) if isinstance(steps, list) else 0
        per_dialog.append((where, count))
        total += count
    return total, per_dialog


def _count(steps: list) -> int:
    count, todo = 0, [steps]
    while todo:
        items = todo.pop()
        count += len(items)
        for step in items:
            kind = step.get("type") if isinstance(step, dict) else None
            fn = BRANCHES.get(kind) if isinstance(kind, str) else None
            if fn is None:
                continue
            try:
                children = [child for _, child in fn(step)]
            except (AttributeError, TypeError, KeyError):  # a malformed step: the schema will say what is wrong
                continue
            todo.extend(child for child in children if isinstance(child, list))
    return count


def check_steps(doc: dict, limit: int) -> list[Problem]:
    """The refusal of a bot of more than `limit` steps, at its largest dialog; [] when it fits."""
    total, per_dialog = count_steps(doc)
    if total <= limit:
        return []
    where, largest = max(per_dialog, key=lambda found: found[1])
    return [Problem(where, f"This bot has {total:,} steps; Arbor accepts at most {limit:,} (ARBOR_MAX_STEPS). "
                           f"The largest dialog has {largest:,}. Split the bot into several, or move repeated "
                           "steps into a dialog of their own and reach it with goto (call).")]
