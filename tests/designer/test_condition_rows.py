"""The condition builder's rows: written as the expression the engine evaluates, read back exactly (any rows,
any values), values that cannot inject, what stays "Write it as an expression", and the plain words."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runtime.expressions import check_expression, evaluate, expression_names
from runtime.steps._condition_rows import OPERATORS, Condition, Row, describe, read, write

NAMES = st.sampled_from(["interest", "age", "email", "user.language", "event.value", "contact.address.city"])
TEXT = st.text(min_size=1, max_size=30)
NUMBER = st.one_of(st.integers(-10**6, 10**6).map(str),
                   st.decimals(-1000, 1000, places=2, allow_nan=False).map(lambda d: repr(float(d))))
LISTED = st.text(min_size=1, max_size=12).filter(lambda v: "," not in v and v == v.strip())


@st.composite
def rows(draw) -> Row:
    op = draw(st.sampled_from(OPERATORS))
    subject = draw(NAMES)
    if op.takes == "none":
        return Row(subject, op.key)
    if op.takes == "number":
        return Row(subject, op.key, (draw(NUMBER),))
    if op.takes == "several":
        return Row(subject, op.key, tuple(draw(st.lists(LISTED, min_size=1, max_size=4))))
    return Row(subject, op.key, (draw(TEXT),))


CONDITIONS = st.builds(Condition, st.lists(rows(), min_size=1, max_size=5).map(tuple), st.sampled_from(["all", "any"]))


@settings(max_examples=400, deadline=None)
@given(CONDITIONS)
def test_any_rows_are_read_back_from_their_expression(condition):
    expression = write(condition)
    check_expression(expression)  # the sandbox takes it as it is
    again = read(expression)
    assert again.rows == condition.rows and (again.join == condition.join or len(condition.rows) == 1)
    assert write(read(expression)) == expression


@settings(max_examples=200, deadline=None)
@given(TEXT)
def test_a_value_is_only_ever_a_value(value):
    """Quotes, backslashes, {{ }}, newlines: compared as text, never read as part of the expression."""
    expression = write(Condition((Row("answer", "is", (value,)),)))
    assert expression_names(expression) == {"answer"}
    assert evaluate(expression, {"answer": value}) is True
    assert evaluate(expression, {"answer": value + "x"}) is False


@pytest.mark.parametrize("value", ['" or 1 or "', '{{ 7 * 7 }}', "}} {{", "\\", "\\\"", "it's", "a\nb", "😀 é", "\x00",
                                   '" + user.id + "', "{% raw %}"])
def test_values_that_look_like_code_do_not_inject(value):
    for op in ("is", "is-not", "contains", "not-contains"):
        expression = write(Condition((Row("answer", op, (value,)),)))
        assert expression_names(expression) == {"answer"}
        assert read(expression).rows[0].values == (value,)
    assert evaluate(write(Condition((Row("answer", "is", (value,)),))), {"answer": "x"}) is False
    assert evaluate(write(Condition((Row("answer", "one-of", (value, "b")),))), {"answer": value}) is True


def test_operators_mean_what_their_words_say():
    names = {"interest": "Website", "age": "25", "visits": 3, "note": "", "tags": "vip new"}

    def holds(*row: object, join: str = "all", **extra) -> bool:
        return evaluate(write(Condition((Row(*row),), join)), {**names, **extra})

    assert holds("interest", "is", ("Website",)) and not holds("interest", "is-not", ("Website",))
    assert holds("tags", "contains", ("vip",)) and holds("tags", "not-contains", ("gold",))
    assert holds("note", "empty") and holds("missing", "empty") and holds("interest", "not-empty")
    assert holds("age", "more", ("18",)) and holds("visits", "less", ("3.5",)) and not holds("age", "less", ("-1",))
    assert not holds("missing", "more", ("0",)) and not holds("missing", "contains", ("x",))  # nothing kept yet
    assert holds("age", "at-least", ("25",)) and not holds("age", "at-least", ("25.5",))
    assert holds("visits", "at-most", ("3",)) and not holds("visits", "at-most", ("2,5",))
    assert holds("missing", "at-most", ("0",)) and not holds("missing", "at-least", ("1",))  # nothing kept yet: 0
    assert holds("interest", "one-of", ("Shop", "Website")) and not holds("interest", "one-of", ("Shop",))
    both = Condition((Row("interest", "is", ("Shop",)), Row("age", "more", ("18",))), "any")
    assert evaluate(write(both), names) is True and evaluate(write(Condition(both.rows, "all")), names) is False


def test_what_the_rows_write():
    condition = Condition((Row("interest", "is", ("Website",)), Row("age", "more", ("18",)),
                           Row("user.language", "one-of", ("cs", "sk")), Row("email", "empty")))
    assert write(condition) == ('interest == "Website" and age|default(0)|float > 18 and user.language in ["cs", "sk"] '
                                'and not email')
    assert write(Condition()) == "true" and read("true") == Condition() and read("  ") == Condition()


@pytest.mark.parametrize("expression", [
    "age >= 18",  # a number compared as it is kept: the rows compare it as a number, 0 when nothing is kept
    "x == 18",  # a number compared as a number: the rows would compare it as text
    "a and b or c",  # all and any mixed
    "(a or b) and c",
    "name|upper == \"ANN\"",
    'x in ["a,b"]',  # a value a comma-separated field cannot hold
    "x ==",  # not an expression at all
    "contact['id']",
    "true == x",
    "if == 1",
    42,
    None,
])
def test_anything_else_stays_an_expression(expression):
    assert read(expression) is None


def test_spacing_and_quotes_do_not_matter_to_reading():
    assert read("interest=='Website'") == Condition((Row("interest", "is", ("Website",)),))
    assert read("age | default(0) | float >  -5") == Condition((Row("age", "more", ("-5",)),))
    assert read("size|default(0)|float>=50") == Condition((Row("size", "at-least", ("50",)),))
    assert read("size|default(0)|float <= 1.5") == Condition((Row("size", "at-most", ("1.5",)),))


def test_plain_words():
    assert describe('interest == "Website"') == "interest is Website"
    assert describe('interest == "web"', {"interest": {"web": "Website"}}) == "interest is Website"
    assert describe('not email or user.language in ["cs", "sk"]') == \
        "email is empty or the person's language is one of cs, sk"
    assert describe("Website") == "Website is not empty"  # a typo reads as what it means
    assert describe("true") == "always"
    assert describe("companySize|default(0)|float >= 50") == "companySize is at least 50"
    assert describe("companySize|default(0)|float <= 9") == "companySize is at most 9"
    assert describe("age >=  18") == "age >= 18"  # the expression itself, when the rows cannot show it
