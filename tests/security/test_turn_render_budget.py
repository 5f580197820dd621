"""Issue 15, gap of hole 1: the render budget was per text, so a turn of many steps, each text just under the
budget, ran for the number of steps a turn may run (500) times the budget. The texts and conditions of one
turn now share `MAX_TURN_WORK` (`expressions.turn_budget`, entered by the engine for every turn); the next
turn starts with the whole budget again. Counted in units of work, without a clock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from runtime import engine
from runtime.botdoc import index
from runtime.expressions import render, sandbox
from runtime.steps.base import Input

HEAVY = "{{ (range(2000)|list)|sort|first }}{{ (range(2000)|list)|sort|last }}"
USER = {"id": "u", "channel": "test"}


@pytest.fixture
def used(monkeypatch) -> int:
    """The work of one HEAVY text; each text may do 1.5 times that, a turn 2.5 times."""
    monkeypatch.setattr(sandbox, "MAX_SECONDS", 600.0)
    render(HEAVY, {})
    one = sandbox.last_work()
    monkeypatch.setattr(sandbox, "MAX_WORK", one * 3 // 2)
    monkeypatch.setattr(sandbox, "MAX_TURN_WORK", one * 5 // 2)
    return one


def heavy_bot():
    steps = [{"id": f"m{i}", "type": "message", "text": HEAVY} for i in range(6)]
    again = [{**step, "id": f"again-{step['id']}"} for step in steps]
    question = {"id": "q", "type": "question", "text": "And?", "storage": "and"}
    return index({"format": 1, "id": "b", "name": "B", "start": "s",
                  "dialogs": [{"id": "s", "steps": [*steps, question, *again]}]})


def texts(result) -> list[str]:
    return [activity.get("text") for activity in result.activities if activity.get("type") == "message"]  # refused: ""


def test_the_texts_of_one_turn_share_one_budget(used):
    bot = heavy_bot()
    first = engine.start(bot, {}, user=USER, now=datetime.now(UTC))
    assert texts(first) == ["01999", "01999", "", "", "", "", "And?"]  # two texts fit in 2.5 texts' work

    errors = [entry["message"] for entry in first.logs if entry.get("kind") == "error"]
    assert len(errors) == 4 and all("This turn does too much work" in message for message in errors), errors
    assert f"past {sandbox.MAX_TURN_WORK:,} units of work" in errors[0]

    # The next turn has the whole budget again.
    second = engine.turn(bot, first.state, first.data, Input.message("go on"), user=USER, now=datetime.now(UTC))
    assert texts(second)[:3] == ["01999", "01999", ""]


def test_a_render_outside_a_turn_keeps_the_budget_of_one_text(used):
    for _ in range(4):  # the designer's preview of a text, an integration's parameters: each alone
        assert render(HEAVY, {}) == "01999"
        assert sandbox.last_work() == used
