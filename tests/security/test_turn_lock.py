"""Hole 1 of the attack run (issue 15; issue 16 item 4): on SQLite the engine ran inside the database-wide
writer lock, so one bot's slow text held every other bot's turns. Now a turn computes first and takes the
writer lock (the flock queue, then SQLite's own) only to save, with the version check that serializes
turns of one conversation.

The engine is the real one; a bot text's render is observed through the sandbox's work counter
(`sandbox._charge`, wrapped), which probes the locks while that text is being rendered. Threads meet
on Events, never on sleeps; the waits' timeouts only keep a broken build from hanging.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading

import pytest

from runtime.expressions import sandbox
from runtime.extensions import db
from runtime.steps.base import Input
from runtime.store import writer_queue
from runtime.store.bots import import_bot
from runtime.turns.transcript import transcript
from runtime.turns.turn import handle, start_conversation

GUARD = 60  # seconds a wait may take before the test fails instead of hanging: never the thing measured
SLOW = "{{ (range(2000)|list)|reject('in', range(2000, 4000)|list)|list|length }} items"


def bot(bot_id: str, text: str) -> dict:
    return {"format": 1, "id": bot_id, "name": bot_id, "locale": "en", "start": "loop", "dialogs": [
        {"id": "loop", "title": "Loop", "steps": [
            {"id": f"{bot_id}-ask", "type": "question", "text": "Say something.", "storage": "last"},
            {"id": f"{bot_id}-say", "type": "message", "text": text},
            {"id": f"{bot_id}-again", "type": "goto", "dialog": "loop", "mode": "jump"}]}]}


@pytest.fixture
def two_bots(app):
    with app.app_context():
        import_bot(bot("slow", SLOW), publish=True)
        import_bot(bot("quick", "Got {{ last }}"), publish=True)
        slow, _ = start_conversation("slow", "ann", "webchat")
        quick, _ = start_conversation("quick", "bob", "webchat")
        sqlite_path = db.engine.url.database if db.engine.dialect.name == "sqlite" else None
        return slow.id, quick.id, sqlite_path


class RenderProbe:
    """Wraps the sandbox's work counter: the first charge of a render in `thread` runs `on_render` once."""

    def __init__(self, monkeypatch, on_render):
        self.thread, self.on_render, self.fired = None, on_render, False
        charge = sandbox._charge

        def probed(units, what):
            if threading.current_thread() is self.thread and not self.fired:
                self.fired = True
                self.on_render()
            return charge(units, what)

        monkeypatch.setattr(sandbox, "_charge", probed)


def flock_free(path: str) -> bool:
    fd = os.open(path + writer_queue.SUFFIX, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def sqlite_writable(path: str) -> bool:
    connection = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:  # database is locked
        return False
    finally:
        connection.close()


def run_in(app, work, failures: list) -> threading.Thread:
    def run():
        try:
            with app.app_context():
                work()
        except BaseException as e:  # noqa: BLE001 - reported by the main thread
            failures.append(e)
    return threading.Thread(target=run)


def both(probe: RenderProbe, a: threading.Thread, b: threading.Thread, failures: list) -> None:
    """Run A (whose render the probe watches) and B side by side until both are done; neither may fail."""
    probe.thread = a
    a.start()
    b.start()
    a.join(2 * GUARD)
    b.join(2 * GUARD)
    assert not failures, failures


def test_no_writer_lock_is_held_while_the_engine_renders(app, two_bots, monkeypatch):
    slow, _, path = two_bots
    if path is None:
        pytest.skip("PostgreSQL has no database-wide writer lock: it locks the conversation's row")
    seen = {}
    probe = RenderProbe(monkeypatch, lambda: seen.update(queue=flock_free(path), sqlite=sqlite_writable(path)))
    failures: list = []
    worker = run_in(app, lambda: seen.update(answer=handle(slow, Input.message("go"))), failures)
    probe.thread = worker
    worker.start()
    worker.join(GUARD)
    assert not failures and probe.fired
    assert seen["queue"], "the turn queue's flock was held while the engine rendered"
    assert seen["sqlite"], "SQLite's write lock was held while the engine rendered"
    assert [a.get("text") for a in seen["answer"]] == ["2000 items", "Say something."]


def test_another_bots_turn_completes_while_a_render_is_in_progress(app, two_bots, monkeypatch):
    slow, quick, _ = two_bots
    rendering, other_done = threading.Event(), threading.Event()
    order: list[str] = []

    def in_render():  # bot A's text is being rendered: let bot B's turn run to its end meanwhile
        order.append("A rendering")
        rendering.set()
        order.append("B done" if other_done.wait(GUARD) else "B still waiting")

    probe = RenderProbe(monkeypatch, in_render)
    failures: list = []
    a = run_in(app, lambda: (handle(slow, Input.message("go")), order.append("A saved")), failures)
    b = run_in(app, lambda: (rendering.wait(GUARD), handle(quick, Input.message("hello")),
                             order.append("B saved"), other_done.set()), failures)
    both(probe, a, b, failures)
    assert order == ["A rendering", "B saved", "B done", "A saved"]
    with app.app_context():
        assert [t.get("text") for t in transcript(quick)][-3:-1] == ["hello", "Got hello"]
        assert [t.get("text") for t in transcript(slow)][-3:-1] == ["go", "2000 items"]


@pytest.mark.skipif(os.environ.get("DATABASE_URL", "").startswith("postgres"),
                    reason="PostgreSQL serializes one conversation's inputs on its row lock: there is no race to lose")
def test_a_turn_that_lost_the_race_is_computed_again_from_fresh_rows(app, two_bots, monkeypatch):
    """While A renders, another input to the same conversation commits: A's save finds the version changed,
    and A is run again from the new state; both inputs are applied, once each, in order."""
    slow, _, _ = two_bots
    rendering, other_done = threading.Event(), threading.Event()

    def in_render():
        rendering.set()
        other_done.wait(GUARD)

    probe = RenderProbe(monkeypatch, in_render)
    failures: list = []
    a = run_in(app, lambda: handle(slow, Input.message("first"), client_key="k1"), failures)
    b = run_in(app, lambda: (rendering.wait(GUARD), handle(slow, Input.message("second"), client_key="k2"),
                             other_done.set()), failures)
    both(probe, a, b, failures)
    with app.app_context():
        said = [t.get("text") for t in transcript(slow) if t.get("text") in ("first", "second")]
    assert said == ["second", "first"]  # the second committed while the first computed; the first redone after
