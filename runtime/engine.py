"""The turn loop: pure functions over (bot, state, user data, input) -> what to send and the new state.

No I/O here: callers load the state, call `start` or `turn`, persist the result and carry out its
effects. State is plain JSON: ``{"stack": [{"dialog", "step", "reask"?}], "waiting": {"step",
"memo"} | None, "ended": bool, "input": last user text, "language"?: the visitor's language}`` (the
language only for a bot of several; `user.language` in templates either way). Positions are step ids, stable across
edits, so a conversation survives a bot edited under it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from runtime import expressions
from runtime.botdoc import Bot
from runtime.botdoc.translations import negotiate
from runtime.steps import STEP_TYPES
from runtime.steps import _urls as urls
from runtime.steps._phrases import phrase
from runtime.steps.base import End, Enter, Goto, Input, NotUnderstood, Outcome, Wait

MAX_STEPS_PER_TURN = 500
MAX_CALL_DEPTH = 50
NOT_UNDERSTOOD = "Sorry, I did not understand that."
START_DIALOG_EVENT = "arbor/start-dialog"  # a page asks for a dialog: value {"dialog": id}
LANGUAGE = "user.language"  # the storage a set or choice step writes to change the conversation's language
LANGUAGE_STORAGE = "language"  # a storage of the user's data that picks the language of a new conversation


class _Stop:
    """The turn ends here: a step waits or the conversation ended."""


STOP = _Stop()


@dataclass
class TurnResult:
    activities: list[dict] = field(default_factory=list)
    effects: list[dict] = field(default_factory=list)
    logs: list[dict] = field(default_factory=list)
    visited: list[str] = field(default_factory=list)  # the steps run, in order (analytics counts reach)
    state: dict = field(default_factory=dict)
    data: dict = field(default_factory=dict)


def new_state() -> dict:
    return {"stack": [], "waiting": None, "ended": False}


def _copy_state(state: dict) -> dict:
    """A copy the turn may change: the frames are edited in place, everything else is replaced."""
    waiting = state.get("waiting")
    return {**state, "stack": [dict(frame) for frame in state.get("stack", [])],
            "waiting": dict(waiting) if waiting else None}


def start(bot: Bot, data: dict, *, user: dict, now: datetime, first: Input | None = None,
          language: str | list[str] | None = None, accepted: list[str] | None = None) -> TurnResult:
    """A new conversation: the start dialog runs at once, so the bot speaks first.

    `first` is a message the conversation began with (an SMS, a platform webhook): it is applied
    as the input the start dialog waits for, not thrown away. The conversation speaks the bot's language that
    best fits, in this order: `language`, what the visitor asked for (a page's locale, "cs-CZ", or a list, most
    preferred first); the storage `language` of the user's data (the language of their last conversation, or
    one a platform, the trigger API or a page put there); `accepted`, what the client accepts (a browser's
    languages); else the bot's default. A bot of several languages keeps the one chosen in that storage, so the
    exports carry it and the user's next conversation, on any channel, starts in it.
    """
    state = new_state()
    if len(bot.languages) > 1:
        wanted = [*(language if isinstance(language, list) else [language]), (data or {}).get(LANGUAGE_STORAGE),
                  *(accepted or [])]
        state["language"] = negotiate(wanted, bot.languages) or bot.languages[0]
        data = {**(data or {}), LANGUAGE_STORAGE: state["language"]}
    with expressions.turn_budget():
        run = _Turn(bot, state, data, user, now, first)
        run.restart(bot.start)
        if first is not None and run.state["waiting"]:
            run.apply(first)
        return run.result()


def turn(bot: Bot, state: dict, data: dict, inp: Input, *, user: dict, now: datetime) -> TurnResult:
    """Apply one input to a conversation; its texts and conditions share one work budget (turn_budget)."""
    with expressions.turn_budget():
        run = _Turn(bot, state, data, user, now, inp)
        run.handle(inp)
        return run.result()


class _Turn:
    """One turn in progress; it is also the Context step executors see."""

    def __init__(self, bot: Bot, state: dict, data: dict, user: dict, now: datetime, inp: Input | None):
        self.bot, self.now, self.input = bot, now, inp
        self.state = _copy_state(state) if state else new_state()
        language = self.state.get("language")
        self.language = language if language in bot.languages else bot.languages[0]
        self.steps = bot.steps_in(self.language)
        self.user = {**user, "language": self.language}
        self.data = dict(data) if data else {}  # steps replace top-level storages, never change them in place
        self.out = TurnResult()
        self.steps_run = 0
        self.step_id: str | None = None
        if inp is not None and inp.kind == "message" and inp.text is not None:
            self.state["input"] = inp.text

    # --- Context, as step executors see it -----------------------------------------------------

    def names(self, extra: dict) -> dict:
        event = {"name": self.input.name, "value": self.input.value} if self.input and self.input.kind == "event" \
            else None
        return {**self.data, "user": self.user, "event": event, "input": self.state.get("input"),
                "now": self.now, **extra}

    def render(self, template: str, **extra: Any) -> str:
        if "{" not in template:
            return template  # most texts: no need to gather the names
        try:
            return expressions.render(template, self.names(extra))
        except expressions.ExpressionError as e:
            self.error(f"Could not render {template[:80]!r}: {e}")
            return ""

    def evaluate(self, expression: str, **extra: Any) -> Any:
        try:
            return expressions.evaluate(expression, self.names(extra))
        except expressions.ExpressionError as e:
            self.error(f"Could not evaluate {expression[:80]!r}: {e}")
            return None

    def store(self, name: str, value: Any) -> None:
        """Keep a value in a storage; `user.language` changes the language the conversation goes on in."""
        if name != LANGUAGE:
            self.data[name] = value
            return
        language = negotiate([value], self.bot.languages) if isinstance(value, str) else None
        if language is None:
            self.error(f"{str(value)[:40]!r} is not one of this bot's languages ({', '.join(self.bot.languages)}); "
                       "the conversation's language stays as it was.")
            return
        self.language, self.steps, self.state["language"] = language, self.bot.steps_in(language), language
        self.data[LANGUAGE_STORAGE] = language  # the user's next conversation starts in it
        self.user = {**self.user, "language": language}

    def phrase(self, english: str) -> str:
        """What the engine says on its own, in the conversation's language."""
        return phrase(self.language, english)

    def emit(self, activity: dict) -> None:
        activity, dropped = urls.clean_activity(activity)  # URLs filled from storages are checked as sent
        for why in dropped:
            self.error(why)
        if "language" in self.state and activity.get("type") == "message":
            activity["locale"] = self.language  # Bot Framework's field: the language the bot said it in
        self.out.activities.append(activity)

    def effect(self, effect: dict) -> None:
        self.out.effects.append(effect)

    def log(self, entry: dict) -> None:
        step = self.steps.get(self.step_id, {})
        self.out.logs.append({"dialog": self.bot.dialog_of.get(self.step_id), "step": self.step_id,
                              "stepType": step.get("type"), **entry})

    def error(self, message: str) -> None:
        self.log({"kind": "error", "message": message})

    # --- the turn --------------------------------------------------------------------------------

    def handle(self, inp: Input) -> None:
        if inp.kind == "event" and inp.name == START_DIALOG_EVENT:
            self.start_from_page(inp.value)
            return
        trigger = self.bot.triggers.get(inp.name) if inp.kind == "event" else None
        waiting = self.state.get("waiting")
        waiting_step = self.steps.get(waiting["step"]) if waiting else None
        if trigger and not (waiting_step and inp.name in waiting_step.get("events", ())):
            self.save_event_value(trigger, inp.value)
            self.begin(trigger["dialog"], trigger.get("mode", "jump"))
        elif inp.kind == "trigger":
            if isinstance(inp.value, dict):
                self.data.update(inp.value)
            if inp.dialog in self.bot.dialogs:
                self.begin(inp.dialog, "jump" if inp.clear else "call")
            else:
                self.error(f"Trigger for unknown dialog '{inp.dialog}'; nothing done.")
        elif inp.kind in ("timeout", "result") and not (waiting and waiting["step"] == inp.step):
            return  # a timer that fired, or a call that answered, after the conversation moved on
        elif waiting:
            self.apply(inp)
        elif inp.kind == "message":
            self.restart(self.bot.start)  # a new or ended conversation: start afresh, then answer
            if self.state["waiting"]:
                self.apply(inp)

    def start_from_page(self, value: Any) -> None:
        """A page may start the start dialog or a dialog the bot opens to pages through a trigger.

        Other dialogs may be steps of a flow the page must not skip into (a payment after checks).
        """
        dialog = value.get("dialog") if isinstance(value, dict) else None
        allowed = {self.bot.start} | {t["dialog"] for t in self.bot.triggers.values()}
        if dialog in allowed:
            self.begin(dialog, "jump")
        else:
            self.error(f"The page asked to start the dialog {str(dialog)[:64]!r}, which is neither the start "
                       "dialog nor one a trigger names; ignored.")

    def save_event_value(self, trigger: dict, value: Any) -> None:
        """A page event's value lands in user data before its dialog starts."""
        if trigger.get("storage"):
            self.data[trigger["storage"]] = value
        elif isinstance(value, dict):
            self.data.update(value)

    def begin(self, dialog: str, mode: str) -> None:
        """Start a dialog from outside the tree; `call` asks the waiting step again afterwards."""
        waiting = self.leave_waiting()
        if mode == "call" and waiting and self.state["stack"]:
            self.state["stack"][-1]["reask"] = True
            self.run_from(self.go(Goto(dialog, "call"), waiting["step"]))
        else:
            self.restart(dialog)

    def leave_waiting(self) -> dict | None:
        """Stop waiting; a pending timer of the step is cancelled."""
        waiting, self.state["waiting"] = self.state.get("waiting"), None
        step = self.steps.get(waiting["step"]) if waiting else None
        if step and step.get("timeout") and getattr(STEP_TYPES[step["type"]], "TIMED", False):
            self.effect({"type": "timer.cancel", "step": step["id"]})
        return waiting

    def apply(self, inp: Input) -> None:
        """Give the input to the step that waits for it."""
        waiting = self.state["waiting"]
        step = self.steps.get(waiting["step"])
        frame = self.state["stack"][-1] if self.state["stack"] else None
        if step is None or frame is None or self.bot.dialog_of[step["id"]] != frame["dialog"]:
            self.recover(frame)
            return
        module = STEP_TYPES[step["type"]]
        if not hasattr(module, "resume"):  # edited: the step no longer waits
            self.state["waiting"] = None
            self.run_from(step["id"])
            return
        if inp.kind not in getattr(module, "ACCEPTS", ("message",)):
            return  # a page event nobody waits for
        self.state["waiting"] = None
        self.step_id = step["id"]
        self.run_from(self.follow(module.resume(step, self, waiting.get("memo", {})), step["id"]))

    def recover(self, frame: dict | None) -> None:
        """The bot changed under the conversation: restart the dialog, or the bot if that is gone too."""
        dialog = frame["dialog"] if frame and frame["dialog"] in self.bot.dialogs else self.bot.start
        self.error(f"The bot changed under this conversation; restarting the dialog '{dialog}'.")
        if frame and frame["dialog"] == dialog:
            frame.update(step=self.bot.first(dialog))
            frame.pop("reask", None)
            self.state["waiting"] = None
            self.run_from(frame["step"])
        else:
            self.restart(dialog)

    def restart(self, dialog: str) -> None:
        self.state.update(stack=[{"dialog": dialog, "step": self.bot.first(dialog)}], waiting=None, ended=False)
        self.run_from(self.bot.first(dialog))

    def run_from(self, nxt: str | None | _Stop) -> None:
        """Run steps until one waits, the conversation ends, or the step budget is spent."""
        while nxt is not STOP:
            if nxt is None:
                nxt = self.finish_dialog()
                continue
            self.steps_run += 1
            if self.steps_run > MAX_STEPS_PER_TURN:
                self.error(f"Stopped after {MAX_STEPS_PER_TURN} steps in one turn: a loop of gotos with no "
                           "question in between? The conversation was ended.")
                self.state.update(stack=[], waiting=None, ended=True)
                return
            step = self.steps[nxt]
            self.state["stack"][-1]["step"] = self.step_id = nxt
            self.out.visited.append(nxt)
            nxt = self.follow(STEP_TYPES[step["type"]].run(step, self), nxt)

    def follow(self, outcome: Outcome, step_id: str) -> str | None | _Stop:
        """Where an executor's outcome leads: a step id, None (the dialog ends) or STOP (the turn ends)."""
        if isinstance(outcome, Wait):
            self.state["waiting"] = {"step": step_id, "memo": outcome.memo}
            return STOP
        if isinstance(outcome, End):
            self.state.update(stack=[], waiting=None, ended=True)
            return STOP
        if isinstance(outcome, NotUnderstood):
            return self.not_understood(step_id)
        if isinstance(outcome, Goto):
            return self.go(outcome, step_id)
        if isinstance(outcome, Enter) and outcome.steps:
            return outcome.steps[0]["id"]
        return self.bot.after[step_id]

    def go(self, goto: Goto, step_id: str) -> str | None:
        stack = self.state["stack"]
        if goto.dialog not in self.bot.dialogs:
            self.error(f"goto: there is no dialog '{goto.dialog}'; going on with the next step.")
            return self.bot.after[step_id]
        if goto.mode == "call" and len(stack) >= MAX_CALL_DEPTH:
            self.error(f"More than {MAX_CALL_DEPTH} dialogs called inside each other; jumping instead.")
        if goto.mode == "call" and len(stack) < MAX_CALL_DEPTH:
            stack.append({"dialog": goto.dialog, "step": self.bot.first(goto.dialog)})
        else:
            stack[-1] = {"dialog": goto.dialog, "step": self.bot.first(goto.dialog)}
        return self.bot.first(goto.dialog)

    def finish_dialog(self) -> str | None | _Stop:
        """The current dialog ran out of steps: go back to its caller, or end the conversation."""
        stack = self.state["stack"]
        stack.pop()
        if not stack:
            self.state.update(waiting=None, ended=True)
            return STOP
        frame = stack[-1]
        if frame["dialog"] not in self.bot.dialogs:
            return None  # the caller's dialog was deleted: finish it too
        step = self.steps.get(frame["step"])
        if step is None or self.bot.dialog_of[step["id"]] != frame["dialog"]:
            frame.pop("reask", None)
            return self.bot.first(frame["dialog"])  # the caller's step was deleted: restart its dialog
        if frame.pop("reask", False):
            self.step_id = step["id"]
            return self.follow(self.ask_again(step), step["id"])
        return self.bot.after[step["id"]]

    def ask_again(self, step: dict) -> Outcome:
        module = STEP_TYPES[step["type"]]
        return module.reask(step, self, {}) if hasattr(module, "reask") else module.run(step, self)

    def not_understood(self, step_id: str) -> str | None | _Stop:
        """The fallback dialog runs (never inside itself), then the step asks again."""
        fallback = self.bot.fallback
        if fallback in self.bot.dialogs and all(f["dialog"] != fallback for f in self.state["stack"]) \
                and len(self.state["stack"]) < MAX_CALL_DEPTH:
            self.state["stack"][-1]["reask"] = True
            return self.go(Goto(fallback, "call"), step_id)
        self.emit({"type": "message", "text": self.phrase(NOT_UNDERSTOOD)})
        return self.follow(self.ask_again(self.steps[step_id]), step_id)

    def result(self) -> TurnResult:
        self.out.state, self.out.data = self.state, self.data
        return self.out
