"""What validation needs from the expression language: syntax checks and the names a text reads.

Validating a big bot must not compile thousands of texts (about 2 ms apiece): plain placeholders are
read with a regular expression, other texts are parsed and compiled only when the parsed tree could
fail to compile (see `_scan`), so the messages stay those of the sandbox.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import Any

from jinja2 import TemplateSyntaxError, meta, nodes
from jinja2.idtracking import VAR_LOAD_RESOLVE, Symbols
from jinja2.parser import Parser

from .sandbox import _ENV, ExpressionError, _expression, _message, _template

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_]\w*)(?:\.[A-Za-z_]\w*|\[\d+\])*\s*\}\}")


def _simple_names(source: str) -> set[str] | None:
    """Names read by a text whose only Jinja is {{ storage.path }} placeholders, else None.

    Most bot texts are just that; validating a bot of 20,000 steps must not parse each with
    Jinja (about half a millisecond apiece), so these are read with one regular expression.
    """
    rest = _PLACEHOLDER.sub("", source)
    if "{{" in rest or "{%" in rest or "{#" in rest:
        return None
    return {found.group(1) for found in _PLACEHOLDER.finditer(source)} - set(_ENV.globals)


class _Unsure(Exception):
    """A parsed tree that the checks below do not vouch for: compile it to be sure."""


_MAX_CHECKED_DEPTH = 12  # deeper trees may hit Python's nesting limits when compiled (21 nested for: too many)
_SAME_FRAME = (nodes.Template, nodes.Output, nodes.If, nodes.Assign)


def _scan(tree: nodes.Node) -> None:
    """Raise _Unsure unless compiling this parsed tree cannot fail, as _CodeGenerator compiles it.

    Compiling costs about 2 ms a text; a bot of 20,000 steps has thousands of different texts. The
    code generator fails on: the refused tags, a filter or test it does not know (outside an if, where
    that is an error only when run), writing to `loop`, and nesting too deep for Python; anything past
    plain output, if, for and set is left to it, so its messages stay the only ones.
    """
    filters, tests = _ENV.filters, _ENV.tests
    todo: list[tuple[nodes.Node, bool, int]] = [(tree, False, 1)]
    while todo:
        node, soft, depth = todo.pop()
        if depth > _MAX_CHECKED_DEPTH:
            raise _Unsure
        if isinstance(node, nodes.Stmt) or isinstance(node, nodes.Template):
            if isinstance(node, nodes.For):
                if any(name.ctx == "store" and name.name == "loop" for name in node.find_all(nodes.Name)):
                    raise _Unsure
                todo.append((node.iter, soft, depth + 1))
                todo.extend((child, False, depth + 1) for child in (node.target, *node.body, *node.else_))
                if node.test is not None:
                    todo.append((node.test, False, depth + 1))
                continue
            if not isinstance(node, _SAME_FRAME):
                raise _Unsure
            soft = soft or isinstance(node, nodes.If)
        elif isinstance(node, nodes.CondExpr):
            soft = True
        elif isinstance(node, nodes.Filter):
            if not soft and node.name not in filters:
                raise _Unsure
        elif isinstance(node, nodes.Test):
            if not soft and node.name not in tests:
                raise _Unsure
        todo.extend((child, soft, depth + 1) for child in node.iter_child_nodes())


def _statements(body: list) -> Iterator[nodes.Node]:
    """The statements of one frame: those in if branches too, not those in a for body."""
    todo = list(reversed(body))
    while todo:
        node = todo.pop()
        yield node
        if isinstance(node, nodes.If):
            todo.extend(reversed([*node.body, *node.elif_, *node.else_]))


def _read(tree: nodes.Template) -> frozenset[str]:
    """The names a _scan-ned tree reads from outside: what meta.find_undeclared_variables says,
    from Jinja's own symbol tracking, frame by frame as the code generator makes them."""
    found: set[str] = set()
    todo: list[tuple[Any, Any, str | None]] = [(tree, None, None)]
    while todo:
        node, parent, branch = todo.pop()
        symbols = Symbols(parent)
        if branch is None:
            symbols.analyze_node(node)
            body = node.body
        else:
            if branch == "body":
                symbols.declare_parameter("loop")
            symbols.analyze_node(node, for_branch=branch)
            body = {"body": node.body, "else": node.else_, "test": []}[branch]
        found.update(param for action, param in symbols.loads.values() if action == VAR_LOAD_RESOLVE)
        for statement in _statements(body):
            if isinstance(statement, nodes.For):
                todo.append((statement, symbols, "body"))
                if statement.else_:
                    todo.append((statement, symbols, "else"))
                if statement.test is not None:
                    todo.append((statement, symbols, "test"))
    return frozenset(found - {"self"} - set(_ENV.globals))


def check_template(source: str) -> None:
    """Syntax check for the designer, with the line of the problem."""
    if _simple_names(source) is None:
        _template_names(source)


def check_expression(source: str) -> None:
    """Syntax check of a condition or "set" value for the designer."""
    _expression_names(source)


def template_names(source: str) -> set[str]:
    """Top-level names (storages) a template reads, for "read before written" warnings."""
    simple = _simple_names(source)
    return set(simple) if simple is not None else set(_template_names(source))


def _names_of(tree: nodes.Template, compile_: Any, source: str) -> frozenset[str]:
    """Parsed, not compiled, when the parsed tree shows compiling cannot fail (see _scan)."""
    try:
        _scan(tree)
    except _Unsure:
        compile_(source)  # the sandbox's own compiler says what is wrong, if anything
        return frozenset(set(meta.find_undeclared_variables(tree)) - set(_ENV.globals))
    return _read(tree)


@functools.lru_cache(maxsize=16384)
def _template_names(source: str) -> frozenset[str]:
    try:
        return _names_of(_ENV.parse(source), _template, source)
    except Exception as exc:
        raise ExpressionError(_message(exc, expression=False)) from exc


def expression_names(source: str) -> set[str]:
    """Top-level names (storages) an expression reads."""
    return set(_expression_names(source))


@functools.lru_cache(maxsize=16384)
def _expression_names(source: str) -> frozenset[str]:
    try:
        parser = Parser(_ENV, source, state="variable")
        expression = parser.parse_expression()
        if not parser.stream.eos:
            raise TemplateSyntaxError("chunk after expression", parser.stream.current.lineno, None, None)
        tree = nodes.Template([nodes.Output([expression])]).set_environment(_ENV)
        return _names_of(tree, _expression, source)
    except Exception as exc:
        raise ExpressionError(_message(exc, expression=True)) from exc


@functools.lru_cache(maxsize=65536)
def template_reads(source: str) -> tuple[frozenset[str], str | None]:
    """(names read, None), or (no names, the error message): template_names for validation's hot loop,
    cached per source with its outcome (a big bot repeats its texts)."""
    try:
        simple = _simple_names(source)
        return (frozenset(simple) if simple is not None else _template_names(source)), None
    except ExpressionError as exc:
        return frozenset(), str(exc)


@functools.lru_cache(maxsize=65536)
def expression_reads(source: str) -> tuple[frozenset[str], str | None]:
    """As template_reads, for an expression."""
    try:
        return _expression_names(source), None
    except ExpressionError as exc:
        return frozenset(), str(exc)
