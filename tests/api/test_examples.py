"""The example bots loaded by the run command."""

from __future__ import annotations

from pathlib import Path

from runtime.store import bots
from runtime.store.examples import import_examples

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_examples_are_imported_and_published_once(app):
    with app.app_context():
        assert import_examples(EXAMPLES) == ["jobs-crm", "lead-capture", "support"]
        assert all(bot.published_version == 1 for bot in bots.list_bots())
        assert import_examples(EXAMPLES) == []  # a second start leaves them (and any edits) alone
        assert [bot.published_version for bot in bots.list_bots()] == [1, 1, 1]
