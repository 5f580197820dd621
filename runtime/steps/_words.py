"""Words the step types share when they describe themselves to the designer: short summaries, the refusal
of a dialog that does not exist, and an empty field named by its label on screen."""

from __future__ import annotations

import re
import unicodedata


def short(text: object, size: int = 70) -> str:
    """One line of at most `size` characters, for a node in the tree."""
    text = " ".join(str(text or "").split())
    return text if len(text) <= size else text[: size - 1] + "…"


def unknown_dialog(name: object, dialogs: dict) -> str:
    known = ", ".join(list(dialogs)[:10])
    return f"There is no dialog '{name}'. Dialogs in this bot: {known}{'…' if len(dialogs) > 10 else ''}."


def blank(text: object) -> bool:
    return not str(text or "").strip()


def empty(label: str, fix: str) -> str:
    """The problem of a field a person left empty: what is empty, as the form calls it, and what to write."""
    return f"“{label}” is empty: {fix}"


# Words a question starts with that name nothing it asks about.
_FILLERS = frozenset("""a about also am an and any are at be but can choose could did do does for have how i in is it
like looking me my need of on one or our pick please select so that the there this to today us want was we were what
then when where which who why will with would you your now else""".split())


def name_from(question: object, taken: set[str]) -> str:
    """A storage name made from a question, for the answer kept without being asked where: "What are you
    interested in?" keeps its answer in `interest`; a name already taken gets a number (`interest_2`)."""
    words = re.findall(r"[a-z]+", unicodedata.normalize("NFKD", str(question or "")).encode("ascii", "ignore")
                       .decode().lower())
    word = next((w for w in words if w not in _FILLERS and len(w) > 1), "answer")
    if word.endswith("ed") and len(word) > 6:
        word = word[:-2]  # "interested" -> "interest": the thing, not the state
    name, n = word[:40], 2
    while name in taken:
        name, n = f"{word[:40]}_{n}", n + 1
    return name
