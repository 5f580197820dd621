"""Run a unit of work in one transaction, and run it again from the start when a concurrent writer won.

Rows that concurrent turns write carry a version column or a unique key, so a turn that read rows
someone else changed before it committed fails at its write instead of overwriting their work.
Redoing the whole load-compute-save on fresh rows then serializes the two turns.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError

from runtime.extensions import db

T = TypeVar("T")

MAX_TRIES = 100
MAX_BACKOFF = 0.05  # seconds

# PostgreSQL: unique violation, serialization failure, deadlock.
_PG_CONFLICTS = {"23505", "40001", "40P01"}
# SQLite: unique key taken, or the database is locked by another writer for longer than busy_timeout.
_SQLITE_CONFLICTS = {"SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY", "SQLITE_BUSY",
                     "SQLITE_BUSY_SNAPSHOT", "SQLITE_LOCKED"}


class Conflict(StaleDataError):
    """A versioned row changed after this transaction read it, found by a Core update of its own
    (`WHERE version_id = :read` matched no row). A StaleDataError, as the ORM raises for its
    `version_id_col`, so both are retried alike."""


def in_transaction(work: Callable[[], T], *, tries: int = MAX_TRIES) -> T:
    """Call `work` and commit; on a write conflict roll back and call it again (bounded, with jitter).

    `work` must read everything it needs itself: after a rollback every loaded row is stale.
    Any other error rolls back and propagates.
    """
    attempt = 0
    while True:
        attempt += 1
        try:
            result = work()
            if db.session().in_transaction():  # else `work` committed itself (a turn does, holding SQLite's lock)
                db.session.commit()
            return result
        except (StaleDataError, IntegrityError, OperationalError) as exc:
            db.session.rollback()
            if attempt == tries or not is_conflict(exc):
                raise
            time.sleep(random.uniform(0, min(MAX_BACKOFF, 0.001 * 2**attempt)))
        except BaseException:
            db.session.rollback()
            raise


def write_first() -> None:
    """Make this transaction the writer before it reads the rows it will change (read-modify-write): the
    caller's SELECT ... FOR UPDATE locks those rows on PostgreSQL, but SQLite ignores FOR UPDATE, and its
    driver begins a transaction only at the first write, so two transactions could both read the old value
    and the later commit overwrite the other's. SQLite has one writer for the whole database: this takes its
    write lock now (BEGIN IMMEDIATE; another writer waits in the busy handler, or `in_transaction` tries it
    again), unless the transaction has written already and so holds it."""
    connection = db.session.connection()
    if connection.dialect.name == "sqlite" and not connection.connection.dbapi_connection.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def is_conflict(exc: Exception) -> bool:
    """Whether `exc` means "someone else wrote first" (worth a retry) rather than a real error."""
    if isinstance(exc, StaleDataError):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if sqlstate is not None:
        return sqlstate in _PG_CONFLICTS
    return getattr(exc.orig, "sqlite_errorname", None) in _SQLITE_CONFLICTS
