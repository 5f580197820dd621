"""The sandbox of Arbor's one expression language: Jinja2 templates (``Hi {{ name }}``) and expressions
(``age >= 18 and country == "CZ"``) over the bot's storages, run in a sandbox.

Bot texts are written by customers and run on shared workers, so the sandbox must refuse both
escapes (``''.__class__...``) and resource bombs (``9**20000000``, nested loops, huge repeats)
quickly, with a message that tells the bot author what to change.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime
import functools
import itertools
import math
import re
import time
from collections.abc import Iterator, Mapping, MappingView
from typing import Any

from jinja2 import ChainableUndefined, TemplateSyntaxError, UndefinedError, nodes
from jinja2.compiler import CodeGenerator, operators
from jinja2.runtime import LoopContext, Macro, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedFormatter, SecurityError

MAX_DIGITS = 4300  # ** and int * int results (Python's own int -> str limit)
MAX_INT_BITS = int(MAX_DIGITS * math.log2(10))  # 14,284 bits
MAX_REPEAT = 100_000  # characters or items made by repeating with *
MAX_WIDTH = 10_000  # width or precision in a format spec (%, format filter, str.format)
MAX_FILTER_SIZE = 100_000  # size argument of center, indent, wordwrap, truncate, batch, slice
MAX_RANGE = 10_000  # items per range()
MAX_STEPS = 100_000  # {% for %} iterations per render/evaluate, nested loops included
MAX_CALLS = 1_000  # macro calls (and recursive loop() calls) per render/evaluate
MAX_SECONDS = 1.0  # backstop for loops with long bodies, checked as loops and calls go
MAX_OUTPUT = 100_000  # characters of rendered text, and of a macro or {% set %} block
MAX_VALUE = 1_000_000  # rough size (characters + items) of any value a template makes
MAX_WORK = 40_000_000  # units of work per render/evaluate (see _charge): some 0.2 s of an idle core
MAX_TURN_WORK = 2 * MAX_WORK  # units of work of all the texts and conditions of one turn (see turn_budget)
# A long render gives up the GIL for a moment every GIVE_WAY_WORK units (some 0.5 ms of work): the other
# threads of its worker (another bot's turn) run between, instead of waiting out Python's 5 ms switch interval
# each time they need the GIL (tests/bench/test_bench_render_corpus.py measures both). Short texts never do.
GIVE_WAY_WORK = 100_000
GIVE_WAY_SECONDS = 0.00002  # long enough for a waiting thread to wake and take the GIL
LOOP_COST = 50  # units of work per {% for %} iteration
CALL_COST = 600  # units per filter or function call, whatever its input (Jinja's call path and the checks)
TEST_COST = 300  # units per test (`is odd`, and per item of `select('odd')`), plus the size of what it compares
_BLOCKED_METHODS = frozenset({"encode", "expandtabs", "maketrans", "translate", "to_bytes"})


class ExpressionError(ValueError):
    """A bot text or condition that cannot be compiled or run; the message says what to change."""


class _Budget:
    """What one render/evaluate call may still spend, so no bot turn can hog a worker.

    `work` counts units of work done (see `_charge`) up to `limit`: `MAX_WORK`, or what is left of the turn's
    budget when less; the deadline is only a backstop for what the work count misses."""

    __slots__ = ("steps", "calls", "work", "limit", "deadline", "give_way_at")

    def __init__(self) -> None:
        turn = _TURN.get(None)
        self.steps, self.calls, self.work, self.give_way_at = MAX_STEPS, MAX_CALLS, 0, GIVE_WAY_WORK
        self.limit = MAX_WORK if turn is None else min(MAX_WORK, turn.left)
        self.deadline = time.monotonic() + MAX_SECONDS


class _TurnBudget:
    """What all the renders and evaluations of one turn may still spend together (`turn_budget`)."""

    __slots__ = ("left",)

    def __init__(self) -> None:
        self.left = MAX_TURN_WORK


def _give_way(budget: _Budget) -> None:
    """Let the process's other threads run: a long render gives up the GIL every GIVE_WAY_WORK units."""
    budget.give_way_at = budget.work + GIVE_WAY_WORK
    time.sleep(GIVE_WAY_SECONDS)


