"""The expression language: templates, expressions, JSON-like access, the sandbox and its limits."""

from __future__ import annotations

import datetime
import itertools

import pytest
from markupsafe import Markup

from runtime import expressions
from runtime.expressions import (
    ExpressionError,
    check_expression,
    check_template,
    evaluate,
    expression_names,
    render,
    sandbox,
    template_names,
    to_json,
)

NAMES = {
    "name": "Ann",
    "age": 20,
    "country": "CZ",
    "visits": 3,
    "contact": {"address": {"city": "Brno", "zip": "602 00"}, "tags": ["vip", "new"]},
    "positions": [{"title": "Developer", "since": 2020}, {"title": "Lead"}],
    "item": {"items": ["a", "b"], "values": "v", "keys": "k", "get": "g"},
    "plain": {"a": 1, "b": 2},
}


def refused(call, *args) -> str:
    """Run a call that must fail with ExpressionError; return its message."""
    with pytest.raises(ExpressionError) as info:
        call(*args)
    return str(info.value)


# --- rendering and JSON-like access ----------------------------------------------------------------


def test_render_reads_storages():
    assert render("Hi {{ name }}, you are {{ age }}!", NAMES) == "Hi Ann, you are 20!"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ contact.address.city }}", "Brno"),
        ("{{ contact['address']['zip'] }}", "602 00"),
        ("{{ contact.tags[1] }}", "new"),
        ("{{ positions[0].title }}", "Developer"),
        ("{{ positions[-1].title }}", "Lead"),
        ("{{ positions[0]['since'] + 1 }}", "2021"),
        ("{{ positions|length }}", "2"),
    ],
)
def test_dot_and_index_access_work_like_json(source, expected):
    assert render(source, NAMES) == expected


@pytest.mark.parametrize(
    ("key", "value"), [("items", ["a", "b"]), ("values", "v"), ("keys", "k"), ("get", "g")]
)
def test_a_dict_key_wins_over_a_dict_method_of_the_same_name(key, value):
    assert evaluate(f"item.{key}", NAMES) == value
    assert render(f"{{{{ item.{key} }}}}", NAMES) == str(value)


def test_dict_methods_still_work_when_there_is_no_such_key():
    assert render("{% for k, v in plain.items() %}{{ k }}={{ v }};{% endfor %}", NAMES) == "a=1;b=2;"
    assert evaluate("plain.values()|sum", NAMES) == 3


@pytest.mark.parametrize(
    "source",
    ["{{ nobody }}", "{{ contact.id }}", "{{ missing.id }}", "{{ a.b[0].c.d }}", "{{ positions[5].title }}"],
)
def test_undefined_names_and_attributes_render_empty(source):
    assert render(f"[{source}]", NAMES) == "[]"


def test_undefined_evaluates_to_none():
    assert evaluate("missing.id", NAMES) is None
    assert evaluate("contact.id", NAMES) is None
    assert evaluate("nobody", {}) is None


def test_plain_text_is_returned_unchanged_without_jinja():
    before = sandbox._template.cache_info()
    for text in ["Hello there!", "a { b } c", "100% {sure}", "", "Příliš žluťoučký kůň 🐴"]:
        assert render(text, NAMES) is text
    assert sandbox._template.cache_info() == before  # not even compiled


def test_unicode_in_templates_values_and_expressions():
    names = {"jméno": "Žofie", "emoji": "🐴"}
    assert render("Ahoj {{ jméno|upper }} {{ emoji }} ✓", names) == "Ahoj ŽOFIE 🐴 ✓"
    assert evaluate("jméno ~ ' ' ~ emoji", names) == "Žofie 🐴"
    assert evaluate("'ž' in jméno|lower", names) is True


def test_trailing_newline_is_kept_like_in_plain_text():
    assert render("Hi {{ name }}\n", NAMES) == "Hi Ann\n"


def test_autoescape_is_off():
    assert render("{{ text }}", {"text": "<b>&</b>"}) == "<b>&</b>"


def test_macros_set_blocks_filter_blocks_and_loops_work():
    source = (
        "{% macro hi(who) %}Hi {{ who }}{% if caller %} {{ caller() }}{% endif %}{% endmacro %}"
        "{% set words %}{% for t in contact.tags %}{{ t }}{% if not loop.last %}, {% endif %}{% endfor %}"
        "{% endset %}{{ hi(name) }}. {% call hi('Bob') %}again{% endcall %}. {{ words }}. "
        "{% filter upper %}end{% endfilter %}"
    )
    assert render(source, NAMES) == "Hi Ann. Hi Bob again. vip, new. END"


