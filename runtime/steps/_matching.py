"""Match what a user typed or clicked against a step's options: value, title, then a close typo."""

from __future__ import annotations

import unicodedata

from rapidfuzz import fuzz, process, utils

from .base import Input

FUZZY_CUTOFF = 80


def fold(text: str) -> str:
    """Lower case, punctuation and accents dropped: people type "pujcku" for "Půjčku", "uber" for "über"."""
    decomposed = unicodedata.normalize("NFKD", utils.default_process(text))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def match(inp: Input, options: list[tuple[str, str]], phrasings: list[list[str]] | None = None) -> int | None:
    """Index of the (value, title) option the input means, or None.

    A postback value or text equal to a value wins; then a title typed by hand (any case), or one of
    the option's `phrasings` (other ways users say it, learnt from misses); then a close typo of any of
    them, but only when one option is clearly the closest, so "yes"/"yet" never guesses.
    """
    phrasings = phrasings or [[] for _ in options]
    for said in (inp.value, inp.text):
        if said is None:
            continue
        said = str(said).strip()
        for i, (value, _) in enumerate(options):
            if said == value:
                return i
        folded = fold(said)
        hits = [i for i, (value, title) in enumerate(options)
                if folded in (fold(title), fold(value)) or folded in (fold(p) for p in phrasings[i])]
        if len(hits) == 1:
            return hits[0]
    if not inp.text or not inp.text.strip():
        return None
    labels = {}
    for i, (value, title) in enumerate(options):
        labels[f"{i}:t"] = title
        labels[f"{i}:v"] = value
        for j, phrasing in enumerate(phrasings[i]):
            labels[f"{i}:p{j}"] = phrasing
    found = process.extract(inp.text, labels, scorer=fuzz.QRatio, processor=fold,
                            score_cutoff=FUZZY_CUTOFF, limit=None)
    indexes = {int(key.split(":")[0]) for _, score, key in found if score >= found[0][1] - 5} if found else set()
    return indexes.pop() if len(indexes) == 1 else None