_BUDGET: contextvars.ContextVar[_Budget] = contextvars.ContextVar("arbor_expression_budget")
_TURN: contextvars.ContextVar[_TurnBudget] = contextvars.ContextVar("arbor_expression_turn_budget")


@contextlib.contextmanager
def turn_budget() -> Iterator[None]:
    """Share `MAX_TURN_WORK` among every render and evaluate inside: a turn of many steps, each just under
    `MAX_WORK`, is stopped once they have spent it together, instead of running steps x budget."""
    token = _TURN.set(_TurnBudget())
    try:
        yield
    finally:
        _TURN.reset(token)


def _spent(budget: _Budget) -> None:
    """A render or evaluate ended: what it did, for last_work() and the turn's budget."""
    _LAST_WORK.set(budget.work)
    turn = _TURN.get(None)
    if turn is not None:
        turn.left -= budget.work
_LAST_WORK: contextvars.ContextVar[int] = contextvars.ContextVar("arbor_expression_last_work", default=0)


def last_work() -> int:
    """Units of work the last render/evaluate of this thread (context) did, refused or not: for tests and
    benchmarks, which check that no text does more than `MAX_WORK`."""
    return _LAST_WORK.get()


def _charge(units: int, what: str) -> None:
    """Count `units` of work against the render's budget before doing it, or refuse it.

    A unit is about half a list item compared by C code, or a character copied (some 5 ns on an idle core);
    work done in Python per item or character (sorting, wordwrap, a test per item) weighs more: the weights
    come from timing each operation against that unit (tests/bench/test_bench_render_corpus.py prints both).
    Work that would go past `MAX_WORK` is refused before it is done, so the count never passes the budget.
    """
    budget = _BUDGET.get(None)  # None while Jinja folds constants at compile time
    if budget is None:
        return
    if budget.work + units > budget.limit:
        if budget.limit < MAX_WORK:
            raise ExpressionError(f"This turn does too much work: {what} would take its texts and conditions "
                                  f"together past {MAX_TURN_WORK:,} units of work; use shorter lists or texts, "
                                  "or fewer loops")
        raise ExpressionError(f"This text does too much work: {what} would take it past {MAX_WORK:,} units of "
                              "work; use shorter lists or texts, or fewer loops")
    budget.work += units
    if budget.work >= budget.give_way_at:
        _give_way(budget)
    if time.monotonic() > budget.deadline:
        raise ExpressionError(f"Too slow: the template ran for more than {MAX_SECONDS:g} s")


def _too_big(what: str) -> ExpressionError:
    return ExpressionError(f"Too big: {what}")


def _less_than(size: Any, limit: int, what: str) -> None:
    if isinstance(size, int) and size >= limit:
        raise _too_big(f"{what} must be less than {limit:,}")


def _at_most(size: int, limit: int, what: str) -> None:
    if size > limit:
        raise _too_big(f"{what} would have more than {limit:,} characters or items")


def _measure(value: Any, indent: int = 0) -> int:
    """Rough size of a value (characters, items, big-int words) plus `indent` per nesting level
    and item; stops once past MAX_VALUE, so it is cheap on any result."""
    total, level, depth = 0, [value], 0
    while level and total <= MAX_VALUE:  # one nesting level at a time
        total += len(level) * depth * indent
        deeper: list[Any] = []
        for item in level:
            if isinstance(item, str):
                total += len(item)
            elif isinstance(item, int):
                total += item.bit_length() // 32
            elif isinstance(item, (Mapping, list, tuple, set, frozenset)):
                total += len(item)
                if total > MAX_VALUE:
                    break
                deeper.extend((*item.keys(), *item.values()) if isinstance(item, Mapping) else item)
        level, depth = deeper, depth + 1
    return total