# --- expressions -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('age >= 18 and country == "CZ"', True),
        ("age < 18 or country != 'CZ'", False),
        ("not (age > 30)", True),
        ("(visits or 0) + 1", 4),
        ("(nobody or 0) + 1", 1),
        ("nobody or 'default'", "default"),
        ("visits * 2 - 1", 5),
        ("7 // 2 + 7 % 2 + 2 ** 3", 12),
        ("10 / 4", 2.5),
        ("'vip' in contact.tags", True),
        ("'x' in contact.tags", False),
        ("name|upper", "ANN"),
        ("contact.tags|length", 2),
        ("name|length > 2", True),
        ("'Hello ' ~ name", "Hello Ann"),
        ("'adult' if age >= 18 else 'child'", "adult"),
        ("[1, 2, 3]|sum", 6),
        ("positions|map(attribute='title')|join(', ')", "Developer, Lead"),
        ("'%05d' % 42", "00042"),
        ("'{:>5}'.format(1)", "    1"),
        ("'x'|center(5)", "  x  "),
        ("2 ** 10", 1024),
        ("'ab' * 3", "ababab"),
    ],
)
def test_evaluate(source, expected):
    assert evaluate(source, NAMES) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("range(3)", [0, 1, 2]),
        ("(1, 'a')", [1, "a"]),
        ("name|map('upper')", ["A", "N", "N"]),
        ("{'a': (1, 2)}", {"a": [1, 2]}),
        ("{1: 'one'}", {"1": "one"}),
        ("name|e", "Ann"),
        ("plain.keys()", ["a", "b"]),
        ("1e308 * 10", None),
        ("contact", NAMES["contact"]),
    ],
)
def test_evaluate_returns_json_safe_values(source, expected):
    assert evaluate(source, NAMES) == expected


def test_evaluate_turns_dates_into_iso_strings():
    now = datetime.datetime(2024, 5, 6, 7, 8, 9)
    assert evaluate("now", {"now": now}) == "2024-05-06T07:08:09"
    assert evaluate("now.year", {"now": now}) == 2024


def test_to_json():
    assert to_json(None) is None
    assert to_json(True) is True
    assert to_json(sandbox._ENV.undefined(name="x")) is None
    assert to_json((1, (2, 3))) == [1, [2, 3]]
    assert to_json(range(3)) == [0, 1, 2]
    assert to_json(x * 2 for x in range(3)) == [0, 2, 4]
    assert type(to_json(Markup("<b>"))) is str
    assert to_json(datetime.date(2024, 1, 2)) == "2024-01-02"
    assert to_json(datetime.datetime(2024, 1, 2, 3, 4)) == "2024-01-02T03:04:00"
    assert to_json({1: {"a": (1,)}, None: 2}) == {"1": {"a": [1]}, "None": 2}
    assert to_json(float("nan")) is None
    assert sorted(to_json({3, 1, 2})) == [1, 2, 3]
    assert to_json(object).startswith("<class")


def test_to_json_bounds_endless_iterators(monkeypatch):
    monkeypatch.setattr(sandbox, "MAX_VALUE", 5)
    assert to_json(itertools.count()) == [0, 1, 2, 3, 4]


# --- names -----------------------------------------------------------------------------------------


def test_template_names_are_the_top_level_names_read():
    source = "{{ a }} {{ b.c }} {% set d = 1 %}{{ d }}{% for i in e %}{{ i }}{{ loop.index }}{% endfor %}"
    source += "{{ range(2) }}"
    assert template_names(source) == {"a", "b", "e"}
    assert template_names("no names here") == set()


def test_expression_names_are_the_top_level_names_read():
    assert expression_names("(visits or 0) + contact.age * x[0]") == {"visits", "contact", "x"}
    assert expression_names("'literal'|upper") == set()


def test_names_of_broken_sources_raise_expression_error():
    with pytest.raises(ExpressionError):
        template_names("{{ a ")
    with pytest.raises(ExpressionError):
        expression_names("a +")


# --- syntax and runtime errors ---------------------------------------------------------------------


