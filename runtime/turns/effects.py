"""The one registry of what a turn's effects do: `app.extensions["arbor.effects"]`, keyed by effect type.

The engine stays pure: a step that needs the world asks for an effect (`{"type": "timer.start", ...}`), and the
turn (`turn.py`) hands it to the handler its feature registered, in its own `init_app`, for one of two phases:

- *in the turn* (`in_turn`), before anything is saved, because the handler's work is part of the turn's own
  result: an `answers` handler gives the step a value and the engine goes on (a dataset lookup); another writes
  rows with the turn (the handover session it opens) or, for `OUTGOING`, rewrites what the bot says (the URL
  tracker).
- *after commit* (`after_commit`): work the committed turn owes. A durable handler (the default) is written to
  the outbox (`outbox.py`) in the turn's own transaction, so a process that dies after the commit loses none
  of it; one that is not durable runs once, right after the commit, in the process that ran the turn (the live
  note to the streams, whose loss costs latency only). A handler may answer with activities that join the
  reply (a sync integration call's result, applied as a turn of its own: `own_turn`).

Besides the engine's effects the turn announces two of its own, so that features following every turn register
the same way: `OUTGOING` (each activity the bot sends, in the turn) and `COMMITTED` (the turn's new transcript
rows, after commit: webhooks, platform replies, the live fan-out).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import Flask, current_app

OUTGOING = "activity.outgoing"
"""The turn's own, in the turn: each activity the bot sends, before it is stored; the handler returns it."""
COMMITTED = "turn.committed"
"""The turn's own, after commit: `{"type", "closed"}` with the turn's new transcript rows and effects on `Committed`."""
DRY_RUN_CHANNEL = "conversation-test"
"""Conversations on this channel (conversation tests) owe nothing after commit and open no handover: no e-mail,
SMS, timer or webhook goes out."""


@dataclass
class Committed:
    """What an after-commit handler is given with its effect: the committed turn it came from.

    `conversation` has `id`, `bot_id`, `user_id` and `channel`; `transcript` is the turn's new rows (seq,
    direction, activity); `effects` all its effects (for one relayed from the outbox: the effect alone, or for
    `COMMITTED` the turn's)."""

    conversation: Any
    transcript: list[dict]
    effects: list[dict]
    at: datetime  # when the turn was committed
    effect_id: str | None = None  # the outbox row's id (durable handlers): a key for idempotent work


@dataclass(frozen=True)
class AfterCommit:
    """One after-commit handler: `function(committed, effect)` may return activities that join the reply."""

    name: str  # how an outbox row names it: module and function
    function: Callable[[Committed, dict], list[dict] | None]
    durable: bool
    when: Callable[[Any, dict], bool] | None  # (conversation, effect) -> whether this turn owes it anything
    own_turn: bool = False  # its work is a turn, which removes the outbox row itself (`outbox.done_in`)


@dataclass
class Effects:
    """The app's handlers, by effect type."""

    in_turn: dict[str, Callable] = field(default_factory=dict)
    answers: set[str] = field(default_factory=set)
    after: dict[str, list[AfterCommit]] = field(default_factory=dict)
    by_name: dict[str, AfterCommit] = field(default_factory=dict)
    waits: list[Callable[[Any], None]] = field(default_factory=list)

    def on_turn(self, effect_type: str, function: Callable, *, answers: bool = False) -> None:
        """Handle `effect_type` in the turn: `function(turn, effect)`; with `answers` its return value is the
        step's result. For `OUTGOING`, `function(turn, activity)` returns the activity to store."""
        if self.in_turn.setdefault(effect_type, function) is not function:
            raise ValueError(f"the effect '{effect_type}' has an in-turn handler already")
        if answers:
            self.answers.add(effect_type)

    def after_commit(self, effect_type: str, function: Callable[[Committed, dict], list[dict] | None], *,
                     durable: bool = True, when: Callable[[Any, dict], bool] | None = None,
                     own_turn: bool = False) -> None:
        """Handle `effect_type` once its turn is committed (see the module's docstring for `durable`); `when`,
        asked in the turn, says whether the turn owes this handler anything (nothing is written otherwise).
        `own_turn`: the handler's work is a turn of the conversation, which removes the effect's outbox row in
        its own transaction (`outbox.done_in` as its `alongside`) and names the effect in its client key, so
        the work is applied once however often the handler runs."""
        handler = AfterCommit(f"{function.__module__}.{function.__qualname__}", function, durable, when, own_turn)
        if self.by_name.setdefault(handler.name, handler).function is not function:
            raise ValueError(f"another after-commit handler is named '{handler.name}'")
        handlers = self.after.setdefault(effect_type, [])
        if handler not in handlers:
            handlers.append(handler)

    def on_wait(self, function: Callable[[Any], None]) -> None:
        """Call `function(conversation)` when a committed turn's reply waits for an `own_turn` handler's work
        (a sync integration call): the live fan-out shows the bot typing meanwhile."""
        if function not in self.waits:
            self.waits.append(function)

    def waiting(self, conversation) -> None:
        """The conversation's reply waits for the world: tell whoever asked (`on_wait`)."""
        for function in self.waits:
            function(conversation)

    def owed(self, conversation, effects: list[dict]) -> list[tuple[AfterCommit, dict]]:
        """The (handler, effect) pairs a turn's effects owe, in the effects' order."""
        return [(handler, effect) for effect in effects for handler in self.after.get(effect.get("type"), ())
                if handler.when is None or handler.when(conversation, effect)]


def registry(app: Flask | None = None) -> Effects:
    """The app's registry (made by `init_app`, filled by each feature's `init_app`)."""
    return (app or current_app).extensions["arbor.effects"]


def init_app(app: Flask) -> None:
    app.extensions["arbor.effects"] = Effects()