def _sized(value: Any) -> Any:
    """Refuse a made value that is too big, and charge its size to the call's work budget."""
    kind = type(value)
    if kind in _SCALARS or (kind is int and value.bit_length() < 1024):
        return value
    size = len(value) if kind is str else _measure(value)
    _at_most(size, MAX_VALUE, "a value")
    _charge(size if kind is str else 16 * size, "making a value")  # measuring and making items: Python
    return value


_SCALARS = frozenset({bool, float, type(None)})


def _check_budget(budget: _Budget) -> None:
    """Raise once a budget is spent; loops call this every 64 steps, macros on every call."""
    if budget.work >= budget.give_way_at:
        _give_way(budget)
    if budget.steps < 0:
        raise ExpressionError(f"Too much work: loops would run more than {MAX_STEPS:,} times")
    if budget.calls < 0:
        raise ExpressionError(f"Too much work: more than {MAX_CALLS:,} macro calls")
    if time.monotonic() > budget.deadline:
        raise ExpressionError(f"Too slow: the template ran for more than {MAX_SECONDS:g} s")


def _loop_guard(iterable: Any) -> Iterator[Any]:
    """Wraps every {% for %} iterable (see _CodeGenerator) to charge each iteration."""
    budget = _BUDGET.get()
    for item in iterable:
        budget.steps -= 1
        if budget.work + LOOP_COST > budget.limit:  # _charge inlined: loops are hot
            _charge(LOOP_COST, "the next loop step")
        budget.work += LOOP_COST
        if budget.steps % 64 == 0 or budget.steps < 0:  # not on every step: loops are hot
            _check_budget(budget)
        yield item


def _range(*args: int) -> range:
    """range() limited to MAX_RANGE items."""
    numbers = range(*args)
    try:
        too_many = len(numbers) > MAX_RANGE
    except OverflowError:
        too_many = True
    if too_many:
        raise _too_big(f"range() can make at most {MAX_RANGE:,} items")
    return numbers


def _check_spec(spec: str) -> None:
    for digits in re.findall(r"\d+", spec):
        digits = digits.lstrip("0")
        if len(digits) > 9 or (digits and int(digits) >= MAX_WIDTH):
            raise _too_big(f"a width or precision in a format must be less than {MAX_WIDTH:,}")


def _check_percent(fmt: str, args: Any) -> None:
    """`fmt % args`: refuse huge widths, and a result far over MAX_VALUE before making it."""
    specs = re.findall(r"%(?:\([^)]*\))?([^a-zA-Z%]*)", fmt)
    values = list(args.values()) if isinstance(args, Mapping) else args if isinstance(args, tuple) else [args]
    for spec in specs:
        _check_spec(spec)
        for value in values if "*" in spec else ():
            _less_than(value, MAX_WIDTH, "a width or precision in a format")
    longest = max((len(str(value)) for value in values), default=0)
    _at_most(len(fmt) + len(specs) * longest, MAX_VALUE, "the formatted text")


def _check_replace(text: Any, old: Any, new: Any) -> None:
    text, old, new = str(text), str(old), str(new)
    count = text.count(old) if old else len(text) + 1
    _at_most(len(text) + count * max(0, len(new) - len(old)), MAX_VALUE, "the text made by replace")


def _check_join(separator: Any, items: Any) -> list[Any]:
    items, separator = list(items), str(separator)
    _at_most(len(separator) * len(items), MAX_VALUE, "the text made by join")  # quick check first
    _at_most(_measure(items) + len(separator) * len(items), MAX_VALUE, "the text made by join")
    return items


