"""A database that does not answer, for real: the test's SQLite file moved away (SQLite pass only), so the next
connection cannot open it; put back on leaving. The faults suite (tests/faults/) stops a real PostgreSQL."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask

from runtime.extensions import db


@contextmanager
def database_away(app: Flask, folder: Path, postgres) -> Iterator[None]:
    """While inside, `app`'s SQLite database (in `folder`, the test's ARBOR_DATA) cannot be opened."""
    if postgres is not None:
        pytest.skip("the SQLite file is the database only in the SQLite pass")
    with app.app_context():
        db.engine.dispose()  # the next request opens the file again, and finds it gone
    away = folder.with_name(folder.name + "-away")
    shutil.move(folder, away)
    try:
        yield
    finally:
        with app.app_context():
            db.engine.dispose()
        shutil.move(away, folder)
