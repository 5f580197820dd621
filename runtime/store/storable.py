"""What Arbor takes in as JSON, in one place: standard JSON that every database and every client can keep.

- PostgreSQL stores no NUL character (U+0000) in text or JSONB;
- `NaN`, `Infinity` and `-Infinity` are not JSON (RFC 8259): Python's parser lets them through, but
  `JSON.parse` and PostgreSQL's JSONB refuse them, so a value holding one, once stored, would break every
  poll, webhook delivery and search that reads it back;
- a lone surrogate (`"\\ud800"`) is valid JSON syntax but no Unicode text: it cannot be encoded as UTF-8,
  so writing it out fails with a 500 (and PostgreSQL refuses it).

So every way in that takes JSON from outside (Direct Line, platform hooks, the management API, the designer's
forms and imports, agents' messages) reads it with `loads` (or checks a value with `refusal`) and answers
a 400 saying what to change, instead of failing later (SQLite would keep such values; both behave alike)."""

from __future__ import annotations

import json
from typing import Any

NUL_REFUSED = "Texts must not contain NUL characters (\\u0000); remove them."
CONSTANT_REFUSED = ("{constant} is not a JSON number: send numbers as digits (like 1.5), or null, "
                    "or the word as a string (\"{constant}\").")
SURROGATE_REFUSED = ("Texts must be valid Unicode: a lone surrogate escape (like \\ud800) is not a character; "
                     "send the whole surrogate pair or the character itself.")


class NotStorable(Exception):
    """JSON text that parses but is not standard JSON Arbor can keep; the message says what to change.

    Not a ValueError, so that callers which catch ValueError for 'not JSON' keep the two apart."""


def _refuse_constant(constant: str) -> Any:
    raise NotStorable(CONSTANT_REFUSED.format(constant=constant))


def loads(data: str | bytes | bytearray) -> Any:
    """Standard JSON text to a value. Raises ValueError (UnicodeDecodeError and json.JSONDecodeError too) for
    what is not JSON, RecursionError for nesting too deep to read, NotStorable for the rest (see above)."""
    value = json.loads(data, parse_constant=_refuse_constant, parse_float=_finite)
    # UTF-8 bytes (every request body) can hold a NUL or a lone surrogate only as a \u escape: without one, and
    # with each number checked as it was read, there is nothing left to look for. (UTF-16 and UTF-32, which
    # json.loads reads too, have NUL bytes: they are walked.)
    if isinstance(data, str) or b"\\u" in data or b"\x00" in data:
        found = refusal(value)
        if found:
            raise NotStorable(found)
    return value


def _finite(text: str) -> float:
    """A JSON number with a fraction or an exponent; one too big for a float (1e999) is Infinity: refused."""
    number = float(text)
    if number in (float("inf"), float("-inf")):
        raise NotStorable(CONSTANT_REFUSED.format(constant="Infinity" if number > 0 else "-Infinity"))
    return number


def refusal(value: Any) -> str | None:
    """Why a decoded JSON value cannot be kept (a NUL, a lone surrogate, NaN or Infinity, anywhere, keys
    included), or None when it can."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return NUL_REFUSED
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return SURROGATE_REFUSED
        elif isinstance(item, float):
            if item != item or item in (float("inf"), float("-inf")):
                return CONSTANT_REFUSED.format(constant="NaN" if item != item else
                                               ("Infinity" if item > 0 else "-Infinity"))
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return None

