"""question: ask for a value, check it, keep it in a storage; ask again when it does not fit."""

from __future__ import annotations

import re
from datetime import date

from babel import UnknownLocaleError
from babel.dates import ParseError, parse_date
from babel.numbers import NumberFormatError, parse_decimal

from . import _patterns, schema
from ._words import blank, empty, short
from .base import Context, Next, NotUnderstood, Outcome, Wait

TYPE = "question"
TITLE = "Question"
DESCRIPTION = "Ask for a value (an e-mail, a number, a date) and keep the answer in a storage."
ABBREVIATION = "Ask"  # the badge on its node in the tree
# A new step's values: ready to edit.
START = {"text": "", "storage": "answer"}
# The form's labels (templates/designer/steps/question.html shows them; problems name fields by them).
LABELS = {
    "text": "What the bot asks",
    "storage": "Keep the answer in",
    "validate": "Expected answer",
    "pattern": "Pattern (regular expression)",
    "retry": "When the answer does not fit, say",
    "maxRetries": "Ask again at most",
}
SCHEMA = schema.step(TYPE, {
    "text": schema.TEMPLATE,
    "storage": schema.NAME,
    "validate": {"enum": ["text", "email", "phone", "number", "date", "regex"], "default": "text"},
    "pattern": {"type": "string", "minLength": 1, "maxLength": 500,
                "description": "For validate = regex: the whole answer must match this (RE2 syntax: no "
                               "backreferences, no lookaround)."},
    "retry": schema.TEMPLATE,
    "maxRetries": {"type": "integer", "minimum": 0, "maximum": 10, "default": 2},
}, required=("text", "storage"))

MAX_ANSWER = 2_000
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]{2,}")
_PHONE = re.compile(r"\+?\d{6,15}")
_DAY_FIRST = re.compile(r"(\d{1,2})[./] ?(\d{1,2})[./] ?(\d{4})")
RETRY = {
    "text": "Please type an answer.",
    "email": "That does not look like an e-mail address. Please try again.",
    "phone": "That does not look like a phone number. Please try again.",
    "number": "Please answer with a number.",
    "date": "Please answer with a date, for example 2025-01-31 or 31.1.2025.",
    "regex": "That answer does not have the expected form. Please try again.",
}


def run(step: dict, ctx: Context) -> Outcome:
    ctx.emit({"type": "message", "text": ctx.render(step["text"]), "inputHint": "expectingInput"})
    return Wait({"retries": 0})


def resume(step: dict, ctx: Context, memo: dict) -> Outcome:
    said = ctx.input.text if ctx.input.text is not None else ctx.input.value
    try:
        value = parse(step, "" if said is None else str(said), language=ctx.language)
    except _patterns.PatternError as e:  # a bot saved before patterns were checked: nothing matches
        ctx.log({"kind": "error", "message": str(e)})
        value = None
    if value is not None:
        ctx.data[step["storage"]] = value
        return Next()
    retries = memo.get("retries", 0) + 1
    kind = step.get("validate", "text")
    # An answer that did not fit is an input the bot did not understand: the NLP log keeps it.
    ctx.log({"kind": "nlp-miss", "query": "" if said is None else str(said), "model": "validation",
             "intent": kind, "result": {"retries": retries, "reasked": retries <= step.get("maxRetries", 2)}})
    if retries > step.get("maxRetries", 2):
        return NotUnderstood()
    retry = ctx.render(step["retry"]) if step.get("retry") else ctx.phrase(RETRY[kind])
    ctx.emit({"type": "message", "text": retry, "inputHint": "expectingInput"})
    return Wait({"retries": retries})


def parse(step: dict, said: str, *, language: str = "en") -> str | int | float | None:
    """The answer as it is stored, or None when it does not fit the step's validation (PatternError when a
    regex question's pattern cannot be compiled by RE2). Numbers and dates are also read as people write them
    in the visitor's `language` ("1.234,5" in German, "1/31/2025" in English), after the forms every language
    accepts."""
    said = said.strip()
    if not said or len(said) > MAX_ANSWER:
        return None
    kind = step.get("validate", "text")
    if kind == "email":
        return said if _EMAIL.fullmatch(said) else None
    if kind == "phone":
        digits = re.sub(r"[\s().-]", "", said)
        return digits if _PHONE.fullmatch(digits) else None
    if kind == "number":  # the language's own separators first: "1.000" is a thousand in German
        found = _local_number(said, language)
        return found if found is not None else _number(said)
    if kind == "date":
        return _date(said) or _local_date(said, language)
    if kind == "regex":
        return said if _patterns.fullmatch(step["pattern"], said) else None  # RE2: linear in the answer
    return said


def _number(said: str) -> int | float | None:
    text = said.replace(" ", "").replace("\u00a0", "")
    if text.count(",") == 1 and "." not in text:
        text = text.replace(",", ".")
    try:
        number = float(text)
    except ValueError:
        return None
    if number != number or number in (float("inf"), float("-inf")):
        return None
    return int(number) if number.is_integer() and "." not in text and "e" not in text.lower() else number


def _local_number(said: str, language: str) -> int | float | None:
    """A number with the language's own separators, strictly (Babel): "1,234.5" in English, "1.234,5" in German;
    None for anything else (a plain "2,5" is then read by `_number`, as before)."""
    if not re.fullmatch(r"-?[\d\s.,\u00a0\u202f']{1,40}", said):  # no exponents: "1e400" is not a number typed
        return None
    try:
        number = parse_decimal(said, locale=language.replace("-", "_"), strict=True)
    except (NumberFormatError, UnknownLocaleError, ValueError):
        return None
    if not number.is_finite():
        return None
    return int(number) if number == number.to_integral_value() and "." not in str(number) else float(number)


def _local_date(said: str, language: str) -> str | None:
    """A date in the language's own short form (Babel): "1/31/2025" in English, "31. 1. 2025" in Czech."""
    if not re.fullmatch(r"[\d\s./-]{6,20}", said):  # digits and separators only: Babel guesses at anything else
        return None
    try:
        return parse_date(said, locale=language.replace("-", "_")).isoformat()
    except (ParseError, UnknownLocaleError, ValueError, IndexError):
        return None


def _date(said: str) -> str | None:
    """ISO dates, and day-first dates as most of the world writes them (31.1.2025, 31/1/2025)."""
    try:
        return date.fromisoformat(said).isoformat()
    except ValueError:
        pass
    found = _DAY_FIRST.fullmatch(said)
    if found:
        day, month, year = (int(g) for g in found.groups())
        try:
            return date(year, month, day).isoformat()
        except ValueError:
            return None
    return None


def templates(step: dict):
    yield "/text", step.get("text")
    if step.get("retry"):
        yield "/retry", step["retry"]


texts = templates  # the question and its re-ask


def writes(step: dict):
    yield step.get("storage")


def summary(step: dict) -> str:
    return short(f"{step.get('text') or '(no question yet)'} → {step.get('storage', '?')}")


def problems(step: dict, doc: dict, dialogs: dict):
    if blank(step.get("text")):
        yield "/text", empty(LABELS["text"], "write the question the bot asks.")
    if step.get("validate") == "regex":
        why = _patterns.problem(step["pattern"]) if step.get("pattern") else None
        if why:
            yield "/pattern", why
        if not step.get("pattern"):
            yield "/pattern", empty(LABELS["pattern"], "an answer of a given pattern needs the pattern to match.")
