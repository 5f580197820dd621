"""Two writers made to meet, for the tests of what serializes concurrent saves: two apps on one database (two
web processes, each with its own connections), the first held once it has read what it will change, until the
second is under way (it has asked for the lock, or, were there no lock, read the same thing). Both then finish;
whatever the second read must not have been the value before the first's save.

No sleeps: the first waits on an Event the second's statements set (at most PATIENCE, so a stuck race fails
instead of hanging)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from flask import Flask
from sqlalchemy import event

from app import create_app
from runtime.extensions import db

PATIENCE = 30  # seconds: a save that waits longer than this is stuck, not slow


@contextmanager
def another_app(app: Flask) -> Iterator[Flask]:
    """Another web process: an app of its own on the same database."""
    other = create_app({**app.config, "AUTO_MIGRATE": False})
    yield other
    with other.app_context():
        db.engine.dispose()


def engine_of(app: Flask):
    with app.app_context():
        return db.engine


def asks_for_lock(statement: str) -> bool:
    """Whether a statement waits for another transaction's lock: FOR UPDATE (PostgreSQL), BEGIN IMMEDIATE (SQLite)."""
    return "FOR UPDATE" in statement or statement.startswith("BEGIN IMMEDIATE")


class Race:
    """The first save waits, holding what it read, until `second_under_way`."""

    def __init__(self, second: Flask):
        self.first_holds = threading.Event()
        self.second_under_way = threading.Event()
        self.errors: list[BaseException] = []

        @event.listens_for(engine_of(second), "before_cursor_execute")
        def _asking(conn, cursor, statement, *args) -> None:
            if asks_for_lock(statement):
                self.second_under_way.set()

    def hold(self) -> None:
        self.first_holds.set()
        assert self.second_under_way.wait(PATIENCE), "the second save never got under way"

    def run(self, app: Flask, first: Callable[[], object], other: Flask, second: Callable[[], object]) -> None:
        self.first_holds.clear()
        self.second_under_way.clear()

        def in_app(which: Flask, save: Callable[[], object], after: threading.Event | None) -> None:
            try:
                if after is not None:
                    assert after.wait(PATIENCE), "the first save never held what it read"
                with which.app_context():
                    save()
            except BaseException as e:  # reported by the test's thread
                self.errors.append(e)
                self.second_under_way.set()

        threads = [threading.Thread(target=in_app, args=(app, first, None)),
                   threading.Thread(target=in_app, args=(other, second, self.first_holds))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not self.errors, self.errors
