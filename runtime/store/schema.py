"""The database schema at start-up: SQLite tuned for concurrent turns, Alembic migrations applied once.

Several processes may start at once (gunicorn workers, RQ workers): a lock makes one of them migrate
while the others wait, then find nothing left to do.
"""

from __future__ import annotations

import fcntl
import sqlite3
from contextlib import contextmanager
from pathlib import Path

import flask_migrate
from flask import Flask
from sqlalchemy import Engine, event, text

from runtime.extensions import db

SQLITE_BUSY_TIMEOUT_MS = 30_000
PG_LOCK_KEY = 0x41524230  # "ARB0": one advisory lock id for Arbor's migrations


def tune_sqlite(engine: Engine) -> None:
    """On every new SQLite connection: WAL (readers do not block the writer) with synchronous=NORMAL
    (safe in WAL mode; a power cut may lose the last commits, never the file, and commits need no fsync),
    a busy timeout instead of an instant "database is locked", and enforced foreign keys."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(connection: sqlite3.Connection, _record) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def upgrade(app: Flask) -> None:
    """Bring the database to the latest migration, one process at a time.

    To every head: features built side by side each add a migration after the same parent, and Alembic
    applies such branches in dependency order until a merge revision joins them.
    """
    with app.app_context(), _migration_lock(app):
        flask_migrate.upgrade(revision="heads")


@contextmanager
def _migration_lock(app: Flask):
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": PG_LOCK_KEY})
            connection.commit()  # a session-level lock outlives the transaction; end it so it holds nothing
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": PG_LOCK_KEY})
                connection.commit()
    else:
        with open(Path(app.config["ARBOR_DATA"]) / "migrate.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
