"""Bot texts that try to hog a worker: the payloads of the attack run (issue 15, hole 1), one loop per filter,
test and operator whose cost grows with its input, and the resource bombs of the sandbox's unit tests.

Shared by tests/security/test_render_budget.py (each is refused within its budget) and
tests/bench/test_bench_render_corpus.py (prints the work and time of each).
"""

from __future__ import annotations

from tests.engine.test_expressions import BOMBS

_REJECT_IN = "(range(10000)|list)|reject('in', range(10000, 20000)|list)|list|length"
_TEXT = "{% set s = 'ab cd ' * 15000 %}"  # 90,000 characters
_LIST = "{% set l = range(10000)|list %}{% set r = l|reverse|list %}{% set w = l|map('string')|list %}"


def _loop(body: str, times: int = 1000, setup: str = _TEXT + _LIST) -> str:
    """`body` (an expression) evaluated `times` times, writing nothing: only its work counts."""
    outer, inner = (100, times // 100) if times > 100 else (1, times)
    return (setup + f"{{% for i in range({outer}) %}}{{% for j in range({inner}) %}}"
            + "{% if (" + body + ") is none %}x{% endif %}{% endfor %}{% endfor %}")


ATTACKS: dict[str, str] = {
    # The attack run's payloads.
    "reject 'in' (issue)": "{{ " + _REJECT_IN + " }}",
    "reject 'in' chained 8 times (issue)": "{{ " + " }}{{ ".join([_REJECT_IN] * 8) + " }}",
    "sort in a loop (issue)": _loop("(s|sort|length)"),
    "wordwrap in a loop (issue)": _loop("s|wordwrap(5)|length"),
    "title in a loop (issue)": _loop("s|title|length"),
    # Every builtin filter whose cost grows with its input, in a loop.
    "select 'in'": _loop("l|select('in', r)|list|length", 10),
    "selectattr": _loop("w|selectattr('0')|list|length"),
    "rejectattr 'in'": _loop("w|rejectattr('0', 'in', s)|list|length"),
    "map filter": _loop("l|map('string')|list|length"),
    "map attribute": _loop("w|map(attribute='0')|list|length"),
    "unique": _loop("l|unique|list|length"),
    "unique strings": _loop("w|unique|list|length"),
    "groupby": _loop("w|groupby('0')|list|length"),
    "dictsort": _loop("dict.fromkeys(w, 1)|dictsort|length"),
    "sort numbers": _loop("r|sort|first"),
    "sort generator": _loop("l|select|sort|first"),
    "join": _loop("l|join(',')|length"),
    "replace": _loop("s|replace('a', 'b')|length"),
    "list": _loop("s|list|length"),
    "batch": _loop("l|batch(3)|list|length"),
    "slice": _loop("l|slice(3)|list|length"),
    "sum": _loop("(l * 10)|sum"),
    "min": _loop("w|min"),
    "max": _loop("w|max"),
    "string": _loop("l|string|length"),
    "tojson": _loop("l|tojson|length"),
    "pprint": _loop("l|pprint|length"),
    "xmlattr": _loop("dict.fromkeys(w, 1)|xmlattr|length"),
    "items": _loop("dict.fromkeys(w, 1)|items|list|length"),
    "urlize": _loop("s|urlize|length"),
    "urlencode": _loop("s|urlencode|length"),
    "striptags": _loop("s|striptags|length"),
    "wordcount": _loop("s|wordcount"),
    "format": _loop("'%s'|format(s)|length"),
    "center": _loop("s|center(99999)|length"),
    "indent": _loop("s|indent(8)|length"),
    "truncate": _loop("s|truncate(99999)|length"),
    "upper": _loop("s|upper|length"),
    "capitalize": _loop("s|capitalize|length"),
    "reverse": _loop("s|reverse|list|length"),
    "escape": _loop("s|escape|length"),
    "range list": _loop("range(10000)|list|length", 10000),
    # Tests, operators and methods.
    "'in' on a long list": _loop("-1 in l", 100000, _LIST),
    "'in' on a long text": _loop("'zz' in s", 100000, _TEXT),
    "'is in' on a long list": _loop("-1 is in l", 100000, _LIST),
    "== on long lists": _loop("l == r", 100000, _LIST),
    "< on long texts": _loop("s < s ~ 'x'", 10000, _TEXT),
    "* on a text": _loop("(s * 1)|length", 10000),
    "+ on lists": _loop("(l + l)|length"),
    "~ on texts": _loop("(s ~ s)|length"),
    "% formatting": _loop("('%s' % s)|length"),
    "str.format": _loop("'{}{}'.format(s, s)|length"),
    "split": _loop("s.split()|length"),
    "count": _loop("s.count('a')", 100000),
    "list.index": _loop("l.index(9999)", 100000),
    "** on long numbers": _loop("(7 ** 5000) % 10", 100000, ""),
    # The sandbox's unit tests' resource bombs.
    **{f"bomb {source[:60]}": source for source in BOMBS},
}
