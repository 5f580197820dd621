"""The format chain: a document names its `format`; older formats are upgraded on load, in order."""

from __future__ import annotations

from collections.abc import Callable

from .problems import DocumentError, Problem

CURRENT_FORMAT = 3


def _from_0(doc: dict) -> dict:
    """Format 0 (documents from before formats were numbered) kept dialogs as a map keyed by id."""
    dialogs = doc.get("dialogs")
    if isinstance(dialogs, dict):
        doc["dialogs"] = [{"id": key, **value} if isinstance(value, dict) else value
                          for key, value in dialogs.items()]
    return doc


def _from_1(doc: dict) -> dict:
    """Format 1 named one `locale`; format 2 names the bot's `languages`, the default first."""
    locale = doc.get("locale")
    languages = [locale if isinstance(locale, str) and locale else "en"]
    upgraded = {}
    for key, value in doc.items():  # where `locale` was, or after `name`: where people look for it
        if key != "locale":
            upgraded[key] = value
        if key == ("locale" if "locale" in doc else "name"):
            upgraded["languages"] = languages
    upgraded.setdefault("languages", languages)
    return upgraded


def _from_2(doc: dict) -> dict:
    """Format 2 let an integration step say `timing: "background"`, which ran as `async`; format 3 says so.

    In the API book a call "on background" is not a way to make one call: the data is downloaded ahead of
    time (a periodic pull, a push, a pull on change) into the bot's database and a step reads it there,
    filtering by tags or distance. That is a dataset and the `dataset-query` step, so the integration step
    keeps `sync` and `async` only. The containers on the way to each changed step are copied, not changed in
    place. Migrations run before validation, so any shape is walked (without recursion: branches nest deep).
    """
    changed, todo = [], [((), doc.get("dialogs"))]
    while todo:
        path, node = todo.pop()
        if isinstance(node, dict) and node.get("type") == "integration" and node.get("timing") == "background":
            changed.append(path)
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        todo.extend(((*path, key), child) for key, child in items if key != "params")  # an integration's input
    copies: set[int] = set()
    for path in changed:
        node = doc
        for key in ("dialogs", *path):
            child = node[key]
            if id(child) not in copies:
                child = list(child) if isinstance(child, list) else dict(child)
                node[key] = child
                copies.add(id(child))
            node = child
        node["timing"] = "async"
    return doc


MIGRATIONS: dict[int, Callable[[dict], dict]] = {0: _from_0, 1: _from_1, 2: _from_2}


def migrate(doc: dict) -> dict:
    """Return the document in the current format; a copy when anything had to change.

    Migrations replace top-level values only, never change nested ones in place, so the copy is shallow:
    a deep copy would cost a walk of the whole tree (and overflow the stack on one nested deep).
    """
    found = doc.get("format", 0)
    if isinstance(found, bool) or not isinstance(found, int) or found < 0:
        raise DocumentError([Problem("/format", f"'format' must be a whole number such as "
                                                f"{CURRENT_FORMAT}; found {found!r}.")])
    if found > CURRENT_FORMAT:
        raise DocumentError([Problem("/format", f"This bot was made by a newer Arbor (format {found}); "
                                                f"this one reads formats up to {CURRENT_FORMAT}.")])
    if found == CURRENT_FORMAT:
        return doc
    doc = dict(doc)
    for step in range(found, CURRENT_FORMAT):
        doc = MIGRATIONS[step](doc)
        doc["format"] = step + 1
    return doc
