"""Live: a committed turn wakes whoever waits on its conversation (Direct Line streams) or its bot (the agent
console), in every process on every machine, through Redis pub/sub: the embedded Redis by default, the
shared one named by REDIS_URL.

A note carries the conversation id and what happened: `{"first": m, "seq": n, "bot": id}` for a committed
turn's new activities (from sequence number m to n), `{"stream": id}` for a stream opened elsewhere, `{"typing":
"bot"}` while a turn waits for the world (`effects.Effects.on_wait`) and `{"typing": "user"}` when the visitor
types (typing is never kept). It wakes the waiters of its conversation and, for new activities, those of its bot
(`bot_key`). A turn's note also carries its activities (`"activities"`, their JSON text, when under
MAX_CARRIED bytes), so the conversation's stream sends them without reading the store; an agent console, and a
stream that missed a note, read what is new from the store after what they have shown. So a note lost while a
process reconnects to Redis costs latency, not a message (once listening again, the hub wakes every waiter to
read the store). Redis relays a turn's activities to the processes listening then and keeps none of them.

A bot's allowed websites changing (`cors.set_allowed_origins`) is told on a channel of its own, `websites_key`,
as `{"origins": [the list saved], "revision": n}`: its streams watch it beside their conversation, and close when
the list no longer allows their page. Two changes saved moments apart in two processes may be published, and
heard, in the other order: the revision (one more at every save) tells a stream which is newer. Turns never wake
them through it.

On the wire a note is its JSON header, then a newline and the activities' text: a process whose waiters do
not concern the note parses the header only.

One listener thread per process, while it has waiters, subscribes to every conversation's channel (a pattern)
and wakes the local waiters a note concerns; a process with no waiter ignores the note.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections import deque
from collections.abc import Iterator

import redis
from flask import Flask, current_app

from runtime import jobs
from runtime.turns import effects
from runtime.turns.effects import COMMITTED, Committed

log = logging.getLogger(__name__)
RECONNECT_SECONDS = (0.1, 0.5, 1.0, 2.0, 5.0)  # the listener's waits after losing Redis, then 5 s each time
MAX_CARRIED = 64 * 1024  # bytes of a turn's activities a note carries at most; a stream reads bigger turns itself


def bot_key(bot_id: str) -> str:
    """What to watch for every conversation of a bot."""
    return f"bot:{bot_id}"


def websites_key(bot_id: str) -> str:
    """What to watch, and where to publish, for a bot's allowed websites changing."""
    return f"websites:{bot_id}"


ALL_BOTS = bot_key("*")  # what to watch for every conversation of every bot (an admin's console)


class Waiter:
    """One watcher's place in the hub: set when a note for what it watches arrives; the notes, in order."""

    def __init__(self):
        self.woken = threading.Event()
        self.notes: deque[dict] = deque(maxlen=100)

    def wait(self, timeout: float) -> list[dict]:
        """The notes that arrived (waiting up to `timeout` seconds for one); [] on a timeout."""
        self.woken.wait(timeout)
        self.woken.clear()
        notes = []
        while self.notes:
            notes.append(self.notes.popleft())
        return notes

    def wake(self, note: dict) -> None:
        self.notes.append(note)
        self.woken.set()