def test_template_syntax_error_names_the_line_and_problem():
    message = refused(check_template, "Hi\n{{ name }")
    assert message.startswith("Syntax error on line 2: ")
    assert refused(render, "{{ } }}", {}) == "Syntax error on line 1: unexpected '}'"
    assert "Syntax error on line 1" in refused(check_template, "{% if %}")
    assert "No filter named 'nope'" in refused(check_template, "{{ x|nope }}")


def test_expression_syntax_error_names_the_problem():
    assert "end of expression" in refused(check_expression, "1 +")
    assert refused(evaluate, "", {}).startswith("Syntax error: ")
    assert refused(check_expression, "a b") == "Syntax error: unexpected text at the end"


def test_checks_accept_good_sources():
    assert check_template("Hi {{ name|default('you') }}{% if x %}!{% endif %}") is None
    assert check_expression("(visits or 0) + 1") is None


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ 1 / 0 }}", "Division by zero"),
        ("{{ nobody + 1 }}", "Missing value: 'nobody' is undefined"),
        ("{{ name + 1 }}", "Wrong type"),
        ("{{ [[1, 2]] * 3|sum(start=[]) }}", "sum can only add numbers"),
    ],
)
def test_runtime_errors_become_expression_errors(source, expected):
    assert expected in refused(render, source, NAMES)


@pytest.mark.parametrize(
    "source",
    [
        "{{ x.y.z() }}",
        "{{ 'a' < 1 }}",
        "{{ (1, 2)|dictsort }}",
        "{{ range('a') }}",
        "{{ 'x' ~ [1]|first|string|int // 0 }}",
        "{{ '%d' % 'x' }}",
        "{{ 10**4299 * 5 + 10**4299 * 5 }}",
        "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
    ],
)
def test_no_other_exception_type_escapes(source):
    message = refused(render, source, {"x": {"y": {"z": 1}}})
    assert message


# --- sandbox escapes -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ self.__init__.__globals__ }}",
        "{{ lipsum.__globals__ }}",
        "{{ ().__class__.__base__.__subclasses__() }}",
        "{{ ''['__class__'] }}",
        "{{ 'a'|attr('__class__') }}",
        "{{ [1]|map(attribute='__class__')|list }}",
        "{{ '{0.__class__}'.format(1) }}",
        "{{ range.__globals__ }}",
        "{{ name.translate({}) }}",
        "{{ (1).to_bytes(9, 'big') }}",
    ],
)
def test_sandbox_escapes_are_refused(source):
    assert refused(render, source, NAMES).startswith("Not allowed: ")


def test_sandbox_escapes_in_expressions_are_refused():
    assert refused(evaluate, "''.__class__.__mro__", {}).startswith("Not allowed: ")


@pytest.mark.parametrize("name", ["request", "config", "cycler", "joiner", "lipsum", "namespace"])
def test_server_objects_and_removed_globals_are_undefined(name):
    assert render(f"[{{{{ {name} }}}}]", {}) == "[]"


def test_data_keys_may_look_private():
    assert render("{{ d._id }} {{ d.__class__ }}", {"d": {"_id": 7, "__class__": "data"}}) == "7 data"


def test_immutable_data_cannot_be_changed():
    assert refused(render, "{{ contact.tags.append(1) }}", NAMES).startswith("Not allowed: ")
    assert NAMES["contact"]["tags"] == ["vip", "new"]


def test_tags_that_need_a_loader_are_refused():
    for source in [
        "{% block b %}x{% endblock %}",
        "{% include 'x' %}",
        "{% extends 'x' %}",
        "{% import 'x' as y %}",
    ]:
        assert "not supported" in refused(check_template, source)


# --- resource limits -------------------------------------------------------------------------------