class _FilterChecks:
    """Plain functions run before the filter of the same name, with its arguments (no self).
    The filters not listed make at most a few times their input, which _sized then checks."""

    def center(value, width=80):
        _less_than(width, MAX_FILTER_SIZE, "the width of center")

    def indent(s, width=4, *args, **kwargs):
        width = len(width) if isinstance(width, str) else width
        _less_than(width, MAX_FILTER_SIZE, "the width of indent")
        _at_most(width * (str(s).count("\n") + 1), MAX_VALUE, "the text made by indent")

    def wordwrap(s, width=79, break_long_words=True, wrapstring=None, *args, **kwargs):
        _less_than(width, MAX_FILTER_SIZE, "the width of wordwrap")
        lines = 2 * len(str(s)) // max(width, 1) + str(s).count("\n") + 1
        _at_most(len(str(s)) + lines * len(str(wrapstring or "\n")), MAX_VALUE, "the text made by wordwrap")

    def truncate(s, length=255, *args, **kwargs):
        _less_than(length, MAX_FILTER_SIZE, "the length of truncate")

    def batch(value, linecount, fill_with=None):
        _less_than(linecount, MAX_FILTER_SIZE, "the size of batch")

    def slice(value, slices, fill_with=None):
        _less_than(slices, MAX_FILTER_SIZE, "the number of slices")

    def tojson(value, indent=None):
        width = len(indent) if isinstance(indent, str) else indent or 0
        _at_most(_measure(value, width), MAX_VALUE, "the text made by tojson")

    def pprint(value):
        _at_most(_measure(value, 1), MAX_VALUE, "the text made by pprint")

    def replace(s, old, new, count=None):
        _check_replace(s, old, new)

    def join(value, d="", attribute=None):
        return _check_join(d, value)  # the checked list replaces a possibly one-shot iterable

    def format(value, *args, **kwargs):
        _check_percent(str(value), kwargs or args)

    def sum(iterable, attribute=None, start=0):
        if not isinstance(start, (int, float)):
            raise ExpressionError("sum can only add numbers")


_HAS_LEN = frozenset({str, list, tuple, dict, set, frozenset})
_SIZED = (str, list, tuple, range, Mapping, set, frozenset)


def _size(value: Any) -> int:
    """Items or characters of a value, without walking it (len, or 1 for what has none)."""
    if type(value) in _HAS_LEN:  # the usual case, without isinstance's slower checks
        return len(value)
    try:
        return len(value) if isinstance(value, _SIZED) else 1
    except OverflowError:  # a range longer than sys.maxsize
        return MAX_VALUE


def _scan(value: Any) -> int:
    """Units to search or compare `value` once (`x in value`, `value == y`, a string method): strings are
    scanned by C code at a few characters per unit; hashed containers answer `in` at once."""
    kind = type(value)
    if kind is str:
        return len(value) // 3 + 1
    if kind is list or kind is tuple:
        return 2 * len(value)
    if kind in _SCALARS or kind is int or isinstance(value, (Mapping, set, frozenset, range)):
        return 1
    if isinstance(value, str):
        return len(value) // 3 + 1
    return 2 * _size(value)  # an item compared from Python: some 40 ns


def _counted(items: Any, weight: int, name: str) -> Iterator[Any]:
    """An iterator over `items` that charges `weight` per item as it is taken (a filter fed a generator)."""
    what = f"the filter {name}"
    for item in items:
        _charge(weight, what)
        yield item


