"""SQLite's one writer at a time, handed from turn to turn without sleeping.

SQLite lets one transaction write at a time; another that wants to write waits in SQLite's busy
handler, which polls by sleeping 1, 2, 5, 10... ms. Between gunicorn workers that is where turns lost
most of their time: a worker slept while the database had been free again after a fraction of a
millisecond. So turns queue for an exclusive lock (flock) on a file beside the database before their
write transaction begins, and the kernel hands the lock to the next waiter the moment it is released.

The lock only orders turns, which hold it no longer than their transaction: SQLite's own lock still
guards the data, and other writers (the designer, migrations) wait in the busy handler as before.
PostgreSQL needs no queue (it locks the conversation's row only).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager

from runtime.extensions import db

SUFFIX = "-turns.lock"


@contextmanager
def turn() -> Iterator[None]:
    """Hold the database's writer queue around one turn's transaction (SQLite files only).

    Not taken by a session already in a write transaction: it may hold SQLite's lock that the queue's
    holder waits for.
    """
    engine = db.engine
    path = engine.url.database if engine.dialect.name == "sqlite" else None
    if not path or path == ":memory:" or _writing():
        yield
        return
    # A descriptor of its own per turn: flock excludes other descriptors, so threads queue as processes do.
    fd = os.open(path + SUFFIX, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def writing() -> bool:
    """Whether this thread's session is in a write transaction already (and may hold SQLite's lock)."""
    return _writing()


def _writing() -> bool:
    session = db.session()
    if not session.in_transaction():
        return False
    return session.connection().connection.dbapi_connection.in_transaction
