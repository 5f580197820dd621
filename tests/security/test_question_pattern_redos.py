"""Hole 12 of issue 15: ReDoS. A question's `pattern` runs on what a visitor typed; it runs under RE2
(google-re2), whose matching is linear in the answer, never Python's backtracking `re`. A pattern RE2
cannot compile (backreferences, lookaround) is refused when the bot is saved, with its place as a JSON
Pointer and the syntax that is allowed; the designer's form says so too."""

from __future__ import annotations

import copy
import re
from datetime import UTC, datetime

import pytest
import re2

from runtime import botdoc, engine
from runtime.steps import _patterns, question
from runtime.steps.base import Input
from runtime.store.accounts import create_user
from runtime.store.bots import import_bot

DOC = {
    "format": 1, "id": "orders", "name": "Orders", "locale": "en", "start": "main",
    "dialogs": [{"id": "main", "title": "Main", "steps": [
        {"id": "ask", "type": "question", "text": "Your code?", "storage": "code", "validate": "regex",
         "pattern": "(a+)+c", "maxRetries": 5},
        {"id": "done", "type": "message", "text": "Got {{ code }}."},
    ]}],
}
EVIL = "a" * 1_900 + "!"  # under question.MAX_ANSWER; with `re`, 2^1900 steps


def doc_with(pattern: str) -> dict:
    doc = copy.deepcopy(DOC)
    doc["dialogs"][0]["steps"][0]["pattern"] = pattern
    return doc


@pytest.fixture
def no_backtracking(monkeypatch):
    """The guarantee asserted: Python's backtracking re never runs a visitor's answer against the pattern
    (on code that still did, the test fails at once instead of running for ages)."""
    def backtracking(pattern, *args, **kwargs):
        raise AssertionError(f"re.fullmatch ran {pattern!r} on a visitor's answer")

    monkeypatch.setattr(re, "fullmatch", backtracking)


def test_the_pattern_runs_under_re2_not_backtracking_re(no_backtracking):
    assert isinstance(_patterns.compiled("(a+)+c"), type(re2.compile("x")))
    assert question.parse(DOC["dialogs"][0]["steps"][0], EVIL) is None
    assert question.parse(DOC["dialogs"][0]["steps"][0], "aaac") == "aaac"


def test_a_visitor_answer_against_a_catastrophic_pattern_is_simply_asked_again(no_backtracking):
    bot = botdoc.load(botdoc.check(DOC))
    user, now = {"id": "u1", "channel": "test"}, datetime(2026, 11, 20, 12, tzinfo=UTC)
    started = engine.start(bot, {}, user=user, now=now)
    again = engine.turn(bot, started.state, started.data, Input.message(EVIL), user=user, now=now)
    assert [a["text"] for a in again.activities] == [question.RETRY["regex"]]
    done = engine.turn(bot, again.state, again.data, Input.message("aac"), user=user, now=now)
    assert [a["text"] for a in done.activities] == ["Got aac."]


@pytest.mark.parametrize("pattern, reason", [
    (r"(a)\1", r"invalid escape sequence: \1"),
    ("(?=a)a+", "invalid perl operator: (?="),
    ("(?<!x)a", "invalid perl operator: (?<"),
    ("a++", "bad repetition operator: ++"),
])
def test_a_pattern_re2_cannot_run_is_refused_at_save_time_with_its_place(app, pattern, reason):
    with pytest.raises(botdoc.DocumentError) as refused:
        botdoc.check(doc_with(pattern))
    problem = next(p for p in refused.value.problems if p.severity == "error")
    assert problem.pointer == "/dialogs/0/steps/0/pattern"
    assert reason in problem.message and "RE2 syntax" in problem.message
    assert "backreferences (\\1), lookahead and lookbehind" in problem.message
    with app.app_context(), pytest.raises(botdoc.DocumentError, match="RE2 syntax"):
        import_bot(doc_with(pattern), publish=True)


def test_a_pattern_saved_before_the_check_never_matches_and_is_logged():
    bot = botdoc.load(botdoc.check(doc_with("a+")))
    bot.steps["ask"]["pattern"] = r"(a)\1"  # as an older version of Arbor may have stored it
    user, now = {"id": "u1", "channel": "test"}, datetime(2026, 11, 20, 12, tzinfo=UTC)
    started = engine.start(bot, {}, user=user, now=now)
    again = engine.turn(bot, started.state, started.data, Input.message("aa"), user=user, now=now)
    assert [a["text"] for a in again.activities] == [question.RETRY["regex"]]
    assert any("RE2 cannot compile it" in log["message"] for log in again.logs if log["kind"] == "error")


def test_the_designer_form_says_which_syntax_is_allowed(app, client):
    with app.app_context():
        import_bot(DOC)
        create_user("admin@example.com", "correct horse", "admin")
    token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/designer/signin").text).group(1)
    client.post("/designer/signin", data={"csrf_token": token, "email": "admin@example.com",
                                          "password": "correct horse"})
    form = client.get("/designer/bots/orders/steps/ask", headers={"HX-Request": "true"})
    assert form.status_code == 200
    assert "RE2 syntax" in form.text and "backreferences" in form.text and "lookahead or lookbehind" in form.text