# What a filter costs, in units per item or character of its input (the value it filters), on top of
# CALL_COST and the size of what it makes (charged by _sized): "n" weight * size, "n log n" for sorts,
# "deep" weight * the size of the value with everything in it (what prints or copies nested values),
# "once" for filters that read an item or two. Unlisted filters: "n", 1 (C code over the input).
# Weights come from timing each filter here (tests/bench/test_bench_render_corpus.py prints them).
_FILTER_COSTS: dict[str, tuple[str, int]] = {
    "sort": ("n log n", 17), "dictsort": ("n log n", 25), "groupby": ("n log n", 15), "unique": ("n", 200),
    "map": ("n", 100), "select": ("n", 100), "reject": ("n", 100), "selectattr": ("n", 100), "rejectattr": ("n", 100),
    "join": ("n", 50), "min": ("n", 60), "max": ("n", 60), "sum": ("n", 4), "batch": ("n", 125), "slice": ("n", 40),
    "items": ("n", 150), "xmlattr": ("n", 500), "urlencode": ("n", 8), "title": ("n", 55), "wordwrap": ("n", 128),
    "urlize": ("n", 340), "striptags": ("n", 6), "wordcount": ("n", 25), "pprint": ("deep", 350),
    "tojson": ("deep", 40), "string": ("deep", 25), "list": ("n", 10), "reverse": ("n", 15),
    "length": ("once", 1), "count": ("once", 1), "first": ("once", 1), "default": ("once", 1), "d": ("once", 1),
    "attr": ("once", 1), "random": ("once", 1), "abs": ("once", 1), "round": ("once", 1), "safe": ("once", 1),
    "filesizeformat": ("once", 1),
}


def _filter_cost(name: str, value: Any, args: tuple, kwargs: dict) -> tuple[Any, int]:
    """The units a filter call costs before it runs, and its input (a generator is counted as it is read,
    or read first for the filters that cost n log n)."""
    kind, weight = _FILTER_COSTS.get(name, ("n", 1))
    if kind != "once" and type(value) not in _HAS_LEN and isinstance(value, Iterator):
        value = _counted(value, weight, name)
        if kind != "n log n":
            return value, CALL_COST
        value = list(value)
    size = _size(value)
    if kind == "once":
        return value, CALL_COST
    elif kind == "n log n":
        units = weight * size * max(1, size.bit_length())
    elif kind == "deep":
        units = weight * _measure(value)
    else:
        units = weight * size
    if name in ("center", "indent", "wordwrap", "truncate") and args and isinstance(args[0], int):
        units += args[0] if name != "indent" else args[0] * (str(value).count("\n") + 1)  # the padding made
    for arg in (*args, *kwargs.values()) if args or kwargs else ():
        units += _scan(arg)
    return value, CALL_COST + units


def _guard_filter(name: str, func: Any) -> Any:
    """Run the filter's check (if any), charge its work, and size-check whatever it returns: every filter
    goes through here, including those map, select and friends call by name."""
    check = getattr(_FilterChecks, name, None)
    skip = 0 if getattr(func, "jinja_pass_arg", None) is None else 1  # environment/context argument
    what = f"the filter {name}"

    @functools.wraps(func)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if check is not None and (value := check(*args[skip:], **kwargs)) is not None:
            args = (*args[:skip], value, *args[skip + 1 :])
        if len(args) > skip:
            value, units = _filter_cost(name, args[skip], args[skip + 1 :], kwargs)
            _charge(units, what)
            if value is not args[skip]:
                args = (*args[:skip], value, *args[skip + 1 :])
        return _sized(func(*args, **kwargs))

    return guarded


_COMPARING_TESTS = frozenset({"!=", "<", "<=", "==", ">", ">=", "eq", "equalto", "ne", "lt", "lessthan", "le",
                              "gt", "greaterthan", "ge"})


def _guard_test(name: str, func: Any) -> Any:
    """Charge a test (`is in`, `select('in', ...)` calls it per item) by what it searches or compares."""
    comparing = name in _COMPARING_TESTS
    skip = 0 if getattr(func, "jinja_pass_arg", None) is None else 1  # environment argument
    what = f"the test {name}"

    @functools.wraps(func)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        units = TEST_COST
        for arg in args[skip + (not comparing):]:  # the tested value only when compared
            units += _scan(arg)
        for arg in kwargs.values():
            units += _scan(arg)
        _charge(units, what)
        return func(*args, **kwargs)

    return guarded


