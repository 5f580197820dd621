"""A question's `pattern`, run on what a visitor typed: with RE2 (google-re2), whose matching takes time
linear in the answer, never Python's backtracking `re` (`(a+)+c` doubled its time with every character).
RE2 has no backreferences and no lookaround; a pattern it cannot compile is refused when the bot is
saved (runtime/botdoc/checks.py) and, in a bot saved before, never matches (the engine logs why)."""

from __future__ import annotations

from functools import lru_cache

import re2

SYNTAX = ("Patterns use RE2 syntax, which checks an answer in time proportional to its length: character "
          "classes ([0-9], \\d, \\w), groups, alternation (|), repetition (*, +, ?, {n,m}) and flags such as "
          "(?i) work; backreferences (\\1), lookahead and lookbehind ((?=…), (?!…), (?<=…), (?<!…)), atomic "
          "groups and possessive quantifiers do not.")


class PatternError(ValueError):
    """A pattern RE2 cannot compile; the message says why and which syntax is allowed."""


def _options() -> re2.Options:
    options = re2.Options()
    options.log_errors = False  # the reason goes into the problem, not to stderr
    return options


@lru_cache(maxsize=512)
def compiled(pattern: str):
    """The RE2 program of `pattern`; PatternError when RE2 cannot compile it."""
    try:
        return re2.compile(pattern, _options())
    except re2.error as e:
        reason = e.args[0].decode("utf-8", "replace") if e.args and isinstance(e.args[0], bytes) else str(e)
        raise PatternError(f"The pattern {pattern[:80]!r} is not a valid regular expression here (RE2 cannot "
                           f"compile it: {reason}). {SYNTAX}") from None


def problem(pattern: str) -> str | None:
    """Why `pattern` cannot be used, or None when it can."""
    try:
        compiled(pattern)
    except PatternError as e:
        return str(e)
    return None


def fullmatch(pattern: str, text: str) -> bool:
    """Whether the whole of `text` matches `pattern` (RE2; PatternError when it cannot compile)."""
    return compiled(pattern).fullmatch(text) is not None
