"""faq: answer a free-text question from a list of questions and answers.

The user's text is matched against every question and its phrasings (`_faq_match`); the best
question at or above the step's threshold is answered, anything else goes to the bot's fallback, and
the step asks again. Every match, answered or not, is logged (`faq-match`) with the other candidates'
scores, for the fuzzy QA log and for learning from misses; a miss is an `nlp-miss` too (the NLP log holds
every input the bot did not understand, its best candidate as the intent).
"""

from __future__ import annotations

from rapidfuzz import utils

from . import _faq_match, schema
from .base import Context, Next, NotUnderstood, Outcome, Wait

TYPE = "faq"
TITLE = "Answer questions (FAQ)"
DESCRIPTION = "Answer what the user types from a list of questions, matched even when worded differently."
ABBREVIATION = "FAQ"  # the badge on its node in the tree
# A new step's values: ready to edit.
START = {"questions": [{"question": "When are you open?", "answer": "Every day from 9 to 5."}]}
# The form's labels (templates/designer/steps/faq.html shows them; problems name fields by them).
LABELS = {
    "text": "What the bot says first (optional)",
    "matcher": "How to compare",
    "threshold": "How close a typed question must be (0–100)",
    "storage": "Keep the matched question in (optional)",
}
SCHEMA = schema.step(TYPE, {
    "text": schema.TEMPLATE,
    "questions": {"type": "array", "minItems": 1, "maxItems": 5_000, "items": {
        "type": "object", "required": ["question", "answer"], "additionalProperties": False,
        "properties": {
            "id": {"type": "string", "maxLength": 64},
            "question": {"type": "string", "minLength": 1, "maxLength": 500},
            "phrasings": {"type": "array", "items": {"type": "string", "maxLength": 500}, "maxItems": 100},
            "answer": schema.TEMPLATE,
        },
    }},
    "matcher": {"enum": ["fuzzy", "semantic"], "default": "fuzzy",
                "description": "fuzzy: similar words (rapidfuzz); semantic: similar meaning (a sentence-embedding "
                               "model, needs the 'semantic' extra installed)."},
    "threshold": {"type": "number", "minimum": 0, "maximum": 100,
                  "description": "The lowest score (0-100) that counts as a match; default 75 (fuzzy), 40 (semantic)."},
    "storage": schema.NAME,
}, required=("questions",))

THRESHOLD = {"fuzzy": 75, "semantic": 40}  # cosine x 100: unrelated texts score 0-25 with MiniLM
OTHERS_LOGGED = 5  # candidates besides the best one kept in the log


def run(step: dict, ctx: Context) -> Outcome:
    if step.get("text"):
        ctx.emit({"type": "message", "text": ctx.render(step["text"]), "inputHint": "expectingInput"})
    return Wait()


def resume(step: dict, ctx: Context, memo: dict) -> Outcome:
    said = ctx.input.text if ctx.input.text is not None else ctx.input.value
    said = "" if said is None else str(said).strip()
    if not said:
        return NotUnderstood()  # nothing to match (an empty message or a bare button click): not worth a log line
    questions = step["questions"]
    ranking, matcher = _rank(step, said, ctx)
    threshold = step.get("threshold", THRESHOLD[matcher])
    best, score = ranking[0] if ranking else (None, 0.0)
    matched = best is not None and score >= threshold
    ctx.log({"kind": "faq-match", "text": said, "score": score, "matched": matched,
             "intent": intent(questions[best]) if best is not None else None,
             "others": [{"intent": intent(questions[i]), "score": s} for i, s in ranking[1:1 + OTHERS_LOGGED]]})
    if not matched:  # a miss is also an NLP-log row, as the nlpLog export holds every input not understood
        ctx.log({"kind": "nlp-miss", "query": said, "model": matcher,
                 "intent": intent(questions[best]) if best is not None else None,
                 "result": {"score": score, "threshold": threshold}})
        return NotUnderstood()
    question = questions[best]
    ctx.emit({"type": "message", "text": ctx.render(question["answer"])})
    if step.get("storage"):
        ctx.data[step["storage"]] = intent(question)
    return Next()


def intent(question: dict) -> str:
    """The name a question goes by in logs and storages: its id, or the question itself."""
    return question.get("id") or question["question"]


def _rank(step: dict, said: str, ctx: Context) -> tuple[_faq_match.Ranking, str]:
    """The questions ranked, and the matcher that ranked them (words, when the semantic one is missing)."""
    if step.get("matcher") == "semantic":
        try:
            return _faq_match.semantic(said, step["questions"], top=1 + OTHERS_LOGGED), "semantic"
        except ImportError:
            ctx.log({"kind": "error", "message": "Semantic FAQ matching needs the 'semantic' extra "
                                                 "(pip install 'arbor[semantic]'); matched by words instead."})
    return _faq_match.fuzzy(said, step["questions"], top=1 + OTHERS_LOGGED), "fuzzy"


def templates(step: dict):
    if step.get("text"):
        yield "/text", step["text"]
    for i, question in enumerate(step.get("questions", [])):
        yield f"/questions/{i}/answer", question.get("answer")


def texts(step: dict):
    yield "/text", step.get("text")
    for i, question in enumerate(step.get("questions", [])):
        yield f"/questions/{i}/question", question.get("question")
        yield f"/questions/{i}/answer", question.get("answer")


def writes(step: dict):
    if step.get("storage"):
        yield step["storage"]


def problems(step: dict, doc: dict, dialogs: dict):
    """A question asked twice (after normalizing case and punctuation) makes the answer a coin toss."""
    seen: dict[str, int] = {}
    ids: dict[str, int] = {}
    for i, question in enumerate(step["questions"]):
        if question.get("id"):
            if question["id"] in ids:
                yield (f"/questions/{i}/id", f"The question id '{question['id']}' is used twice (also by question "
                                             f"{ids[question['id']] + 1}); give each question its own id.")
            ids.setdefault(question["id"], i)
        texts = [("question", question["question"])]
        texts += [(f"phrasings/{j}", text) for j, text in enumerate(question.get("phrasings", []))]
        for suffix, text in texts:
            key = utils.default_process(text)
            if not key:
                yield (f"/questions/{i}/{suffix}", "This has no letters or digits to match; write it out or remove "
                                                   "it.", "warning")
                continue
            if key in seen:
                yield (f"/questions/{i}/{suffix}", f"'{text}' is asked twice (also in question {seen[key] + 1}); the "
                                                   "bot could not tell which answer to give. Remove one or merge the "
                                                   "questions.")
            seen.setdefault(key, i)
    if step.get("matcher") == "semantic" and not _faq_match.semantic_available():
        yield ("/matcher", "Semantic matching needs the 'semantic' extra installed (pip install 'arbor[semantic]'); "
                           "until then the FAQ is matched by words.", "warning")