_SCANNING_METHODS = frozenset({"count", "find", "rfind", "index", "rindex", "startswith", "endswith", "get",
                               "keys", "values", "items", "__contains__"})
"""Methods that search their object with C code (or look one key up): charged like `in`, not per character."""


class _Formatter(SandboxedFormatter):
    """str.format/format_map refusing huge widths and results (a field may repeat: '{0}{0}')."""

    size = 0

    def format_field(self, value: Any, format_spec: str) -> Any:
        _check_spec(format_spec)
        text = super().format_field(value, format_spec)
        self.size += len(text)
        _at_most(self.size, MAX_VALUE, "the formatted text")
        return text


def _checked_visit(visit: Any) -> Any:
    """Code for a literal or ~ that passes its value through _sized: nesting [a, a] doubles it."""

    def checked(self: CodeGenerator, node: nodes.Node, frame: Any) -> None:
        if getattr(node, "ctx", "load") != "load":  # a tuple as an assignment target
            return visit(self, node, frame)
        self.write("environment.sized(")
        visit(self, node, frame)
        self.write(")")

    return checked


class _CodeGenerator(CodeGenerator):
    """Compiles templates with the guards: counted loops, size-checked literals and buffers."""

    def visit_Template(self, node: nodes.Template, frame: Any = None) -> None:
        for loop in node.find_all(nodes.For):  # an import, so no storage can shadow the guard
            guard = nodes.ImportedName(f"{__name__}._loop_guard")
            loop.iter = nodes.Call(guard, [loop.iter], [], None, None).set_lineno(loop.lineno)
        super().visit_Template(node, frame)

    def buffer(self, frame: Any) -> None:
        frame.buffer = self.temporary_identifier()
        self.writeline(f"{frame.buffer} = environment.new_buffer()")

    def refuse(self, node: nodes.Node, frame: Any) -> None:
        self.fail("block, extends, include and import tags are not supported", node.lineno)

    def visit_Operand(self, node: nodes.Operand, frame: Any) -> None:
        """`x in items`, `a == b`, `a < b`: the right side is charged for searching or comparing it
        (`environment.compared`); a loop doing `x in items` over a long list is work like any other."""
        self.write(f" {operators[node.op]} environment.compared(")
        self.visit(node.expr, frame)
        self.write(")")

    def visit_Compare(self, node: nodes.Compare, frame: Any) -> None:
        """The left side of an (in)equality is charged too: both are read."""
        self.write("(")
        if node.ops and node.ops[0].op not in ("in", "notin"):
            self.write("environment.compared(")
            self.visit(node.expr, frame)
            self.write(")")
        else:
            self.visit(node.expr, frame)
        for op in node.ops:
            self.visit(op, frame)
        self.write(")")

    visit_Block = visit_Extends = visit_Include = visit_Import = visit_FromImport = refuse
    visit_Concat = _checked_visit(CodeGenerator.visit_Concat)
    visit_List = _checked_visit(CodeGenerator.visit_List)
    visit_Tuple = _checked_visit(CodeGenerator.visit_Tuple)
    visit_Dict = _checked_visit(CodeGenerator.visit_Dict)


class _Buffer(list):
    """Text of a macro or {% set %}/{% filter %} block, limited like the rendered text."""

    size = 0

    def append(self, text: str) -> None:
        self.size += len(text)
        _at_most(self.size, MAX_OUTPUT, "the text of a macro or block")
        super().append(text)

    def extend(self, texts: Any) -> None:
        for text in texts:
            self.append(text)


