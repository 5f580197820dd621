"""A form made from a JSON Schema, and the value read back from the posted form.

Used for integration steps (the template's input schema) and for the parts of step forms that are
lists of objects (a message's buttons, a carousel's cards, FAQ questions). Knows string, number,
integer, boolean, enum, object and array, with `title`, `description`, `default` and `writeOnly`. An object
with free keys and plain values (HTTP headers, query parameters) is edited as `Name: value` lines, one with any
values as JSON.
Field names are dotted paths (`params.address.city`, `buttons.0.title`); a list carries its length in
`<name>._count`. A `writeOnly` value is never sent back to the page: an empty field keeps it.
Properties the form does not show (a branch's steps, unknown keys) are kept as they were.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from werkzeug.datastructures import MultiDict

from runtime.store import storable

MAX_ITEMS = 100


@dataclass
class Field:
    name: str
    kind: str  # text | number | integer | checkbox | select | object | pairs | array | lines | json | secret
    label: str
    help: str = ""
    value: Any = None
    required: bool = False
    options: list = field(default_factory=list)
    children: list[Field] = field(default_factory=list)  # an object's fields
    items: list[list[Field] | Field] = field(default_factory=list)  # an array's items


class FormError(ValueError):
    def __init__(self, name: str, message: str):
        super().__init__(message)
        self.name = name


def _label(key: str, schema: dict) -> str:
    if schema.get("title"):
        return str(schema["title"])
    words = "".join(f" {c.lower()}" if c.isupper() else c for c in key.replace("_", " ").replace("-", " "))
    return words.strip().capitalize() or "Value"


def kind_of(schema: dict) -> str:
    if "enum" in schema:
        return "select"
    if schema.get("writeOnly"):
        return "secret"
    t = schema.get("type")
    if t == "object" and not schema.get("properties"):
        free = schema.get("additionalProperties", True)
        if isinstance(free, dict) and set(_types(free)) <= _SCALARS:
            return "pairs"  # HTTP headers, query parameters: names and plain values
        if free is not False:
            return "json"  # any keys, any values (a record, GraphQL variables)
    if t == "array":
        return "lines" if (schema.get("items") or {}).get("type") == "string" and "enum" not in schema["items"] \
            else "array"
    return {"string": "text", "number": "number", "integer": "integer", "boolean": "checkbox",
            "object": "object"}.get(t, "json")


_SCALARS = {"string", "number", "integer", "boolean"}


def _types(schema: dict) -> list:
    t = schema.get("type", "any")
    return t if isinstance(t, list) else [t]


def fields(schema: dict, value: Any, name: str, key: str = "", required: bool = False) -> Field:
    """The field tree for `value` under `schema`, named `name`."""
    kind = kind_of(schema)
    f = Field(name, kind, _label(key, schema), schema.get("description", ""), required=required)
    if value is None and "default" in schema:
        value = schema["default"]
    if kind == "object":
        value = value if isinstance(value, dict) else {}
        # The required fields of an optional group that is not there yet may be left blank (no group then).
        needed = set(schema.get("required", [])) if required or value else set()
        for k, sub in (schema.get("properties") or {}).items():
            if "$ref" in sub:
                continue
            f.children.append(fields(sub, value.get(k), f"{name}.{k}" if name else k, k, k in needed))
    elif kind == "array":
        items = value if isinstance(value, list) else []
        f.items = [fields(schema.get("items") or {}, item, f"{name}.{i}", f"{i + 1}") for i, item in enumerate(items)]
        f.value = len(items)
    elif kind == "lines":
        f.value = "\n".join(str(v) for v in value) if isinstance(value, list) else ""
    elif kind == "pairs":
        f.value = "\n".join(f"{k}: {v}" for k, v in value.items()) if isinstance(value, dict) else ""
    elif kind == "select":
        f.options = list(schema["enum"])
        f.value = value
    elif kind == "json":
        f.value = "" if value is None else json.dumps(value, indent=2, ensure_ascii=False)
    elif kind == "secret":
        f.value = bool(value)  # only whether it is set
    else:
        f.value = value
    return f


def parse(schema: dict, form: MultiDict, name: str, old: Any, action: tuple[str, str] | None = None,
          required: bool = False) -> Any:
    """The value the form holds for `name`, merged over `old`; `action` is ("add"|"remove", list name)."""
    kind = kind_of(schema)
    if kind == "object" and not required and _left_empty(form, name):
        return None  # an optional group left blank (an error handler not wanted) is left out
    if kind == "object":
        result = dict(old) if isinstance(old, dict) else {}
        needed = set(schema.get("required", []))
        for k, sub in (schema.get("properties") or {}).items():
            child = f"{name}.{k}" if name else k
            if "$ref" in sub or not _present(form, child, kind_of(sub)):
                continue
            value = parse(sub, form, child, result.get(k), action, k in needed)
            if value is None:
                result.pop(k, None)
            else:
                result[k] = value
        return result
    if kind == "array":
        old_items = old if isinstance(old, list) else []
        count = min(_int(form.get(f"{name}._count"), len(old_items)), MAX_ITEMS)
        items = [parse(schema.get("items") or {}, form, f"{name}.{i}", old_items[i] if i < len(old_items) else None,
                       action, True) for i in range(count)]
        if action == ("add", name) and len(items) < MAX_ITEMS:
            items.append(_blank(schema.get("items") or {}))
        elif action and action[0] == "remove" and action[1].rsplit(".", 1)[0] == name:
            index = _int(action[1].rsplit(".", 1)[1], -1)
            if 0 <= index < len(items):
                items.pop(index)
        return items if items or required else None
    raw = form.get(name, "")
    if kind == "checkbox":
        return raw in ("on", "true", "1")
    if kind == "secret":
        return raw if raw else old
    if kind == "lines":
        lines = [line.strip() for line in raw.splitlines() if line.strip()]
        return lines if lines or required else None
    if kind == "pairs":
        pairs = _pairs(name, raw)
        return pairs if pairs or required else None
    if raw == "" and not required:
        return None
    if kind in ("number", "integer"):
        try:
            number = float(raw.replace(",", ".")) if kind == "number" else int(raw)
        except ValueError:
            raise FormError(name, f"Enter a {'whole ' if kind == 'integer' else ''}number here.") from None
        if not math.isfinite(number):
            raise FormError(name, "Enter a number written in digits (like 1.5): NaN and Infinity are not numbers "
                                  "JSON can keep.")
        return int(number) if kind == "number" and number.is_integer() else number
    if kind == "json":
        try:
            return storable.loads(raw)
        except json.JSONDecodeError as e:
            raise FormError(name, f"This is not valid JSON: {e.msg} (line {e.lineno}).") from None
        except RecursionError:
            raise FormError(name, "This JSON is nested too deeply to read.") from None
        except storable.NotStorable as e:
            raise FormError(name, f"This is not standard JSON: {e}") from None
    if kind == "select":
        options = schema["enum"]
        matching = [o for o in options if str(o) == raw]
        if not matching:
            raise FormError(name, f"Pick one of: {', '.join(map(str, options))}.")
        return matching[0]
    return raw


def _pairs(name: str, raw: str) -> dict:
    """`Name: value` lines as an object; the value may hold colons (`Authorization: Bearer {{ token }}`)."""
    pairs = {}
    for number, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        key, colon, value = line.partition(":")
        if not colon or not key.strip():
            raise FormError(name, f"Line {number}: write one per line as Name: value (\"{line.strip()[:40]}\" has no "
                                  "name before a colon).")
        pairs[key.strip()] = value.strip()
    return pairs


def _present(form: MultiDict, name: str, kind: str) -> bool:
    if kind in ("object", "array"):
        prefix = f"{name}."
        return any(k.startswith(prefix) for k in form)
    return name in form or f"{name}._present" in form


def _left_empty(form: MultiDict, name: str) -> bool:
    prefix = f"{name}."
    values = [v for k, v in form.items(multi=True) if k.startswith(prefix) and not k.endswith(("._count", "._present"))]
    return all(v == "" for v in values)


def _blank(schema: dict) -> Any:
    kind = kind_of(schema)
    if kind == "object":
        return {k: _blank(schema["properties"][k]) for k in schema.get("required", []) if k in
                (schema.get("properties") or {})}
    return {"array": [], "lines": [], "pairs": {}, "checkbox": False, "number": 0, "integer": 0}.get(kind, "")


def _int(text: Any, fallback: int) -> int:
    try:
        return int(text)
    except (TypeError, ValueError):
        return fallback
