"""The example bots a newcomer finds after the first start (examples/*.json in the repository), with their
conversation tests (examples/tests/<bot>/*.yaml)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from runtime.extensions import db
from runtime.store import bots, conversation_tests
from runtime.store.models import Bot


def import_examples(folder: Path) -> list[str]:
    """Import and publish every example bot that is not there yet; returns the ids imported.

    A bot already in the database is left alone, so edits made to an example survive restarts.
    Its conversation tests come along.
    """
    imported = []
    for path in sorted(folder.glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        if db.session.get(Bot, doc.get("id")) is None:
            bots.import_bot(doc, publish=True)
            conversation_tests.import_folder(doc["id"], folder / "tests" / doc["id"])
            imported.append(doc["id"])
    return imported


@cache
def example_ids(folder: Path) -> frozenset[str]:
    """The ids of the example bots shipped in `folder` (read once: the files come with the code)."""
    return frozenset(json.loads(path.read_text(encoding="utf-8")).get("id") for path in folder.glob("*.json"))