class Hub:
    """The process's waiters by conversation, and the thread that hears the notes for them."""

    def __init__(self, app: Flask):
        self.app = app
        self.prefix = f"arbor:{app.config['ARBOR_REDIS_PREFIX']}live:"  # apps sharing a Redis keep apart
        self._waiters: dict[str, set[Waiter]] = {}
        self._lock = threading.Lock()
        self._listener: threading.Thread | None = None
        self._subscribed = threading.Event()  # the running listener's: set once it hears the notes

    def publish(self, conversation_id: str, note: dict, activities: str | None = None) -> None:
        """Tell every process's waiters of the conversation (with `activities`, the JSON text of a turn's); a
        Redis that does not answer is logged, not raised: the turn is committed already, and the listeners,
        losing Redis too, wake every waiter to read the store once they hear again."""
        message = json.dumps(note) if activities is None else f"{json.dumps(note)}\n{activities}"
        try:
            jobs.connection(self.app).publish(self.prefix + conversation_id, message)
        except redis.RedisError as e:
            log.warning("live: could not publish to Redis (%s); streams get this turn with the next one", e)

    @contextlib.contextmanager
    def watching(self, *keys: str, waiter: Waiter | None = None) -> Iterator[Waiter]:
        """A waiter for the notes of the conversations (ids) and bots (`bot_key`) named, while the block runs
        (the listener started if need be); `waiter` is one of the caller's making (the stream process wakes its
        event loop)."""
        waiter = waiter or Waiter()
        with self._lock:  # before the listener is checked: a listener about to stop sees it and stays
            for key in keys:
                self._waiters.setdefault(key, set()).add(waiter)
        self._start()
        try:
            yield waiter
        finally:
            with self._lock:
                for key in keys:
                    found = self._waiters.get(key)
                    found.discard(waiter)
                    if not found:
                        del self._waiters[key]

    def watched(self) -> int:
        """How many waiters this process holds (for the stream benchmark and health)."""
        with self._lock:
            return sum(len(found) for found in self._waiters.values())

    def _start(self) -> None:
        with self._lock:
            if self._listener is None or not self._listener.is_alive():  # none yet, or one that died
                self._subscribed = threading.Event()
                self._listener = threading.Thread(target=self._listen, args=(self._subscribed,),
                                                  name="arbor-live", daemon=True)
                self._listener.start()
            subscribed = self._subscribed
        subscribed.wait(5.0)  # a stream opened before the subscription would miss a note sent meanwhile

    def _listen(self, subscribed: threading.Event) -> None:
        """Hear the notes while the process has waiters; a second after the last one left, stop."""
        failures = 0
        while True:
            try:
                pubsub = jobs.connection(self.app).pubsub(ignore_subscribe_messages=True)
                pubsub.psubscribe(self.prefix + "*")
                pubsub.get_message(timeout=1.0)  # the subscription's confirmation
                subscribed.set()
                if failures:
                    self._wake_all({"reconnected": True})  # notes may have been lost: read the store again
                failures = 0
                while not self._done():
                    message = pubsub.get_message(timeout=1.0)
                    if message is not None:
                        self._dispatch(message)
                pubsub.close()
                return
            except Exception as e:  # noqa: BLE001 - Redis lost, or the embedded one not started: listen again
                wait = RECONNECT_SECONDS[min(failures, len(RECONNECT_SECONDS) - 1)]
                failures += 1
                subscribed.set()  # streams open meanwhile; they catch up when the listener hears again
                if self._done():
                    return
                log.warning("live: cannot hear Redis (%s: %s); listening again in %.1f s", type(e).__name__, e, wait)
                threading.Event().wait(wait)

    def _done(self) -> bool:
        """Whether the listener may stop (no waiter left); if so, the next waiter starts another."""
        with self._lock:
            if self._waiters:
                return False
            self._listener = None
            return True

    def _dispatch(self, message: dict) -> None:
        if message.get("type") != "pmessage":
            return
        conversation_id = message["channel"].decode()[len(self.prefix):]
        header, _, activities = message["data"].partition(b"\n")
        note = json.loads(header)
        with self._lock:
            waiters = set(self._waiters.get(conversation_id, ()))
            if "bot" in note:
                waiters |= self._waiters.get(bot_key(note["bot"]), set()) | self._waiters.get(ALL_BOTS, set())
        if not waiters:
            return
        note["conversation"] = conversation_id
        if activities:
            note["activities"] = activities.decode()
        for waiter in waiters:
            waiter.wake(dict(note))

    def _wake_all(self, note: dict) -> None:
        with self._lock:
            waiters = {waiter for found in self._waiters.values() for waiter in found}
        for waiter in waiters:
            waiter.wake(note)


def hub(app: Flask | None = None) -> Hub:
    """The app's hub (made by `init_app`)."""
    return (app or current_app).extensions["arbor.live"]


def on_turn(committed: Committed, effect: dict) -> None:
    """After-commit handler of `COMMITTED` (not durable: a lost note costs latency only): tell the waiters of the
    conversation and of its bot how far its transcript now goes, with the turn's activities."""
    conversation = committed.conversation
    activities = json.dumps([row["activity"] for row in committed.transcript])
    hub().publish(conversation.id, {"first": effect["first"], "seq": effect["last"], "bot": conversation.bot_id},
                  activities if len(activities) <= MAX_CARRIED else None)


def on_wait(conversation) -> None:
    """A turn waits for the world (an outside system, a dataset): the conversation's streams show the bot
    typing meanwhile. A turn that only computes sends its reply within milliseconds and no typing."""
    hub().publish(conversation.id, {"typing": "bot"})


def init_app(app: Flask) -> None:
    app.extensions["arbor.live"] = Hub(app)
    effects.registry(app).after_commit(COMMITTED, on_turn, durable=False)
    effects.registry(app).on_wait(on_wait)
