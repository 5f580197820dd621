"""FAQ matching over 1,000 questions (3 phrasings each): matches per second, printed, never asserted.

The FAQ is made up, as a real one reads: each phrasing a few of some 40 common words ("how", "my",
"order") and two or three of 3,000 topic words, so questions share their everyday words, not their subject.

    .venv/bin/python -m pytest tests/bench/test_bench_faq.py -m bench -s -q -p no:xdist
"""

from __future__ import annotations

import random
import time

import pytest

from runtime.steps import _faq_match

pytestmark = pytest.mark.bench

COMMON = ("how do i can you my the a is what when where order delivery refund return account password card "
          "payment shipping price change cancel track to for of in with your it get help need please").split()
SYLLABLES = "ka to ri mu se lo van der pex ul fin gor bas tel mi no ra".split()
QUESTIONS, WINDOW = 1000, 2.0


def faq(rng: random.Random) -> list[dict]:
    topics = list({"".join(rng.choices(SYLLABLES, k=rng.randint(2, 4))) for _ in range(3500)})[:3000]

    def sentence() -> str:
        return " ".join(rng.sample(COMMON, rng.randint(2, 5)) + rng.sample(topics, rng.randint(2, 3)))
    return [{"id": f"q{i}", "question": f"How do I {sentence()}?", "phrasings": [sentence(), sentence(), sentence()],
             "answer": "..."} for i in range(QUESTIONS)]


def test_faq_matches_per_second():
    rng = random.Random(7)
    questions = faq(rng)
    # Queries: half a known phrasing with a typo and reordered words, half text from no question.
    queries = []
    for i in range(500):
        words = rng.choice(questions)["phrasings"][0].split()
        rng.shuffle(words)
        queries.append(" ".join(words)[:-1] + "x" if i % 2 else "what is the weather like on mars today please")
    _faq_match.fuzzy(queries[0], questions)  # the normalized phrasings are prepared once per FAQ
    matched = done = 0
    started = time.perf_counter()
    while time.perf_counter() - started < WINDOW:
        ranking = _faq_match.fuzzy(queries[done % len(queries)], questions)
        matched += bool(ranking) and ranking[0][1] >= 75
        done += 1
    elapsed = time.perf_counter() - started
    assert matched > 0 and done > 0
    print(f"\n  FAQ of {QUESTIONS} questions x 4 phrasings (rapidfuzz, token_set + token_sort): "
          f"{done / elapsed:,.0f} matches/s ({elapsed / done * 1000:.2f} ms each; {matched / done:.0%} answered)")


@pytest.mark.skipif(not _faq_match.semantic_available(), reason="the semantic extra is not installed")
def test_semantic_faq_matches_per_second():
    rng = random.Random(7)
    questions = faq(rng)
    started = time.perf_counter()
    _faq_match.semantic("warm up", questions)  # loads the model and embeds the 4,000 phrasings once
    prepared = time.perf_counter() - started
    queries = [" ".join(rng.choice(questions)["phrasings"][0].split()[::-1]) for _ in range(50)]
    started = time.perf_counter()
    found = [_faq_match.semantic(query, questions) for query in queries]
    elapsed = time.perf_counter() - started
    assert all(found)
    print(f"\n  FAQ of {QUESTIONS} questions x 4 phrasings (semantic, all-MiniLM-L6-v2 on CPU): "
          f"{len(queries) / elapsed:,.0f} matches/s; model load + embedding the FAQ once: {prepared:.1f} s")
