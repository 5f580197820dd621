"""The bot document: parse, migrate, validate (schema, then meaning) and load into an indexed Bot."""

from __future__ import annotations

import json

from runtime.store import storable

from . import checks, size, structure, walk
from .bot import Bot, index
from .migrations import CURRENT_FORMAT, migrate
from .problems import DocumentError, Problem
from .schema import bot_schema

__all__ = ["Bot", "CURRENT_FORMAT", "DocumentError", "MAX_DOCUMENT_BYTES", "MAX_STEPS", "Problem", "bot_schema",
           "check", "count_steps", "load", "migrate", "parse", "too_large", "validate"]

MAX_DOCUMENT_BYTES = 5 * 1024 * 1024
MAX_STEPS = size.MAX_STEPS
count_steps = size.count_steps


def too_large(size_in_bytes: int, max_bytes: int = MAX_DOCUMENT_BYTES) -> Problem | None:
    """The refusal of a document of this many bytes, said before a byte of it is read; None when it fits."""
    if size_in_bytes <= max_bytes:
        return None
    return Problem("", f"The file is {size_in_bytes / 2**20:.1f} MB; a bot may be at most {max_bytes / 2**20:.1f} MB "
                       f"(ARBOR_MAX_DOCUMENT_BYTES). Is it the right file?")


def parse(text: str | bytes, *, max_bytes: int = MAX_DOCUMENT_BYTES) -> dict:
    """JSON text to a document dict, or DocumentError saying what is wrong and where."""
    refused = too_large(len(text.encode() if isinstance(text, str) else text), max_bytes)
    if refused:
        raise DocumentError([refused])
    try:
        doc = storable.loads(text.decode("utf-8") if isinstance(text, bytes) else text)
    except storable.NotStorable as e:
        raise DocumentError([Problem("", f"Not standard JSON: {e}")]) from None
    except json.JSONDecodeError as e:
        raise DocumentError([Problem("", f"Not valid JSON: {e.msg} at line {e.lineno}, column {e.colno}.")]) from None
    except UnicodeDecodeError:
        raise DocumentError([Problem("", "Not valid JSON: the file is not UTF-8 text.")]) from None
    except RecursionError:
        raise DocumentError([Problem("", "Nested too deeply to read. Move deep branches into dialogs "
                                         "of their own and use goto.")]) from None
    if not isinstance(doc, dict):
        raise DocumentError([Problem("", "A bot document is a JSON object ({...}) at the top.")])
    return doc


def validate(doc: object, *, max_steps: int | None = None) -> list[Problem]:
    """Every problem of a document (errors and warnings); the document itself is not changed.

    The steps are counted first, by a cheap walk: a bot of more than `max_steps` (ARBOR_MAX_STEPS) is refused
    before the schema and the semantic checks, whose cost grows with it, run at all.
    """
    if not isinstance(doc, dict):
        return [Problem("", "A bot document is a JSON object ({...}) at the top.")]
    refused = size.check_steps(doc, size.max_steps() if max_steps is None else max_steps)
    if refused:
        return refused
    try:
        doc = migrate(doc)
    except DocumentError as e:
        return e.problems
    steps = structure.valid_steps(doc)
    if steps is None:
        problems = structure.check_depth(doc) or structure.check_schema(doc)
        if problems:
            return problems
        steps = list(walk.steps(doc))
    return checks.check(doc, steps)


def check(doc: object) -> dict:
    """The document in the current format, or DocumentError when it has any error (warnings pass)."""
    problems = validate(doc)
    if any(p.severity == "error" for p in problems):
        raise DocumentError(problems)
    return migrate(doc)


def load(doc: dict) -> Bot:
    """A valid document, indexed for the engine."""
    return index(migrate(doc))
