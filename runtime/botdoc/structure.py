"""Structural validation: size limits first (cheap, before anything recursive), then the JSON Schema."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from functools import cache

import fastjsonschema
from jsonschema import Draft202012Validator, ValidationError

from runtime.steps import BRANCHES, STEP_TYPES

from .problems import Problem, pointer
from .schema import MAX_STEPS_IN_LIST, bot_schema

MAX_DEPTH = 200  # JSON nesting that jsonschema (recursive) may see; branch depth is checked apart
MAX_ERRORS = 50
_JSON_TYPES = {dict: "an object", list: "a list", str: "a text", bool: "true or false",
               int: "a number", float: "a number", type(None): "null"}


def check_depth(doc: object) -> list[Problem]:
    """Refuse a document nested too deep before recursive code (jsonschema) sees it."""
    todo = [(doc, 1)]
    while todo:
        value, depth = todo.pop()
        if depth > MAX_DEPTH:
            return [Problem(_deep_place(doc), f"Nested too deeply (more than {MAX_DEPTH} levels). "
                                              "Move deep branches into dialogs of their own and use goto.")]
        if isinstance(value, dict):
            todo.extend((v, depth + 1) for v in value.values() if isinstance(v, (dict, list)))
        elif isinstance(value, list):
            todo.extend((v, depth + 1) for v in value if isinstance(v, (dict, list)))
    return []


def _deep_place(doc: object) -> str:
    """The pointer of the first place nested past the limit (only looked for when there is one)."""
    todo = [(doc, ())]
    while todo:
        value, path = todo.pop()
        if len(path) >= MAX_DEPTH:
            return pointer(path)
        if isinstance(value, (dict, list)):
            items = value.items() if isinstance(value, dict) else enumerate(value)
            todo.extend((v, (*path, k)) for k, v in items)
    return ""


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(bot_schema())


@cache
def _fast_validators() -> tuple[Callable, dict[str, Callable]]:
    """The schema compiled to Python code, one function per step type, dispatched on `type`.

    jsonschema is the authority and says what is wrong, but it needs about 100 µs a step, and
    a bot of 20,000 steps must validate in well under a second while someone edits it. The same
    schema compiled by fastjsonschema answers "valid?" in a few µs a step; only a document it
    rejects goes through jsonschema for the messages. Each step is checked once, by the function
    of its type: the document's function checks a dialog's `steps` as a list only, a step's
    function checks its child lists as lists of objects with `id` and `type`, and valid_steps
    dispatches on `type` (an unknown one goes the slow way). No `if`/`then` chain runs per step.
    Defaults are not filled in: validating does not change the document.
    """
    lists = {"type": "array", "maxItems": MAX_STEPS_IN_LIST}
    child_lists = {**lists, "items": {"type": "object", "required": ["id", "type"]}}

    def compile_(schema: dict, steps: dict) -> Callable:
        schema = copy.deepcopy(schema)
        schema.pop("$schema", None)
        schema.pop("$id", None)
        schema["$defs"] = {"steps": steps}
        return fastjsonschema.compile(schema, use_default=False)

    document = compile_(bot_schema(), lists)
    return document, {name: compile_(module.SCHEMA, child_lists) for name, module in STEP_TYPES.items()}


def valid_steps(doc: dict) -> list[tuple[str, dict, int]] | None:
    """Every step as walk.steps gives it when the document fits the schema (the fast path), else None."""
    document, validators = _fast_validators()
    steps: list[tuple[str, dict, int]] = []
    append, branches = steps.append, BRANCHES
    try:
        document(doc)
        dialogs = doc["dialogs"]
        todo: list[tuple[str, dict, int]] = []
        for d in range(len(dialogs) - 1, -1, -1):
            items, where = dialogs[d]["steps"], f"/dialogs/{d}/steps/"
            todo += [(where + str(i), items[i], 0) for i in range(len(items) - 1, -1, -1)]
        pop = todo.pop
        while todo:
            found = pop()
            step = found[1]
            kind = step["type"]  # a step that is no object: TypeError
            validators[kind](step)  # an unknown type: KeyError (or TypeError, unhashable)
            append(found)
            fn = branches.get(kind)
            if fn is not None:
                depth = found[2] + 1
                for suffix, child in reversed(list(fn(step))):
                    where = f"{found[0]}{suffix}/"
                    todo += [(where + str(i), child[i], depth) for i in range(len(child) - 1, -1, -1)]
    except (fastjsonschema.JsonSchemaException, KeyError, TypeError):
        return None
    return steps


def check_schema(doc: dict) -> list[Problem]:
    """Every schema error, each with its place and what to change (jsonschema, the authority)."""
    problems = []
    for error in _validator().iter_errors(doc):
        problems.extend(_explain(error))
        if len(problems) >= MAX_ERRORS:
            problems.append(Problem("", f"Stopped after {MAX_ERRORS} errors; fix these first."))
            break
    return problems


def _explain(error: ValidationError) -> list[Problem]:
    if error.validator in ("allOf", "anyOf", "oneOf") and error.context:
        return [p for sub in error.context for p in _explain(sub)]
    where = pointer(error.absolute_path)
    return [Problem(where, _message(error))]


def _message(error: ValidationError) -> str:
    kind, value, expected = error.validator, error.instance, error.validator_value
    if kind == "required":
        missing = [name for name in expected if isinstance(value, dict) and name not in value]
        return f"'{missing[0] if missing else expected}' is missing here; add it."
    if kind == "additionalProperties":
        extra = sorted(set(value) - set(error.schema.get("properties", {})))
        return f"Unknown field {', '.join(repr(e) for e in extra)}: remove it or check its spelling."
    if kind == "enum":
        if error.absolute_path and error.absolute_path[-1] == "type":
            return f"Unknown step type {_show(value)}. Use one of: {', '.join(expected)}."
        return f"{_show(value)} is not allowed here. Use one of: {', '.join(map(str, expected))}."
    if kind == "const":
        return f"Must be {_show(expected)}, not {_show(value)}."
    if kind == "type":
        wanted = expected if isinstance(expected, str) else " or ".join(expected)
        return f"Must be {_article(wanted)}, not {_JSON_TYPES.get(type(value), 'this')}."
    if kind == "pattern":
        hint = error.schema.get("description", f"the form {expected}")
        return f"{_show(value)} is not valid here: {hint}"
    if kind in ("minLength", "minItems") and not value:
        return "Must not be empty."
    if kind in ("maxLength", "maxItems"):
        return f"Too long: at most {expected} {'characters' if kind == 'maxLength' else 'items'}."
    if kind in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        word = {"minimum": "at least", "maximum": "at most", "exclusiveMinimum": "more than",
                "exclusiveMaximum": "less than"}[kind]
        return f"Must be {word} {expected}, not {_show(value)}."
    return error.message


def _article(json_type: str) -> str:
    words = {"object": "an object", "array": "a list", "string": "a text", "integer": "a whole number",
             "number": "a number", "boolean": "true or false", "null": "null"}
    return words.get(json_type, json_type)


def _show(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."
