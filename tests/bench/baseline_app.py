"""Baselines for the Direct Line benchmark, served by gunicorn exactly as Arbor is:

    gunicorn -w 2 -b 127.0.0.1:PORT --pythonpath tests/bench baseline_app:app

`POST /echo` answers {"ok": true} (bare Flask: what one HTTP request costs at all). `POST /rw` with
{"id": K} reads counter row K and writes it back plus one, in one transaction: the least a turn that
keeps state must do. BASELINE_DB names the database: `sqlite:///PATH` (WAL, synchronous=NORMAL, as
Arbor tunes SQLite) or a PostgreSQL URL (psycopg 3, libpq options in the query string allowed).
`prepare(db, rows)` makes the counter table before the server starts. A worker keeps at most POOL connections,
as Arbor's does (SQLAlchemy's default pool: 5, and 10 more under load): one per thread would hold a PostgreSQL
connection for each of the 2,000 threads that ever served a request, and leave the server none for Arbor.
"""

from __future__ import annotations

import os
import queue
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, abort, request

TABLE = "bench_counter"
app = Flask(__name__)
POOL = 15
_idle: queue.LifoQueue = queue.LifoQueue()
_made = 0
_making = threading.Lock()


def _is_sqlite(db: str) -> bool:
    return db.startswith("sqlite:///")


def connect(db: str):
    if _is_sqlite(db):
        connection = sqlite3.connect(db.removeprefix("sqlite:///"), isolation_level=None, timeout=5.0,
                                     check_same_thread=False)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        return connection
    import psycopg
    return psycopg.connect(db.replace("postgresql+psycopg://", "postgresql://"))


def prepare(db: str, rows: int) -> None:
    """A fresh counter table with `rows` rows at 0."""
    connection = connect(db)
    try:
        if _is_sqlite(db):
            connection.execute(f"DROP TABLE IF EXISTS {TABLE}")
            connection.execute(f"CREATE TABLE {TABLE} (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)")
            connection.executemany(f"INSERT INTO {TABLE} VALUES (?, 0)", [(i,) for i in range(rows)])
        else:
            with connection.transaction():
                connection.execute(f"DROP TABLE IF EXISTS {TABLE}")
                connection.execute(f"CREATE TABLE {TABLE} (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)")
                with connection.cursor() as cursor:
                    cursor.executemany(f"INSERT INTO {TABLE} VALUES (%s, 0)", [(i,) for i in range(rows)])
    finally:
        connection.close()


def total(db: str) -> int:
    """The sum of the counters: how many /rw requests committed."""
    connection = connect(db)
    try:
        return connection.execute(f"SELECT COALESCE(SUM(n), 0) FROM {TABLE}").fetchone()[0]
    finally:
        connection.close()


@app.post("/echo")
def echo() -> dict:
    return {"ok": True}


@app.post("/rw")
def read_write() -> dict:
    db = os.environ["BASELINE_DB"]
    key = int((request.get_json(silent=True) or {}).get("id", 0))
    with _pooled(db) as connection:
        return _read_write(db, connection, key)


@contextmanager
def _pooled(db: str) -> Iterator:
    """A connection of the worker's pool: an idle one, a new one while fewer than POOL exist, else the next freed."""
    global _made
    try:
        connection = _idle.get_nowait()
    except queue.Empty:
        with _making:
            make = _made < POOL
            _made += make
        connection = connect(db) if make else _idle.get()
    try:
        yield connection
    finally:
        _idle.put(connection)


def _read_write(db: str, connection, key: int) -> dict:
    if _is_sqlite(db):
        connection.execute("BEGIN IMMEDIATE")
        try:
            row = connection.execute(f"SELECT n FROM {TABLE} WHERE id = ?", (key,)).fetchone()
            if row is None:
                abort(404)
            connection.execute(f"UPDATE {TABLE} SET n = ? WHERE id = ?", (row[0] + 1, key))
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
    else:
        with connection.transaction():
            row = connection.execute(f"SELECT n FROM {TABLE} WHERE id = %s", (key,)).fetchone()
            if row is None:
                abort(404)
            connection.execute(f"UPDATE {TABLE} SET n = %s WHERE id = %s", (row[0] + 1, key))
    return {"ok": True, "n": row[0] + 1}
