"""A condition's "If" as rows a person picks (what the bot knows, an operator in words, a value), written as
the expression the engine already evaluates, read back from it, and said in plain words for the tree.

The bot document keeps the expression (`branches[i].when`); the rows are only its face in the designer's form
(designer/conditions.py reads them from the posted form). An
expression is shown as rows only when writing those rows gives the same expression (the same Jinja tree),
so nothing is lost or changed in meaning; anything else stays "Write it as an expression". Values are
written as Jinja string literals (json escaping, which Jinja's lexer reads back exactly), never pasted in,
so a value holding quotes or `{{` cannot change the expression.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass

from jinja2 import Environment, nodes
from jinja2.parser import Parser

ALWAYS = "true"  # a branch with no rows; a new condition step starts so
_PARSER_ENV = Environment()  # parses only (the sandbox's syntax is Jinja's); never compiles or runs anything


@dataclass(frozen=True)
class Operator:
    key: str
    words: str
    takes: str  # "none" | "one" | "number" | "several"


OPERATORS = [Operator("is", "is", "one"), Operator("is-not", "is not", "one"),
             Operator("contains", "contains", "one"), Operator("not-contains", "does not contain", "one"),
             Operator("empty", "is empty", "none"), Operator("not-empty", "is not empty", "none"),
             Operator("more", "is more than", "number"), Operator("less", "is less than", "number"),
             Operator("at-least", "is at least", "number"), Operator("at-most", "is at most", "number"),
             Operator("one-of", "is one of", "several")]
# The number comparisons as Jinja writes them (`>`) and names them in its tree (`gt`), by operator key.
_COMPARISONS = {"more": (">", "gt"), "less": ("<", "lt"), "at-least": (">=", "gteq"), "at-most": ("<=", "lteq")}
_BY_COMPARISON = {name: key for key, (_, name) in _COMPARISONS.items()}
BY_KEY = {o.key: o for o in OPERATORS}
JOINS = {"all": " and ", "any": " or "}
# The conversation's own values (the engine's reserved names), in plain words.
RESERVED = [("input", "what the person wrote last"), ("user.language", "the person's language"),
            ("user.channel", "the channel they write from"), ("user.id", "the person's id"),
            ("event.name", "the page event's name"), ("event.value", "the page event's value")]
_RESERVED_WORDS = dict(RESERVED)

_PATH = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")
_KEYWORDS = {"and", "or", "not", "in", "is", "if", "else", "true", "false", "none", "True", "False", "None"}


@dataclass(frozen=True)
class Row:
    subject: str  # a storage or a dotted path: interest, user.language
    op: str  # an Operator key
    values: tuple[str, ...] = ()  # one for "one"/"number", several for "several", none for "none"


@dataclass(frozen=True)
class Condition:
    rows: tuple[Row, ...] = ()
    join: str = "all"


# --- writing ----------------------------------------------------------------------------------------------

def literal(text: str) -> str:
    """A Jinja string literal holding exactly `text` (quotes, backslashes, braces, newlines included)."""
    return json.dumps(text, ensure_ascii=False)


def number(text: str) -> int | float:
    """The number a person typed ("18", "1.5", "1,5"); ValueError when it is none."""
    cleaned = text.strip().replace(",", ".")
    if not re.fullmatch(r"-?\d+(\.\d+)?", cleaned):
        raise ValueError(text)
    return float(cleaned) if "." in cleaned else int(cleaned)


def _row(row: Row) -> str:
    s, op = row.subject, row.op
    one = literal(row.values[0]) if row.values else '""'
    return {
        "is": lambda: f"{s} == {one}",
        "is-not": lambda: f"{s} != {one}",
        "contains": lambda: f"{one} in {s}",
        "not-contains": lambda: f"{one} not in {s}",
        "empty": lambda: f"not {s}",
        "not-empty": lambda: s,
        "one-of": lambda: f"{s} in [{', '.join(literal(v) for v in row.values)}]",
        # nothing kept yet counts as 0, not an error
        **{key: lambda sign=sign: f"{s}|default(0)|float {sign} {number(row.values[0])!r}"
           for key, (sign, _) in _COMPARISONS.items()},
    }[op]()


def write(condition: Condition) -> str:
    """The expression of the rows; no rows: always true."""
    if not condition.rows:
        return ALWAYS
    return JOINS[condition.join].join(_row(row) for row in condition.rows)


# --- reading ----------------------------------------------------------------------------------------------

def _parse(expression: str) -> nodes.Expr | None:
    try:
        parser = Parser(_PARSER_ENV, expression, state="variable")
        tree_ = parser.parse_expression()
        return tree_ if parser.stream.eos else None
    except Exception:  # any syntax error: not something the builder wrote
        return None


def _path(node: nodes.Node) -> str | None:
    if isinstance(node, nodes.Name) and node.ctx == "load":
        return node.name
    if isinstance(node, nodes.Getattr):
        inner = _path(node.node)
        return f"{inner}.{node.attr}" if inner else None
    return None


def _text(node: nodes.Node) -> str | None:
    return node.value if isinstance(node, nodes.Const) and isinstance(node.value, str) else None


def _number(node: nodes.Node) -> str | None:
    if isinstance(node, nodes.Neg):
        inner = _number(node.node)
        return f"-{inner}" if inner and not inner.startswith("-") else None
    return repr(node.value) if isinstance(node, nodes.Const) and type(node.value) in (int, float) else None


def _listed(value: str | None) -> bool:
    """A value "is one of" can show in a comma-separated field."""
    return bool(value) and "," not in value and value == value.strip()


def _read_row(node: nodes.Node) -> Row | None:
    if (path := _path(node)) is not None:
        return Row(path, "not-empty")
    if isinstance(node, nodes.Not) and (path := _path(node.node)) is not None:
        return Row(path, "empty")
    if not isinstance(node, nodes.Compare) or len(node.ops) != 1:
        return None
    left, op, right = node.expr, node.ops[0].op, node.ops[0].expr
    if op in ("eq", "ne") and (path := _path(left)) and (value := _text(right)) is not None:
        return Row(path, "is" if op == "eq" else "is-not", (value,))
    if op in ("in", "notin") and (value := _text(left)) is not None and (path := _path(right)):
        return Row(path, "contains" if op == "in" else "not-contains", (value,))
    if op == "in" and (path := _path(left)) and isinstance(right, nodes.List) and right.items:
        values = [_text(item) for item in right.items]
        return Row(path, "one-of", tuple(values)) if all(_listed(v) for v in values) else None
    if op in _BY_COMPARISON and isinstance(left, nodes.Filter) and left.name == "float" \
            and isinstance(left.node, nodes.Filter) and left.node.name == "default" \
            and (path := _path(left.node.node)) and (value := _number(right)) is not None:
        return Row(path, _BY_COMPARISON[op], (value,))
    return None


def _flatten(node: nodes.Node, kind: type) -> list[nodes.Node]:
    if isinstance(node, kind):
        return _flatten(node.left, kind) + _flatten(node.right, kind)
    return [node]


def read(expression: object) -> Condition | None:
    """The rows of an expression the builder could have written, else None ("Write it as an expression")."""
    return _read(expression) if isinstance(expression, str) else None


@functools.lru_cache(maxsize=16384)
def _read(expression: str) -> Condition | None:
    """Cached: the tree says every branch in words each time it is drawn (a Condition is immutable)."""
    if expression.strip() in (ALWAYS, ""):  # a new branch: nothing to check yet
        return Condition()
    parsed = _parse(expression)
    if parsed is None:
        return None
    for join, kind in (("all", nodes.And), ("any", nodes.Or)):
        parts = _flatten(parsed, kind)
        rows = [_read_row(part) for part in parts]
        if None in rows:
            continue
        condition = Condition(tuple(rows), join)
        try:
            written = write(condition)  # the same text (what the builder wrote), or the same Jinja tree: nothing
            same = written == expression.strip() or _parse(written) == parsed  # lost, nothing changed
        except (ValueError, KeyError):
            same = False
        if same and all(valid_path(row.subject) for row in rows):
            return condition
    return None


def valid_path(path: str) -> bool:
    """A storage or a dotted path into one: no Jinja words, no private attributes (the sandbox refuses them)."""
    parts = path.split(".")
    return bool(_PATH.fullmatch(path)) and not set(parts) & _KEYWORDS and not any(p.startswith("__") for p in parts)


# --- plain words ------------------------------------------------------------------------------------------

def describe(expression: object, titles: dict[str, dict[str, str]] | None = None) -> str:
    """The "If" in plain words ("interest is Website"); the expression itself when the rows cannot show it.
    `titles` gives a choice's option titles by storage and value, when they differ from the values kept."""
    condition = read(expression)
    if condition is None:
        return " ".join(str(expression or "").split())
    if not condition.rows:
        return "always"
    words = []
    for row in condition.rows:
        op, options = BY_KEY[row.op], (titles or {}).get(row.subject, {})
        shown = ", ".join(options.get(v, v) for v in row.values)
        words.append(f"{_RESERVED_WORDS.get(row.subject, row.subject)} {op.words}"
                     f"{' ' + shown if op.takes != 'none' else ''}")
    return JOINS[condition.join].join(words)
