"""Semantic checks of a document that already fits the schema: references, ids, expressions, storages."""

from __future__ import annotations

from collections.abc import Iterator

from runtime import expressions
from runtime.steps import EXPRESSIONS, LEADS, PROBLEMS, TEMPLATES, WRITES
from runtime.steps._words import unknown_dialog

from . import translations
from .problems import Problem

RESERVED = frozenset({"user", "event", "input", "now", "item", "loop"})
MAX_BRANCH_DEPTH = 30
# The number of steps is checked before the schema, by botdoc.size (ARBOR_MAX_STEPS).


def check(doc: dict, steps: list[tuple[str, dict, int]]) -> list[Problem]:
    """Problems of meaning in a document that fits the schema; `steps` as `walk.steps` gives them."""
    deep = next((where for where, _, depth in steps if depth > MAX_BRANCH_DEPTH), None)
    if deep:
        return [Problem(deep, f"Branches are nested more than {MAX_BRANCH_DEPTH} deep here. Move the inner "
                              "steps into a dialog of their own and use goto.")]
    dialogs = {d["id"]: i for i, d in enumerate(doc["dialogs"])}
    problems = list(_duplicate_dialogs(doc))
    problems += _references(doc, dialogs)
    seen: dict[str, str] = {}
    written: set[str] = {t["storage"] for t in doc.get("triggers", []) if t.get("storage")}
    read: dict[str, str] = {}
    reached = {doc["start"], doc.get("fallback")} | {t["dialog"] for t in doc.get("triggers", [])}
    templates, expressions_, writes = TEMPLATES, EXPRESSIONS, WRITES
    template_reads, expression_reads = expressions.template_reads, expressions.expression_reads
    for where, step, _ in steps:
        kind, step_id = step["type"], step["id"]
        if step_id in seen:
            problems.append(Problem(f"{where}/id", f"The step id '{step_id}' is used twice (also at "
                                                   f"{seen[step_id]}). Give each step its own id."))
        else:
            seen[step_id] = where
        if kind in PROBLEMS:
            problems += [Problem(where + found[0], *found[1:]) for found in PROBLEMS[kind](step, doc, dialogs)]
        if kind in LEADS:
            reached.update(LEADS[kind](step))
        if "onError" in step:
            problems += _on_error(where, step, dialogs)
            reached.add((step["onError"] or {}).get("dialog"))
        if kind in writes:
            for name in writes[kind](step):
                written.add(name)
                if name in RESERVED:
                    problems.append(Problem(where, f"'{name}' is a reserved name; pick another storage name."))
        for fields, reads in ((templates.get(kind), template_reads), (expressions_.get(kind), expression_reads)):
            if fields is None:
                continue
            for suffix, source in fields(step):
                if type(source) is not str or (reads is template_reads and "{" not in source):
                    continue  # text without { reads nothing and cannot be wrong
                names, error = reads(source)
                if error is not None:
                    problems.append(Problem(where + suffix, error))
                for name in names:
                    if name not in read:
                        read[name] = where + suffix
    for name, where in read.items():
        if name not in written and name not in RESERVED:
            problems.append(Problem(where, f"Reads '{name}', which no step keeps: it is empty unless the web "
                                           "page or an outside system provides it. Pick something the bot knows from "
                                           f"the list, or let a question or choice keep its answer in '{name}'.",
                                           "warning"))
    problems += [Problem(f"/dialogs/{i}", f"Nothing leads to the dialog '{d['id']}' (no goto, trigger or start); "
                                          "it can only be started from outside (trigger API).", "warning")
                 for i, d in enumerate(doc["dialogs"]) if d["id"] not in reached]
    return problems + translations.check(doc, steps)


def _duplicate_dialogs(doc: dict) -> Iterator[Problem]:
    seen = set()
    for i, dialog in enumerate(doc["dialogs"]):
        if dialog["id"] in seen:
            yield Problem(f"/dialogs/{i}/id", f"The dialog id '{dialog['id']}' is used twice.")
        seen.add(dialog["id"])


def _references(doc: dict, dialogs: dict) -> list[Problem]:
    problems = []
    for key in ("start", "fallback"):
        if key in doc and doc[key] not in dialogs:
            problems.append(Problem(f"/{key}", unknown_dialog(doc[key], dialogs)))
    for i, trigger in enumerate(doc.get("triggers", [])):
        if trigger["dialog"] not in dialogs:
            problems.append(Problem(f"/triggers/{i}/dialog", unknown_dialog(trigger["dialog"], dialogs)))
    return problems


def _on_error(where: str, step: dict, dialogs: dict) -> list[Problem]:
    on_error = step.get("onError") or {}
    if on_error.get("action") == "dialog" and on_error.get("dialog") not in dialogs:
        return [Problem(f"{where}/onError/dialog", unknown_dialog(on_error.get("dialog"), dialogs))]
    return []