class _Environment(ImmutableSandboxedEnvironment):
    """The sandbox with JSON-like attribute access and resource limits."""

    code_generator_class = _CodeGenerator
    intercepted_binops = frozenset({"+", "*", "**", "%"})
    sized = staticmethod(_sized)
    new_buffer = _Buffer

    def __init__(self) -> None:
        super().__init__(autoescape=False, undefined=ChainableUndefined, keep_trailing_newline=True)
        for name in ("cycler", "joiner", "lipsum", "namespace"):
            del self.globals[name]
        self.globals["range"] = _range
        # One place charges every filter and test, whoever calls it (a template, map, select, reject...).
        self.filters = {name: _guard_filter(name, func) for name, func in self.filters.items()}
        self.tests = {name: _guard_test(name, func) for name, func in self.tests.items()}

    @staticmethod
    def compared(value: Any) -> Any:
        """An operand of `in`, `==`, `<`...: charged for the scan, returned as is."""
        _charge(_scan(value), "comparing or searching a value")
        return value

    def make_globals(self, d: Any) -> dict[str, Any]:
        """A plain dict, not Jinja's ChainMap, which every render copies: renders 2x faster."""
        return {**self.globals, **(d or {})}

    def getattr(self, obj: Any, attribute: str) -> Any:
        """A dict key wins over a dict method (item.items); other names starting with _ are refused."""
        if isinstance(obj, Mapping) and (value := obj.get(attribute, _missing)) is not _missing:
            return value
        if attribute.startswith("_"):
            raise SecurityError(f"{attribute!r} is not a safe attribute")
        return super().getattr(obj, attribute)

    def unsafe_undefined(self, obj: Any, attribute: str) -> Undefined:
        raise SecurityError(f"{attribute!r} is not a safe attribute")  # refuse, not just blank

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        return attr not in _BLOCKED_METHODS and super().is_safe_attribute(obj, attr, value)

    def wrap_str_format(self, value: Any) -> Any:
        text, name = getattr(value, "__self__", None), getattr(value, "__name__", None)
        if not isinstance(text, str) or name not in ("format", "format_map"):
            return None

        def format_text(*args: Any, **kwargs: Any) -> str:
            if name == "format_map":
                if len(args) != 1 or kwargs:
                    raise TypeError("format_map() takes exactly one argument")
                args, kwargs = (), args[0]
            return _Formatter(self).vformat(text, args, kwargs)

        return format_text

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(left, int) and isinstance(right, int) and abs(left) > 1:
            if right > MAX_INT_BITS or right * math.log10(abs(left)) > MAX_DIGITS:
                raise _too_big(f"the result of ** would have more than {MAX_DIGITS:,} digits")
        elif operator == "*" and isinstance(left, int) and isinstance(right, int):
            if left.bit_length() + right.bit_length() > MAX_INT_BITS:
                raise _too_big(f"the result of * would have more than {MAX_DIGITS:,} digits")
        elif operator == "*":
            seq, times = (left, right) if isinstance(right, int) else (right, left)
            if isinstance(times, int) and isinstance(seq, (str, list, tuple)) and times > 0:
                _at_most(_measure(seq) * times, MAX_REPEAT, "the result of *")
        elif operator == "%" and isinstance(left, str):
            _check_percent(left, right)
        _charge(1 + 2 * (_scan(left) + _scan(right)), "an operator")
        result = self.binop_table[operator](left, right)
        if isinstance(result, int) and result.bit_length() > 1024:  # bounded by MAX_INT_BITS above
            _charge(result.bit_length() // 2, "arithmetic on long numbers")
        return result if isinstance(result, (int, float)) else _sized(result)

    def call(self, context: Any, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        """Charge macro and recursive loop() calls; charge other calls by what they read (a method by
        its object, a function by its arguments); check string methods that can grow text."""
        owner = getattr(obj, "__self__", None)
        if not isinstance(obj, (Macro, LoopContext)):
            units = CALL_COST + (_scan(owner) if getattr(obj, "__name__", None) in _SCANNING_METHODS else _size(owner))
            for arg in (*args, *kwargs.values()) if args or kwargs else ():
                units += _scan(arg)
            _charge(units, "a call")
        if isinstance(obj, (Macro, LoopContext)):
            budget = _BUDGET.get()
            budget.calls -= 1
            _check_budget(budget)
            if isinstance(obj, LoopContext) and args:
                args = (_loop_guard(args[0]), *args[1:])
        elif isinstance(owner, str) and args:
            name = obj.__name__
            if name in ("center", "ljust", "rjust", "zfill"):
                _less_than(args[0], MAX_FILTER_SIZE, f"the width of {name}")
            elif name == "replace" and len(args) > 1:
                _check_replace(owner, args[0], args[1])
            elif name == "join":
                args = (_check_join(owner, args[0]),)
        return _sized(super().call(context, obj, *args, **kwargs))


_missing = object()
_ENV = _Environment()


@functools.lru_cache(maxsize=4096)
def _template(source: str) -> Any:
    return _ENV.from_string(source)


@functools.lru_cache(maxsize=4096)
def _expression(source: str) -> Any:
    return _ENV.compile_expression(source, undefined_to_none=True)


def _message(exc: Exception, expression: bool) -> str:
    """Plain-English message for any failure while compiling or running."""
    if isinstance(exc, ExpressionError):
        return str(exc)
    if isinstance(exc, TemplateSyntaxError):
        if not expression:
            return f"Syntax error on line {exc.lineno}: {exc.message}"
        problem = str(exc.message).replace("end of template", "end of expression")
        return f"Syntax error: {problem.replace('chunk after expression', 'unexpected text at the end')}"
    if isinstance(exc, SecurityError):
        return f"Not allowed: {exc}"
    if isinstance(exc, UndefinedError):
        return f"Missing value: {exc.message}; give it a default, e.g. (visits or 0)"
    if isinstance(exc, ZeroDivisionError):
        return "Division by zero"
    if isinstance(exc, RecursionError):
        return "Too deep: too many nested calls or values"
    if isinstance(exc, (MemoryError, OverflowError)) or "integer string conversion" in str(exc):
        return f"Too big: a number or value is out of range (at most {MAX_DIGITS:,} digits)"
    if isinstance(exc, TypeError):
        return f"Wrong type: {exc}"
    return f"Cannot evaluate: {exc}"


def render(source: str, names: Mapping[str, Any]) -> str:
    """Render a bot text; text without {{, {% or {# is returned as is, without Jinja."""
    if "{{" not in source and "{%" not in source and "{#" not in source:
        return source
    _LAST_WORK.set(0)
    token = _BUDGET.set(_Budget())
    try:
        parts, size = [], 0
        for part in _template(source).generate(names):
            size += len(part)
            if size > MAX_OUTPUT:
                raise _too_big(f"the text would have more than {MAX_OUTPUT:,} characters")
            parts.append(part)
        return "".join(parts)
    except Exception as exc:
        raise ExpressionError(_message(exc, expression=False)) from exc
    finally:
        _spent(_BUDGET.get())
        _BUDGET.reset(token)


def evaluate(source: str, names: Mapping[str, Any]) -> Any:
    """Evaluate a condition or "set" value; undefined gives None; the result is JSON-safe."""
    token = _BUDGET.set(_Budget())
    try:
        return to_json(_expression(source)(names))
    except Exception as exc:
        raise ExpressionError(_message(exc, expression=True)) from exc
    finally:
        _spent(_BUDGET.get())
        _BUDGET.reset(token)


def to_json(value: Any) -> Any:
    """Make a template result safe to store as JSON and send to a channel."""
    if value is None or type(value) in (bool, int, str):
        return value
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else None
    for kind in (bool, int, str):  # subclasses such as Markup
        if isinstance(value, kind):
            return kind(value)
    if isinstance(value, Undefined):
        return None
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(key): to_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset, range, Iterator, MappingView)):
        return [to_json(item) for item in itertools.islice(value, MAX_VALUE)]
    return str(value)
