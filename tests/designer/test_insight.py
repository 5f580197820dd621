"""Analytics, transcript search, CSV and learning from misses, over conversations run through the real store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from golden import load_doc
from sqlalchemy import select

from runtime.botdoc import DocumentError
from runtime.extensions import db
from runtime.insight import analytics, misses, reach, transcripts
from runtime.insight.period import Period
from runtime.steps.base import Input
from runtime.store import bots as store
from runtime.store.models import NlpLogEntry, StepDay, StepVisit
from runtime.turns.turn import handle, start_conversation

# Counts go by day: the clock stands at noon of a fixed day, so no run sees the date change under it.
NOON = datetime(2026, 11, 20, 12, tzinfo=UTC)
TODAY = NOON.date()
MONTH = Period.last_days(30, TODAY)
CLOCK_START = NOON
pytestmark = pytest.mark.usefixtures("clock")


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield


def chat(bot: str, user: str, *said: str) -> str:
    conversation, _ = start_conversation(bot, user, "webchat")
    for text in said:
        handle(conversation.id, Input.message(text))
    return conversation.id


@pytest.fixture
def leads(bots, ctx):
    bots.load("lead-capture")
    chat("lead-capture", "eva", "Book a demo", "Eva", "eva@example.com", "12")  # done: the end step
    chat("lead-capture", "adam", "Book a demo", "Adam")  # stopped at the e-mail question
    chat("lead-capture", "zoe", "pizza", "PIZZA ", "pricing")  # stopped at the first choice


def test_tree_counts_show_reach_and_where_users_stopped(leads):
    counts = reach.tree_counts("lead-capture", MONTH)
    assert counts["lc-w3"].reached == 3 and counts["lc-w3"].stopped == 1
    assert counts["lc-c1"].reached == 2 and counts["lc-c1"].stopped == 0
    assert (counts["lc-c2"].reached, counts["lc-c2"].stopped, counts["lc-c2"].drop_off) == (2, 1, 0.5)
    assert (counts["lc-c9"].reached, counts["lc-c9"].stopped) == (1, 0)
    assert "lc-p1" not in counts  # nobody saw the plans
    rows = analytics.tree("lead-capture", MONTH)
    assert rows[0] == {"step": "lc-w1", "reached": 3, "stopped": 0, "dropOff": 0.0}
    assert {"step": "lc-c2", "reached": 2, "stopped": 1, "dropOff": 0.5} in rows


def test_complete_days_are_rolled_up_once_and_read_from_the_rollup(leads):
    yesterday = TODAY - timedelta(days=1)
    at = datetime.combine(yesterday, datetime.min.time(), UTC) + timedelta(hours=12)
    db.session.add_all([StepVisit(bot_id="lead-capture", conversation_id=c, step_id=s, at=at)
                        for c, s in (("old1", "lc-w1"), ("old1", "lc-w1"), ("old2", "lc-w1"), ("old2", "lc-p1"))])
    db.session.commit()
    counts = reach.reach("lead-capture", MONTH)
    assert (counts["lc-w1"], counts["lc-p1"]) == (3 + 2, 1)  # one conversation counts once a day
    rolled = {(r.day, r.step_id): r.conversations for r in db.session.scalars(select(StepDay))}
    assert rolled == {(yesterday, "lc-w1"): 2, (yesterday, "lc-p1"): 1}  # today is never rolled up
    assert reach.reach("lead-capture", Period(yesterday, yesterday))["lc-w1"] == 2
    assert db.session.scalar(select(StepDay.conversations).where(StepDay.step_id == "lc-w1")) == 2


def test_conversations_per_day_and_goal_completion(leads):
    days = analytics.conversations_per_day("lead-capture", MONTH)
    assert len(days) == 30 and days[-1] == {"day": TODAY.isoformat(), "conversations": 3}
    assert sum(d["conversations"] for d in days[:-1]) == 0
    assert analytics.goal_completion("lead-capture", "lc-c8", MONTH) == {
        "goal": "lc-c8", "conversations": 3, "reached": 1, "rate": 0.3333}


def test_a_period_with_no_data_gives_zeros_and_a_wrong_period_a_clear_error(leads):
    empty = Period(TODAY - timedelta(days=60), TODAY - timedelta(days=31))
    assert reach.tree_counts("lead-capture", empty) == {}
    assert analytics.goal_completion("lead-capture", "lc-c8", empty)["rate"] == 0.0
    assert {d["conversations"] for d in analytics.conversations_per_day("lead-capture", empty)} == {0}
    assert analytics.top_nlp_misses("lead-capture", empty) == []
    assert analytics.tree("nobody", MONTH) == []
    with pytest.raises(ValueError, match="ends .* before it starts"):
        Period(TODAY, TODAY - timedelta(days=1))
    with pytest.raises(ValueError, match="at most 366 days"):
        Period(TODAY - timedelta(days=400), TODAY)


def test_top_nlp_misses_group_the_same_text(leads):
    top = analytics.top_nlp_misses("lead-capture", MONTH)
    assert [(m["text"], m["count"], m["step"]) for m in top] == [("pizza", 2, "lc-w3"), ("pricing", 1, "lc-w3")]
    assert analytics.csv_text(top, ["text", "count"]) == "text,count\npizza,2\npricing,1\n"


def test_transcripts_are_found_by_user_storage_and_text(leads):
    def users(**kwargs):
        return sorted(row["user"] for row in transcripts.search("lead-capture", **kwargs))

    assert users(user="ev") == ["eva"]
    assert users(storage=("email", "eva@example.com")) == ["eva"]
    assert users(storage=("companySize", "12")) == ["eva"]
    assert users(text="pizza") == ["zoe"]
    assert users(text="YOUR E-MAIL") == ["adam", "eva"]  # what the bot said counts too, in any case
    assert users(text="100%") == [] and users(text="_") == []
    assert users(text="Thanks", user="adam", period=MONTH) == ["adam"]
    conversation = transcripts.search("lead-capture", user="adam")[0]["conversation"]
    rows = transcripts.lines(conversation)
    assert [(r["from"], r["text"]) for r in rows][-2:] == [("user", "Adam"), ("bot", "Thanks, Adam. Your e-mail?")]
    assert analytics.csv_text(rows).startswith("time,from,type,text,delivery\n")


def test_a_missed_text_is_learnt_as_an_option_phrasing(leads):
    found = misses.list_misses("lead-capture")
    assert [(m.kind, m.text) for m in found] == [("nlp", "pricing"), ("nlp", "PIZZA "), ("nlp", "pizza")]
    pricing = found[0]
    draft = misses.learn("lead-capture", "nlp", pricing.id, target=0)
    assert draft["dialogs"][0]["steps"][2]["options"][0]["phrasings"] == ["pricing"]
    assert [m.text for m in misses.list_misses("lead-capture")] == ["PIZZA ", "pizza"]
    assert misses.dismiss("lead-capture", "nlp", found[2].id) == 2  # the same text, any case, at the same step
    assert misses.list_misses("lead-capture") == []
    store.publish("lead-capture")
    conversation = chat("lead-capture", "new", "Pricing")
    assert db.session.scalar(select(NlpLogEntry).where(NlpLogEntry.conversation_id == conversation)) is None
    assert transcripts.lines(conversation)[-1]["text"] == "Our plans:"


def test_learning_refuses_what_the_bot_cannot_use(leads):
    pricing = misses.list_misses("lead-capture")[0]
    with pytest.raises(misses.MissError, match="no option number 7"):
        misses.learn("lead-capture", "nlp", pricing.id, target=7)
    with pytest.raises(misses.MissError, match="is a question step; phrasings belong to choice and faq"):
        misses.learn("lead-capture", "nlp", pricing.id, target=0, step_id="lc-c1")
    with pytest.raises(misses.MissError, match="has no nlp miss 9999"):
        misses.learn("lead-capture", "nlp", 9999, target=0)
    misses.learn("lead-capture", "nlp", pricing.id, target=0)
    with pytest.raises(DocumentError, match="already said by an option"):  # now option 0 says it
        misses.learn("lead-capture", "nlp", _same_text_miss("lead-capture", "pricing"), target=1)


def _same_text_miss(bot: str, text: str) -> int:
    row = NlpLogEntry(bot_id=bot, user_id="u", conversation_id="c", step_id="lc-w3", dialog_id="welcome", query=text)
    db.session.add(row)
    db.session.commit()
    return row.id


def test_a_low_score_faq_match_is_learnt_as_a_question_phrasing(bots, ctx):
    bots.load("faq-shop")
    chat("faq-shop", "u1", "when do u guys close")
    [miss] = misses.list_misses("faq-shop")
    assert miss.kind == "faq" and miss.text == "when do u guys close" and miss.score < 75
    assert miss.candidates[0]["intent"] in {"hours", "shipping", "returns"}
    misses.learn("faq-shop", "faq", miss.id, target=0)
    assert load_doc("faq-shop")["dialogs"][0]["steps"][0]["questions"][0]["phrasings"] + ["when do u guys close"] == \
        store.get_version_doc("faq-shop", store.DRAFT)["dialogs"][0]["steps"][0]["questions"][0]["phrasings"]
    store.publish("faq-shop")
    conversation = chat("faq-shop", "u2", "When do u guys close?")
    assert transcripts.lines(conversation)[2]["text"] == "We are open 9 to 17, Monday to Friday."
    assert misses.list_misses("faq-shop") == []
