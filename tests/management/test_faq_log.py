"""FAQ matches reach the fuzzy QA log, and the steps a turn ran reach the step visits, through the store."""

from __future__ import annotations

import json

import pytest
from management import make_key
from sqlalchemy import select

from runtime.extensions import db
from runtime.steps.base import Input
from runtime.store.models import FuzzyQaLogEntry, StepVisit
from runtime.turns.turn import handle, start_conversation


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield


def test_every_faq_match_is_written_with_its_candidates(bots, ctx):
    bots.load("faq-shop")
    conversation, _ = start_conversation("faq-shop", "u1", "webchat")
    handle(conversation.id, Input.message("delivery price?"))
    handle(conversation.id, Input.message("do you sell bikes"))
    answered, missed = db.session.scalars(select(FuzzyQaLogEntry).order_by(FuzzyQaLogEntry.id)).all()
    assert (answered.bot_id, answered.user_id, answered.conversation_id) == ("faq-shop", "u1", conversation.id)
    assert (answered.intent, answered.matched, answered.text, answered.step_id, answered.dialog_id) == (
        "shipping", True, "delivery price?", "f1", "welcome")
    assert answered.score == 100 and answered.processed is False and answered.timestamp is not None
    assert {c["intent"] for c in answered.other_classifications} == {"returns", "hours"}
    assert all(0 <= c["score"] < 100 for c in answered.other_classifications)
    assert missed.matched is False and missed.score < 75 and missed.text == "do you sell bikes"


def test_each_step_a_turn_ran_is_a_visit_once(bots, ctx):
    bots.load("faq-shop")
    conversation, _ = start_conversation("faq-shop", "u1", "webchat")
    handle(conversation.id, Input.message("refund"))
    visits = db.session.execute(select(StepVisit.step_id, StepVisit.conversation_id).order_by(StepVisit.id)).all()
    # the start runs f1, which waits; the turn resumes f1 (an answer), then runs f2, f3 and f1 again
    assert [v.step_id for v in visits] == ["f1", "f2", "f3", "f1"]
    assert {v.conversation_id for v in visits} == {conversation.id}


def test_the_log_is_exported_as_the_fuzzy_question_answer_log(app, bots, client):
    bots.load("faq-shop")
    with app.app_context():
        conversation, _ = start_conversation("faq-shop", "u1", "webchat")
        handle(conversation.id, Input.message("refund"))
    key = make_key(app, "faq-shop")
    [row] = client.get(f"/b/faq-shop/api/management/export/fuzzyQuestionAnswerLog?code={key}").json
    assert {k: row[k] for k in ("userId", "intent", "score", "text", "stepId", "dialogId", "matched")} == {
        "userId": "u1", "intent": "returns", "score": 100.0, "text": "refund", "stepId": "f1", "dialogId": "welcome",
        "matched": True}
    assert {c["intent"] for c in row["otherClassifications"]} == {"hours", "shipping"}


def test_matched_is_a_json_boolean_in_the_export(app, bots, client):
    """`matched` is `true`/`false` in the JSON on every database (SQLite stores 1/0)."""
    bots.load("faq-shop")
    with app.app_context():
        conversation, _ = start_conversation("faq-shop", "u1", "webchat")
        handle(conversation.id, Input.message("refund"))
        handle(conversation.id, Input.message("do you sell bikes"))
    key = make_key(app, "faq-shop")
    body = client.get(f"/b/faq-shop/api/management/export/fuzzyQuestionAnswerLog?code={key}").get_data(as_text=True)
    assert [row["matched"] for row in json.loads(body)] == [True, False]
    assert '"matched":true' in body and '"matched":false' in body


def test_the_nlp_log_holds_faq_misses_and_answers_a_question_reasked_for(app, bots, client):
    bots.load("faq-shop")
    bots.load("store-basics")
    with app.app_context():
        faq, _ = start_conversation("faq-shop", "u1", "webchat")
        handle(faq.id, Input.message("do you sell bikes"))
        question, _ = start_conversation("store-basics", "u2", "webchat")
        handle(question.id, Input.message("not an address"))
        handle(question.id, Input.message("eva@example.com"))
    [miss] = client.get(f"/b/faq-shop/api/management/export/nlpLog?code={make_key(app, 'faq-shop')}").json
    assert {k: miss[k] for k in ("userId", "dialogId", "stepId", "stepType", "query", "modelId")} == {
        "userId": "u1", "dialogId": "welcome", "stepId": "f1", "stepType": "faq", "query": "do you sell bikes",
        "modelId": "fuzzy"}
    assert miss["intent"] in {"hours", "shipping", "returns"} and miss["result"]["score"] < 75
    assert miss["result"]["threshold"] == 75 and miss["processed"] is False
    [reasked] = client.get(f"/b/store-basics/api/management/export/nlpLog?code={make_key(app, 'store-basics')}").json
    assert {k: reasked[k] for k in ("userId", "stepId", "stepType", "query", "modelId", "intent", "result")} == {
        "userId": "u2", "stepId": "sb-w2", "stepType": "question", "query": "not an address", "modelId": "validation",
        "intent": "email", "result": {"retries": 1, "reasked": True}}


def test_misses_to_learn_from_are_not_listed_twice(app, bots, ctx):
    """A FAQ miss is in both logs; the misses to learn from list it once, and not a question's re-ask."""
    from runtime.insight.misses import list_misses

    bots.load("faq-shop")
    bots.load("store-basics")
    conversation, _ = start_conversation("faq-shop", "u1", "webchat")
    handle(conversation.id, Input.message("do you sell bikes"))
    other, _ = start_conversation("store-basics", "u2", "webchat")
    handle(other.id, Input.message("not an address"))
    assert [(m.kind, m.text) for m in list_misses("faq-shop")] == [("faq", "do you sell bikes")]
    assert list_misses("store-basics") == []
