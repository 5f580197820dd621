"""The gallery a new bot starts from: a blank bot and the example bots (examples/*.json), each a working bot
with its conversation tests (examples/tests/<example>/*.yaml), shown as cards with one line saying what it is."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from flask import current_app

from designer.tree import new_id
from runtime import botdoc
from runtime.store import conversation_tests

BLANK = ""
BLANK_GREETING = "Hello! How can I help you?"
BLANK_TEST = f"name: The bot says hello\nsteps:\n  - bot: {BLANK_GREETING}\n"
# The gallery's order and words; an example not named here comes after them, described by its size.
WORDS = {
    BLANK: ("Blank", "One dialog that says hello: build the rest yourself."),
    "lead-capture": ("Lead capture", "Asks what brings a visitor and how to reach them (an e-mail asked again "
                                     "when mistyped), and sorts them by company size."),
    "faq": ("FAQ", "Answers typed questions from a list, even when they are worded differently."),
    "support": ("Support", "Tracks an order, opens it on the page and answers in English or Czech."),
    "booking": ("Booking", "Books an appointment: a service, a day, a time and a phone number to confirm it."),
}


@dataclass(frozen=True)
class Card:
    key: str
    title: str
    description: str
    doc: dict | None  # None for the blank bot


def folder() -> Path:
    return Path(current_app.root_path) / "examples"


def examples() -> dict[str, dict]:
    """The example bots (examples/*.json) by file name."""
    found = {}
    for path in sorted(folder().glob("*.json")):
        try:
            found[path.stem] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
    return found


def cards() -> list[Card]:
    """The gallery: blank first, then the examples in WORDS' order, then any other example."""
    found = examples()
    order = [key for key in WORDS if key == BLANK or key in found] + sorted(found.keys() - WORDS.keys())
    shown = []
    for key in order:
        doc = found.get(key)
        title, description = WORDS.get(key) or (doc.get("name") or key,
                                                f"An example with {len(doc.get('dialogs', []))} dialogs to learn from.")
        shown.append(Card(key, title, description, doc))
    return shown


def document(example: str, bot_id: str, name: str) -> dict:
    """The new bot's document: a copy of the example, or the blank bot (one dialog that says hello)."""
    doc = examples().get(example)
    if doc is not None:
        return {**doc, "id": bot_id, "name": name}
    return {"format": botdoc.CURRENT_FORMAT, "id": bot_id, "name": name, "languages": ["en"], "start": "welcome",
            "dialogs": [{"id": "welcome", "title": "Welcome", "steps": [
                {"id": new_id({"welcome"}, "message"), "type": "message", "text": BLANK_GREETING}]}]}


def import_tests(example: str, bot_id: str) -> list[str]:
    """Give a new bot the conversation tests of the example it was made from (the blank bot's: that it says
    hello); returns their names."""
    if example == BLANK or example not in examples():
        conversation_tests.save_test(bot_id, "says-hello", BLANK_TEST)
        return ["says-hello"]
    return conversation_tests.import_folder(bot_id, folder() / "tests" / example)
