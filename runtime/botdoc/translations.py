"""Translations: one tree of steps, its visible texts in several languages.

Why this shape. A bot names its `languages` (the first is the default, in which the steps are written) and
keeps every other language in one table beside the tree:

    "translations": {"cs": {"w1/text": "Ahoj {{ name }}!", "w3/options/0/title": "Půjčka"}}

A text's id is its step's id (stable across edits: the designer generates it, conversations and logs rely
on it) followed by the JSON Pointer of the field inside the step. So the tree and its forms stay as they
were (a field is still a string), one table is what a translator exports and imports, and a deleted step's
translations are found by a cheap lookup. `translationSources` keeps, per language and text id, a short hash
of the default text a translation was made from: when the default text changes (or options are reordered
under their positional ids), the translation is reported as possibly stale.

At run time nothing is looked up per text: `localized` builds, once per loaded bot and language, a copy of
each translated step with its texts replaced, and the engine hands the executor that copy. A turn in any
language costs what a turn in the default language costs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence

from babel import Locale, UnknownLocaleError, negotiate_locale

from runtime import expressions
from runtime.steps import TEXTS

from . import walk
from .problems import Problem, pointer

LANGUAGE_PATTERN = r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$"
TEXT_ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}/.{1,200}$"


def languages(doc: dict) -> list[str]:
    """The bot's languages, the default first (a format 2 document always names at least one)."""
    return list(doc.get("languages") or ["en"])


def source_hash(text: str) -> str:
    """A short fingerprint of a default text, kept beside a translation to tell when it went stale."""
    return hashlib.sha1(text.encode()).hexdigest()[:8]


def texts(doc: dict, steps: Iterable[tuple[str, dict, int]] | None = None) -> Iterator[tuple[str, str, str]]:
    """(text id, JSON Pointer, default text) of every text a visitor sees, in document order (`steps` as
    `walk.steps` gives them, when the caller has walked the document already)."""
    for where, step, _ in walk.steps(doc) if steps is None else steps:
        for text_id, suffix, source in step_texts(step):
            yield text_id, where + suffix, source


def step_texts(step: dict) -> Iterator[tuple[str, str, str]]:
    """(text id, JSON Pointer inside the step, default text) of the texts of one step a visitor sees."""
    fields = TEXTS.get(step.get("type"))
    for suffix, source in fields(step) if fields else ():
        if isinstance(source, str) and source.strip():
            yield step["id"] + suffix, suffix, source


def split_id(text_id: str) -> tuple[str, list[str | int]]:
    """A text id as (step id, path inside the step); list indexes as ints."""
    step_id, _, rest = text_id.partition("/")
    return step_id, [int(p) if p.isdigit() else p.replace("~1", "/").replace("~0", "~") for p in rest.split("/")]


def localized(steps: dict[str, dict], table: dict[str, str]) -> dict[str, dict]:
    """Every step by id, the translated ones as copies with their texts in the language of `table`.

    An option or button with no `value` answers with its title; its copy gets the default title as its
    value, so what a visitor picks is stored the same in every language.
    """
    result = dict(steps)
    for text_id, text in table.items():
        step_id, path = split_id(text_id)
        if not text or step_id not in steps:
            continue
        result[step_id] = _put(result[step_id], path, text)
    return result


def _put(step: dict, path: list[str | int], text: str) -> dict:
    """The step with a text written at a path: the step and the lists and objects on the way are copied,
    everything else (child steps, other options) is shared with the default's. A path that no longer fits
    the step leaves it as it was."""
    top: dict = dict(step)
    here: object = top
    for key in path[:-1]:
        try:
            child = here[key]  # type: ignore[index]
        except (KeyError, IndexError, TypeError):
            return step
        if not isinstance(child, (dict, list)):
            return step
        child = dict(child) if isinstance(child, dict) else list(child)
        here[key] = child  # type: ignore[index]
        here = child
    last = path[-1]
    if not isinstance(here, dict) or not isinstance(here.get(last), str):
        return step
    if last == "title" and len(path) > 2 and path[-3] in ("options", "buttons") and not {"value", "url"} & here.keys():
        here["value"] = here["title"]
    here[last] = text
    return top


def negotiate(preferred: Iterable[str | None], available: Sequence[str]) -> str | None:
    """The bot's language that best fits what a visitor prefers ("cs-CZ" gets "cs"), or None (Babel)."""
    wanted = [str(p).strip().replace("_", "-") for p in preferred if p and str(p).strip()]
    return negotiate_locale(wanted, list(available), sep="-") if wanted else None


def language_name(tag: str, *, in_language: str = "en") -> str:
    """A language's name as people know it ("Czech"), or the tag when Babel does not know it."""
    try:
        return Locale.parse(tag, sep="-").get_display_name(in_language) or tag
    except (UnknownLocaleError, ValueError):
        return tag


def placeholders_differ(source: str, text: str) -> str | None:
    """Why a translation's `{{ name }}` placeholders do not match its default text's, or None when they do."""
    try:
        wanted, found = expressions.template_names(source), expressions.template_names(text)
    except expressions.ExpressionError:  # a template that does not compile is reported on its own
        return None
    if wanted == found:
        return None
    def listed(names: set[str]) -> str:
        return ", ".join(f"{{{{ {name} }}}}" for name in sorted(names))

    parts = []
    if wanted - found:
        parts.append(f"lacks {listed(wanted - found)}")
    if found - wanted:
        parts.append(f"has {listed(found - wanted)}, which the default text has not")
    return "The translation " + " and ".join(parts) + "."


def check(doc: dict, steps: Iterable[tuple[str, dict, int]] | None = None) -> list[Problem]:
    """Translations a visitor would miss or that no longer fit: warnings, but for broken templates. A bot of
    one language with no translations has nothing to check (and is not walked again)."""
    langs = languages(doc)
    if len(langs) == 1 and not doc.get("translations"):
        return []
    default, known = langs[0], {text_id: source for text_id, _, source in texts(doc, steps)}
    table = doc.get("translations") or {}
    sources = doc.get("translationSources") or {}
    problems = []
    for language, entries in table.items():
        where = pointer(("translations", language))
        if language == default or language not in langs:
            why = "is the default language; its texts are the steps' own" if language == default else \
                "is not among the bot's languages"
            problems.append(Problem(where, f"'{language}' {why}: these translations are never shown. "
                                           "Remove them, or add the language.", "warning"))
            continue
        for text_id, text in entries.items():
            place = pointer(("translations", language, text_id))
            if text_id not in known:
                problems.append(Problem(place, f"There is no text '{text_id}' (was its step deleted?); "
                                               "remove this translation.", "warning"))
                continue
            if "{" in text:
                _, error = expressions.template_reads(text)
                if error is not None:
                    problems.append(Problem(place, error))
                    continue
            differ = placeholders_differ(known[text_id], text) if "{" in text + known[text_id] else None
            if differ:
                problems.append(Problem(place, differ, "warning"))
            recorded = sources.get(language, {}).get(text_id)
            if text and recorded and recorded != source_hash(known[text_id]):
                problems.append(Problem(place, f"The {language_name(default)} text changed since this was "
                                               "translated; check the translation.", "warning"))
    for language in langs[1:]:
        entries = table.get(language) or {}
        missing = sum(1 for text_id in known if not entries.get(text_id))
        if missing:
            problems.append(Problem(pointer(("translations", language)),
                                    f"{missing} of {len(known)} texts have no {language_name(language)} "
                                    f"translation; they are shown in {language_name(default)}.", "warning"))
    return problems
