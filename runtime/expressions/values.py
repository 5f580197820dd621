"""Filling a JSON structure whose strings are templates (a step's params, a template's request body).

A string that is one `{{ expression }}` and nothing else keeps the expression's type (a list stays a list,
a number a number); any other string is rendered as text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

_WHOLE = re.compile(r"\s*\{\{(?P<expression>(?:(?!\}\}|\{\{).)*)\}\}\s*", re.S)


def fill(value: Any, render: Callable[[str], str], evaluate: Callable[[str], Any]) -> Any:
    """`value` with every string rendered (or, when it is one expression, evaluated)."""
    if isinstance(value, str):
        if "{" not in value:
            return value
        whole = _WHOLE.fullmatch(value)
        return evaluate(whole["expression"].strip()) if whole else render(value)
    if isinstance(value, dict):
        return {key: fill(item, render, evaluate) for key, item in value.items()}
    if isinstance(value, list):
        return [fill(item, render, evaluate) for item in value]
    return value


def strings(value: Any) -> list[str]:
    """Every string inside a JSON structure (to check what templates in it read)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in strings(item)]
    return []
