"""Jobs the queue tests enqueue by dotted path: they leave a trace the test can read."""

from __future__ import annotations

from pathlib import Path

from flask import current_app

from runtime.jobs import in_app


@in_app
def note(text: str) -> str:
    """Append `text` to notes.txt in the app's data folder: proof the job ran, in that app's context."""
    with (Path(current_app.config["ARBOR_DATA"]) / "notes.txt").open("a") as notes:
        notes.write(text + "\n")
    return text
