"""Semantic checks of a document that already fits the schema: references, ids, expressions, storages."""

from __future__ import annotations

from collections.abc import Iterator

from rapidfuzz import utils

from runtime import expressions
from runtime.steps import EXPRESSIONS, TEMPLATES, WRITES, _patterns
from runtime.steps._faq_match import semantic_available

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
        if kind in _RULES or "onError" in step:
            problems += _step_rules(where, step, doc, dialogs)
        if kind in _LEADS:
            reached.update(step[k] for k in ("dialog", "afterDialog") if isinstance(step.get(k), str))
        if "onError" in step:
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
            problems.append(Problem(where, f"Reads the storage '{name}', which no step sets: it is empty "
                                           "unless the web page or an outside system provides it.", "warning"))
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
            problems.append(Problem(f"/{key}", _unknown_dialog(doc[key], dialogs)))
    for i, trigger in enumerate(doc.get("triggers", [])):
        if trigger["dialog"] not in dialogs:
            problems.append(Problem(f"/triggers/{i}/dialog", _unknown_dialog(trigger["dialog"], dialogs)))
    return problems


_RULES = frozenset({"goto", "handover", "integration", "question", "carousel", "wait", "choice", "faq"})
_LEADS = frozenset({"goto", "handover"})  # types whose `dialog`/`afterDialog` start a dialog (see _step_rules)


def _step_rules(where: str, step: dict, doc: dict, dialogs: dict) -> list[Problem]:
    """The rules of single step types that a JSON Schema cannot say plainly."""
    kind, problems = step["type"], []
    for key in ("dialog", "afterDialog"):
        if isinstance(step.get(key), str) and step[key] not in dialogs and kind in ("goto", "handover"):
            problems.append(Problem(f"{where}/{key}", _unknown_dialog(step[key], dialogs)))
    on_error = step.get("onError") or {}
    if on_error.get("action") == "dialog" and on_error.get("dialog") not in dialogs:
        problems.append(Problem(f"{where}/onError/dialog", _unknown_dialog(on_error.get("dialog"), dialogs)))
    if kind == "integration" and step["use"] not in doc.get("integrations", {}):
        problems.append(Problem(f"{where}/use", f"No integration named '{step['use']}' is configured "
                                                "for this bot; add it under 'integrations'."))
    if kind == "question" and step.get("validate") == "regex":
        why = _patterns.problem(step["pattern"]) if step.get("pattern") else None
        if why:
            problems.append(Problem(f"{where}/pattern", why))
        if not step.get("pattern"):
            problems.append(Problem(where, "'pattern' is missing: a regex question needs the pattern to match."))
    if kind == "carousel" and bool(step.get("cards")) == bool(step.get("items")):
        problems.append(Problem(where, "Give either 'cards' (written here) or 'items' (a list storage), "
                                       "not both and not neither."))
    if kind == "carousel" and step.get("items") and not step.get("card"):
        problems.append(Problem(where, "'card' is missing: say how each item of the list becomes a card."))
    if kind == "wait" and not step.get("events") and not step.get("timeout"):
        problems.append(Problem(where, "A wait step needs 'events' to wait for, a 'timeout', or both."))
    if kind == "choice":
        problems += _duplicate_options(where, step)
    if kind == "faq":
        problems += _faq_rules(where, step)
    return problems


def _duplicate_options(where: str, step: dict) -> list[Problem]:
    problems, seen = [], set()
    for i, option in enumerate(step["options"]):
        for key in ("title", "value"):
            label = option.get(key)
            if label is None or (key == "value" and label.casefold() == option["title"].casefold()):
                continue
            if label.casefold() in seen:
                problems.append(Problem(f"{where}/options/{i}/{key}", f"Two options share '{label}'; "
                                                                      "the bot could not tell them apart."))
            seen.add(label.casefold())
    for i, option in enumerate(step["options"]):
        for j, phrasing in enumerate(option.get("phrasings", [])):
            if phrasing.casefold() in seen:
                problems.append(Problem(f"{where}/options/{i}/phrasings/{j}", f"'{phrasing}' is already said by "
                                        "an option (its title, value or another phrasing); remove it here."))
            seen.add(phrasing.casefold())
    return problems


def _faq_rules(where: str, step: dict) -> list[Problem]:
    """A question asked twice (after normalizing case and punctuation) makes the answer a coin toss."""
    problems, seen, ids = [], {}, {}
    for i, question in enumerate(step["questions"]):
        if question.get("id"):
            if question["id"] in ids:
                problems.append(Problem(f"{where}/questions/{i}/id", f"The question id '{question['id']}' is used "
                                                                     f"twice (also at {ids[question['id']]})."))
            ids.setdefault(question["id"], f"{where}/questions/{i}/id")
        texts = [("question", question["question"])]
        texts += [(f"phrasings/{j}", text) for j, text in enumerate(question.get("phrasings", []))]
        for suffix, text in texts:
            key = utils.default_process(text)
            place = f"{where}/questions/{i}/{suffix}"
            if not key:
                problems.append(Problem(place, "This has no letters or digits to match; write it out or remove it.",
                                        "warning"))
                continue
            if key in seen:
                problems.append(Problem(place, f"'{text}' is asked twice (also at {seen[key]}); the bot could not "
                                               "tell which answer to give. Remove one or merge the questions."))
            seen.setdefault(key, place)
    if step.get("matcher") == "semantic" and not semantic_available():
        problems.append(Problem(f"{where}/matcher", "Semantic matching needs the 'semantic' extra installed "
                                                    "(pip install 'arbor[semantic]'); until then the FAQ is "
                                                    "matched by words.", "warning"))
    return problems


def _unknown_dialog(name: object, dialogs: dict) -> str:
    known = ", ".join(list(dialogs)[:10])
    return f"There is no dialog '{name}'. Dialogs in this bot: {known}{'…' if len(dialogs) > 10 else ''}."
