"""The step types: one module each, found by scanning this package.

A step type is one module: everything Arbor needs of the type lives there, so adding a type touches one
place (and its form, ``templates/designer/steps/<type>.html``). A step module defines ``TYPE``, ``TITLE``,
``DESCRIPTION`` (for the designer's menu), ``ABBREVIATION`` (its badge), ``SCHEMA`` and
``run(step, ctx) -> Outcome``. For the designer it may add ``LABELS`` (its form's field labels, which
problems name fields by), ``START`` or ``start(doc, dialog_id)`` (a new step's values), ``on_edit(step,
storages)`` (what the designer fills in after an edit), ``summary(step)`` (its line in the tree; default: its
text) and ``branch_label(step, slot)``; for validation, ``problems(step, doc, dialogs)`` yields (pointer
suffix, message[, severity]) for the rules a JSON Schema cannot say plainly, and ``leads(step)`` the dialogs it
starts. Steps that wait for input add ``resume(step, ctx, memo)``, and
may add ``reask(step, ctx, memo)`` (default: ``run``) and ``ACCEPTS``, the input kinds it takes
(default: messages only; other inputs are ignored while it waits), and ``TIMED`` when its ``timeout`` is a
timer the engine cancels as the conversation leaves the step. Validation reads ``templates(step)``,
``expressions(step)``, ``branches(step)`` and ``writes(step)`` where a type has them; translations read
``texts(step)``, the fields a visitor sees (``runtime/botdoc/translations.py``).
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

_SKIP = {"base", "schema"}


def _scan() -> dict[str, ModuleType]:
    found = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name in _SKIP or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        found[module.TYPE] = module
    return dict(sorted(found.items()))


STEP_TYPES: dict[str, ModuleType] = _scan()


def _hooks(name: str) -> dict:
    """One optional function of every step type, looked up once: validation calls them per step."""
    return {type_: getattr(module, name) for type_, module in STEP_TYPES.items() if hasattr(module, name)}


BRANCHES, TEMPLATES, EXPRESSIONS, WRITES, TEXTS, PROBLEMS, LEADS = (
    _hooks(n) for n in ("branches", "templates", "expressions", "writes", "texts", "problems", "leads"))


def branches(step: dict) -> list[tuple[str, list]]:
    """The child step lists of a step, each with its JSON Pointer suffix (``/options/0/steps``)."""
    fn = BRANCHES.get(step.get("type"))
    return list(fn(step)) if fn else []
