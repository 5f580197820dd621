"""The example bots a newcomer finds after the first start (examples/*.json in the repository)."""

from __future__ import annotations

import json
from pathlib import Path

from runtime.extensions import db
from runtime.store import bots
from runtime.store.models import Bot


def import_examples(folder: Path) -> list[str]:
    """Import and publish every example bot that is not there yet; returns the ids imported.

    A bot already in the database is left alone, so edits made to an example survive restarts.
    """
    imported = []
    for path in sorted(folder.glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        if db.session.get(Bot, doc.get("id")) is None:
            bots.import_bot(doc, publish=True)
            imported.append(doc["id"])
    return imported
