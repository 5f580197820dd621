"""What a step executor receives and returns.

An executor is pure: it reads the step, the turn context and (for steps that wait) the input,
and returns an outcome that tells the engine where to go next. It emits activities, effects and
log entries through the context; it never does I/O itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class Input:
    """One inbound thing a turn handles.

    kind: ``message`` (text and/or a postback value), ``event`` (a page event with name and
    value), ``trigger`` (start ``dialog`` from outside with ``value`` saved into user data;
    ``clear`` drops the position first), ``timeout`` (the timer of wait step ``step`` fired), ``result``
    (the answer to an effect step ``step`` asked for, in ``value``).
    """

    kind: str
    text: str | None = None
    value: Any = None
    name: str | None = None
    dialog: str | None = None
    step: str | None = None
    clear: bool = False

    @classmethod
    def message(cls, text: str | None = None, value: Any = None) -> Input:
        return cls("message", text=text, value=value)

    @classmethod
    def event(cls, name: str, value: Any = None) -> Input:
        return cls("event", name=name, value=value)

    @classmethod
    def trigger(cls, dialog: str, value: Any = None, clear: bool = False) -> Input:
        return cls("trigger", dialog=dialog, value=value, clear=clear)

    @classmethod
    def timeout(cls, step: str) -> Input:
        return cls("timeout", step=step)

    @classmethod
    def result(cls, step: str, value: Any) -> Input:
        return cls("result", step=step, value=value)


# --- outcomes: what an executor tells the engine ---------------------------------------------

@dataclass(frozen=True)
class Next:
    """Go on with the step after this one."""


@dataclass(frozen=True)
class Enter:
    """Run a child step list of this step (a branch); execution goes on after this step when it ends."""

    steps: list


@dataclass(frozen=True)
class Wait:
    """Stop the turn: this step waits for input. ``memo`` is kept for the step until it resumes."""

    memo: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Goto:
    """Go to another dialog: ``jump`` replaces the current one, ``call`` returns after it ends."""

    dialog: str
    mode: str = "jump"


@dataclass(frozen=True)
class End:
    """End the conversation."""


@dataclass(frozen=True)
class NotUnderstood:
    """The input did not fit: run the bot's fallback, then ask this step again."""


Outcome = Next | Enter | Wait | Goto | End | NotUnderstood


class Context(Protocol):
    """The turn as a step executor sees it (implemented by the engine)."""

    data: dict
    input: Input | None
    user: dict
    bot: Any  # the indexed bot (runtime.botdoc.Bot): its document, dialogs and steps
    now: datetime
    language: str  # the conversation's language, one of the bot's; the step given is already in it

    def render(self, template: str, **extra: Any) -> str:
        """Render a text template over user data; a failure is logged and renders empty."""

    def evaluate(self, expression: str, **extra: Any) -> Any:
        """Evaluate an expression over user data; a failure is logged and gives None."""

    def store(self, name: str, value: Any) -> None:
        """Keep a value in a storage (`user.language` switches the conversation's language)."""

    def phrase(self, english: str) -> str:
        """A text of Arbor's own (a default re-ask) in the conversation's language."""

    def emit(self, activity: dict) -> None:
        """Send an activity to the user (or an event to the page)."""

    def effect(self, effect: dict) -> None:
        """Ask the caller to carry out a side effect after the turn (timer, call, e-mail)."""

    def log(self, entry: dict) -> None:
        """Record a log entry (an NLP miss, an error) for the caller to persist."""
