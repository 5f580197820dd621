"""Hole 1 of the attack run (issue 15): one bot text could stall a worker, because filters, tests and
operators whose cost grows with their input were not charged. Every such operation is now charged against
the render's work budget before it runs (`sandbox._charge`); these tests hold that promise without a clock.

The wall-clock backstop is switched off here (600 s), so each payload must be stopped by the work count:
an ExpressionError that says so (or another limit's), and a work counter within the budget (+10%).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from runtime import engine
from runtime.botdoc import index
from runtime.expressions import ExpressionError, evaluate, render, sandbox
from tests.security.render_corpus import ATTACKS


@pytest.fixture(autouse=True)
def no_time_backstop(monkeypatch):
    monkeypatch.setattr(sandbox, "MAX_SECONDS", 600.0)


@pytest.mark.parametrize("source", list(ATTACKS.values()), ids=list(ATTACKS))
def test_every_payload_is_stopped_within_its_budget(source):
    with pytest.raises(ExpressionError) as refused:
        render(source, {})
    assert not str(refused.value).startswith("Too slow"), refused.value  # the work count stopped it, not the clock
    assert sandbox.last_work() <= sandbox.MAX_WORK * 1.1


@pytest.mark.parametrize("name", [name for name in ATTACKS if "(issue)" in name])
def test_the_issues_payloads_are_refused_as_too_much_work(name):
    with pytest.raises(ExpressionError, match="^This text does too much work: "):
        render(ATTACKS[name], {})
    assert sandbox.MAX_WORK * 0.5 < sandbox.last_work() <= sandbox.MAX_WORK  # charged, and refused before passing it


def test_the_budget_is_a_count_of_work_and_small_texts_stay_far_below_it():
    assert render("Hi {{ name|title }}, you have {{ items|length }} items", {"name": "ann", "items": [1, 2]}) \
        == "Hi Ann, you have 2 items"
    assert 0 < sandbox.last_work() < sandbox.MAX_WORK / 1000
    names = {"positions": [{"title": f"Job {i}", "city": "Prague"} for i in range(200)]}
    assert evaluate("positions|selectattr('city', 'in', ['Prague', 'Brno'])|map(attribute='title')|sort|list"
                    "|length", names) == 200
    assert sandbox.last_work() < sandbox.MAX_WORK / 20


def test_a_lower_budget_stops_the_same_text_sooner(monkeypatch):
    source = "{% for i in range(100) %}{{ (range(1000)|list)|sort|first }}{% endfor %}"
    assert len(render(source, {})) == 100
    used = sandbox.last_work()
    monkeypatch.setattr(sandbox, "MAX_WORK", used // 2)
    with pytest.raises(ExpressionError, match="too much work: the filter (sort|list)|too much work: making a value"):
        render(source, {})
    assert sandbox.last_work() <= used // 2


def test_filters_called_by_name_from_map_and_select_are_charged():
    evaluate("items|map('upper')|list", {"items": ["a"] * 100})
    by_map = sandbox.last_work()
    evaluate("items|list", {"items": ["a"] * 100})
    assert by_map >= sandbox.last_work() + 100 * sandbox.CALL_COST  # each item went through the charged 'upper'
    evaluate("items|select('in', other)|list", {"items": list(range(100)), "other": list(range(1000))})
    assert sandbox.last_work() >= 100 * 2 * 1000  # each test scanned the list of 1,000


def test_a_bot_text_over_budget_is_logged_and_sent_as_empty():
    bot = index({"format": 1, "id": "b", "name": "B", "start": "s", "dialogs": [{"id": "s", "steps": [
        {"id": "m1", "type": "message", "text": "{{ " + ATTACKS["reject 'in' (issue)"][3:-3] + " }}"},
        {"id": "m2", "type": "message", "text": "still here"}]}]})
    result = engine.start(bot, {}, user={"id": "u", "channel": "test"}, now=datetime.now(UTC))
    errors = [entry["message"] for entry in result.logs if entry.get("kind") == "error"]
    assert any("This text does too much work" in message for message in errors), errors
    assert [activity.get("text") for activity in result.activities][-1] == "still here"
