"""Insight split by the visitor's language: conversations per language, the tree and a goal in one language,
the page's language filter and its CSV."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from designer_client import Designer

from runtime.insight import analytics, reach
from runtime.insight.period import Period
from runtime.steps.base import Input
from runtime.turns.turn import handle, start_conversation

NOON = datetime(2026, 11, 20, 12, tzinfo=UTC)
MONTH = Period.last_days(30, NOON.date())
CLOCK_START = NOON
pytestmark = pytest.mark.usefixtures("clock")


@pytest.fixture
def talked(app, bots):
    bots.load("polyglot")
    with app.app_context():
        for user, language, said in (("eva", "cs", ["Čaj"]), ("jan", "cs", []), ("tom", None, ["Tea"]),
                                     ("uwe", "de", ["Kaffee"])):
            conversation, _ = start_conversation("polyglot", user, "webchat",
                                                 languages=[language] if language else None)
            for text in said:
                handle(conversation.id, Input.message(text))


def test_conversations_reach_and_goal_per_language(app, talked):
    with app.app_context():
        assert analytics.conversations_per_language("polyglot", MONTH, "en") == [
            {"language": "cs", "conversations": 2}, {"language": "de", "conversations": 1},
            {"language": "en", "conversations": 1}]
        czech = reach.Language("cs", "en")
        counts = reach.tree_counts("polyglot", MONTH, language=czech)
        assert (counts["h2"].reached, counts["h2"].stopped) == (2, 1) and counts["h5"].reached == 1
        assert analytics.goal_completion("polyglot", "h5", MONTH, language=czech) == {
            "goal": "h5", "conversations": 2, "reached": 1, "rate": 0.5}
        assert analytics.goal_completion("polyglot", "h5", MONTH)["reached"] == 3  # every language


def test_the_insight_page_splits_by_language(app, client, talked):
    designer = Designer(app, client).sign_in()
    page = designer.client.get("/designer/bots/polyglot/insight?language=de&goal=h5")
    assert page.status_code == 200 and 'data-testid="per-language"' in page.text
    assert '<option value="de" selected>de</option>' in page.text
    assert "1 of 1 conversations reached step" in page.text
    exported = designer.client.get("/designer/bots/polyglot/insight/languages.csv")
    assert exported.status_code == 200 and exported.text.splitlines()[:2] == ["language,conversations", "cs,2"]
    assert designer.client.get("/designer/bots/polyglot/insight?language=xx").status_code == 200  # not a split