LOOPS = "{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}"
LONG = "{% for i in range(1000) %}{{ 'y' * 1000 }}{% endfor %}"
BOMBS = {
    "{{ 9**20000000 }}": "the result of ** would have more than 4,300 digits",
    "{{ 2**(10**4000) }}": "the result of **",
    "{{ (10**4000) * (10**4000) }}": "the result of * would have more than 4,300 digits",
    "{{ 'x' * 10**9 }}": "the result of * would have more than 100,000",
    "{{ [1] * 10**8 }}": "the result of * would have more than 100,000",
    "{{ 10**9 * 'x' }}": "the result of *",
    "{{ '%0999999999d' % 1 }}": "width or precision in a format must be less than 10,000",
    "{{ '%*d' % (999999999, 1) }}": "width or precision",
    "{{ '%0999999999d'|format(1) }}": "width or precision",
    "{{ '{:>999999999}'.format(1) }}": "width or precision",
    "{{ '{:{}}'.format(1, 999999999) }}": "width or precision",
    "{{ '{x:>999999999}'.format_map({'x': 1}) }}": "width or precision",
    "{{ 'x'|center(999999999) }}": "the width of center must be less than 100,000",
    "{{ 'x'|indent(999999999) }}": "the width of indent",
    "{{ 'x'|wordwrap(999999999) }}": "the width of wordwrap",
    "{{ 'x'|truncate(999999999) }}": "the length of truncate",
    "{{ [1]|batch(999999999, 0)|list }}": "the size of batch",
    "{{ [1]|slice(999999999)|list }}": "the number of slices",
    "{{ 'x'.center(999999999) }}": "the width of center",
    "{{ 'x'.zfill(999999999) }}": "the width of zfill",
    "{{ range(10**9)|list }}": "range() can make at most 10,000 items",
    "{{ range(10**30)|join }}": "range()",
    "{{ range(100000)|sum }}": "range()",
    LOOPS: "loops would run more than 100,000 times",
    "{% set x = range(10000) %}{% for i in x %}{% for j in x %}{% endfor %}{% endfor %}": "loops would run",
    "{% for i in range(10000) %}{{ 'x' * 100 }}{% endfor %}": "the text would have more than 100,000",
    "{% macro f(n) %}{% if n %}{{ f(n-1) }}{{ f(n-1) }}{% endif %}{% endmacro %}{{ f(40) }}": "macro calls",
    "{% for x in [1] recursive %}{% if loop.depth < 40 %}{{ loop([1, 2]) }}{% endif %}{% endfor %}": "calls",
    "{% set a = 'x' * 100000 %}{% set a = a ~ a ~ a ~ a %}{% set a = a ~ a ~ a %}{{ a|length }}": "a value",
    "{% set a = 'x' * 100000 %}{% set a = [a, a, a, a] %}{% set a = [a, a, a] %}{{ a|length }}": "a value",
    "{% set a = 'x' * 100000 %}{{ ([a] * 100000)|join }}": "the result of *",
    "{% set a = 'x' * 100000 %}{{ ('x' * 100000)|list|join(a) }}": "the text made by join",
    "{% set a = 'x' * 100000 %}{{ ('x' * 100000)|replace('x', a) }}": "the text made by replace",
    "{% set a = 'x' * 100000 %}{{ a.replace('x', a) }}": "the text made by replace",
    "{{ ('{0}' * 20000).format('x' * 1000) }}": "the formatted text",
    "{{ ('%(x)s' * 20000) % {'x': 'y' * 1000} }}": "the formatted text",
    "{{ dict.fromkeys(range(10000), 'x' * 1000)|string }}": "a value",
    "{{ ('x\n' * 50000)|indent(99999) }}": "the text made by indent",
    "{% set s %}" + LONG + "{% endset %}{{ s|length }}": "the text of a macro or block",
    "{% macro m() %}" + LONG + "{% endmacro %}{{ m()|length }}": "the text of a macro or block",
}


@pytest.fixture
def no_time_backstop(monkeypatch):
    """The 1 s backstop could answer first on a loaded machine; these tests check the limits that count."""
    monkeypatch.setattr(sandbox, "MAX_SECONDS", 600.0)


@pytest.mark.parametrize(("source", "problem"), list(BOMBS.items()))
def test_resource_bombs_are_refused_by_their_limit(source, problem, no_time_backstop):
    message = refused(render, source, {})
    assert message.startswith("Too "), message
    assert problem in message


@pytest.mark.parametrize(
    "source", ["9**20000000", "'x' * 10**9", "range(10**9)", "'{:>999999999}'.format(1)"]
)
def test_bombs_in_expressions_are_refused_by_their_limit(source, no_time_backstop):
    assert refused(evaluate, source, {}).startswith("Too big: ")


def test_the_loop_budget_is_per_call_and_allows_real_work():
    source = "{% for i in range(300) %}{% for j in range(300) %}{% endfor %}{% endfor %}done"
    assert render(source, {}) == "done"  # 90,300 iterations: under the limit
    assert render(source, {}) == "done"  # a fresh budget each time
    with pytest.raises(ExpressionError):
        render(source.replace("300", "320"), {})  # 102,720 iterations
    assert render("Hi {{ name }}", NAMES) == "Hi Ann"  # a refusal leaves nothing behind


