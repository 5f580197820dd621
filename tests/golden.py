"""The golden bots tests run: tests/fixtures/bots/*.json and the example bots of the repository."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load_doc(name: str) -> dict:
    """A golden bot: tests/fixtures/bots/<name>.json or examples/<name>.json."""
    for folder in (ROOT / "tests" / "fixtures" / "bots", ROOT / "examples"):
        if (folder / f"{name}.json").exists():
            return json.loads((folder / f"{name}.json").read_text())
    raise FileNotFoundError(name)