def test_limits_allow_values_up_to_the_limit():
    assert len(evaluate("'x' * 100000", {})) == 100_000
    assert len(evaluate("range(10000)|list", {})) == 10_000
    assert len(evaluate("'x'|center(99999)", {})) == 99_999
    assert len(evaluate("'{:>9999}'.format(1)", {})) == 9_999
    assert len(str(evaluate("10 ** 4299", {}))) == 4_300
    assert len(render("{% for i in range(10000) %}{{ 'x' * 10 }}{% endfor %}", {})) == 100_000


def test_the_deadline_stops_long_loop_bodies(monkeypatch):
    monkeypatch.setattr(sandbox, "MAX_SECONDS", 0.0)
    message = refused(render, "{% for i in range(1000) %}{{ i }}{% endfor %}", {})
    assert message.startswith("Too slow: ")


# --- caching ---------------------------------------------------------------------------------------


def test_compiled_templates_and_expressions_are_cached():
    source, expression = "Cached {{ name }} {{ 12345 }}", "visits + 12345"
    assert sandbox._template(source) is sandbox._template(source)
    hits = sandbox._template.cache_info().hits
    assert render(source, NAMES) == render(source, NAMES) == "Cached Ann 12345"
    assert sandbox._template.cache_info().hits == hits + 2
    hits = sandbox._expression.cache_info().hits
    assert evaluate(expression, NAMES) == evaluate(expression, NAMES) == 12348
    assert sandbox._expression.cache_info().hits >= hits + 1
    assert sandbox._template.cache_info().maxsize == sandbox._expression.cache_info().maxsize == 4096


# --- names and checks without compiling ------------------------------------------------------------

NAME_SOURCES = [
    "{{ x }}{% set x = 1 %}{{ x }}",
    "{% if a %}{% set x = 1 %}{% endif %}{{ x }}",
    "{% if x %}{% set y = 1 %}{% else %}{% set y = 2 %}{% endif %}{{ y }}",
    "{% for x in x %}{{ x }}{{ loop.index }}{% else %}{{ loop }}{{ y }}{% endfor %}",
    "{% for i in l if i > z %}{{ i }}{% endfor %}{% set z = 2 %}",
    "{% for i in l %}{{ w }}{% endfor %}{% set w = 1 %}",
    "{% for a, b in d.items() %}{% for c in b %}{{ c }}{{ a }}{{ e }}{% endfor %}{% endfor %}",
    "{% set a, b = 1, 2 %}{{ a }}{{ b }}{{ c }}{{ range(3) }}",
    "{% macro m(p) %}{{ p }}{{ q }}{% endmacro %}{{ m(r) }}",
    "{% with v = u %}{{ v }}{{ t }}{% endwith %}",
    "{% set s %}{{ inner }}{% endset %}{{ s }}",
]


@pytest.mark.parametrize("source", NAME_SOURCES)
def test_names_without_compiling_are_what_jinja_finds(source):
    from jinja2 import meta
    expected = set(meta.find_undeclared_variables(sandbox._ENV.parse(source))) - set(sandbox._ENV.globals)
    assert template_names(source) == expected
    check_template(source)


def test_checks_without_compiling_still_refuse_what_compiling_refuses():
    assert "No filter named 'nope'" in refused(check_template, "{% for i in l %}{{ i|nope }}{% endfor %}")
    assert "No test named 'nope'" in refused(check_expression, "a is nope")
    assert "not supported" in refused(check_template, "{% if a %}{% include 'x' %}{% endif %}")
    assert "special loop variable" in refused(check_template, "{% for loop in l %}{% endfor %}")
    assert check_template("{% if a %}{{ b|nope }}{% endif %}") is None  # an error only when it runs, as in Jinja
    deep = "{% for i in x %}" * 21 + "{% endfor %}" * 21  # parses, but Python refuses 21 nested loops
    assert refused(check_template, deep)
    with pytest.raises(ExpressionError):
        template_names(deep)
    assert expressions.template_reads("{{ a }} {{ b.c }}") == (frozenset({"a", "b"}), None)
    assert expressions.expression_reads("a +")[1].startswith("Syntax error")
