"""Run a conversation test over the real engine and store, and report the first difference.

A test talks to the bot as a user of its own on the `test` channel, exactly as a webchat user would
(the store's `start_conversation` and `handle`), and every trace it left is deleted afterwards: its
user, conversations, transcript and log rows. So a test run changes no analytics and no user data, and
as the store carries out no effects on that channel, a test sends no e-mail or SMS.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select

from runtime import botdoc
from runtime.extensions import db
from runtime.steps.base import Input
from runtime.store import bots
from runtime.store.models import BotUser, Conversation, FuzzyQaLogEntry, NlpLogEntry, StepVisit
from runtime.turns.effects import DRY_RUN_CHANNEL
from runtime.turns.turn import handle, start_conversation

from .script import Script, Step

CHANNEL = DRY_RUN_CHANNEL


@dataclass
class TestResult:
    """One test's outcome; a failed one says the first difference and the script line it is on."""

    __test__ = False  # not a pytest test class

    name: str
    passed: bool
    message: str = ""
    line: int | None = None
    column: int | None = None  # set for a mistake in the test file itself
    seconds: float = 0.0
    transcript: list[str] = field(default_factory=list)  # the conversation as far as it went, for a reader

    def where(self) -> str:
        """"line 7" or "line 2, column 5"; empty when the failure has no place in the file."""
        if self.line is None:
            return ""
        return f"line {self.line}" + (f", column {self.column}" if self.column else "")


class _Difference(Exception):
    def __init__(self, message: str, line: int | None):
        super().__init__(message)
        self.line = line


def run(bot_id: str, script: Script, *, version: int | None = None, name: str | None = None) -> TestResult:
    """Run `script` against a bot: its published version (`version` None; the draft when it has none),
    a given published version, or the draft (`bots.DRAFT`). The result goes by `name` (a file's or a saved
    test's name), else by the script's own."""
    name = name or script.name
    started = time.perf_counter()
    chat = _Chat(bot_id, script, version)
    try:
        chat.check_steps_exist()
        chat.start()
        for step in script.steps:
            chat.do(step)
        result = TestResult(name, True)
    except _Difference as difference:
        result = TestResult(name, False, str(difference), difference.line)
    except LookupError as e:  # no such bot or version
        result = TestResult(name, False, str(e))
    finally:
        chat.forget()
    result.seconds, result.transcript = time.perf_counter() - started, chat.lines
    return result


class _Chat:
    def __init__(self, bot_id: str, script: Script, version: int | None):
        self.bot_id, self.script = bot_id, script
        self.user_id = f"test-{uuid.uuid4().hex[:12]}"
        self.version = version
        self.conversation_id: str | None = None
        self.pending: list[dict] = []  # the bot's replies not yet checked
        self.buttons: list[dict] = []  # what the user can click now
        self.said_last = ""  # the last message checked, to say where a difference is
        self.lines: list[str] = []

    def check_steps_exist(self) -> None:
        """Steps named by `at:` must be in the bot: a test of a deleted step says so before it runs."""
        if self.version is None:
            published = bots.get_bot(self.bot_id).published_version
            self.version = published if published is not None else bots.DRAFT
        doc = botdoc.load(bots.get_version_doc(self.bot_id, self.version))
        which = "the draft" if self.version == bots.DRAFT else f"version {self.version}"
        for step_id, line in self.script.step_ids():
            if step_id not in doc.steps:
                raise _Difference(f"The step '{step_id}' does not exist in {which} of the bot (deleted or renamed?); "
                                  "update the test.", line)

    def start(self) -> None:
        conversation, activities = start_conversation(
            self.bot_id, self.user_id, CHANNEL, data=self.script.user, version=self.version,
            languages=[self.script.language] if self.script.language else None)
        self.conversation_id = conversation.id
        self.received(activities)

    def do(self, step: Step) -> None:
        getattr(self, f"_{step.kind}")(step)

    # --- what the user does -------------------------------------------------------------------

    def _say(self, step: Step) -> None:
        self.send(Input.message(str(step.value)), f"> {step.value}")

    def _click(self, step: Step) -> None:
        title = str(step.value)
        button = next((b for b in self.buttons if b.get("title") == title), None)
        if button is None:
            offered = ", ".join(repr(b.get("title")) for b in self.buttons) or "none"
            raise _Difference(f"There is no button '{title}' to click (buttons offered: {offered}).", step.line)
        if button.get("type") == "openUrl":
            raise _Difference(f"The button '{title}' opens a web page; nothing is sent to the bot.", step.line)
        value = button.get("value", title)
        inp = Input.message(str(value)) if button.get("type", "imBack") == "imBack" else Input.message(None, value)
        self.send(inp, f"> [{title}]")

    def _event(self, step: Step) -> None:
        self.send(Input.event(str(step.value), step.extra.get("value")), f"> (event {step.value})")

    def send(self, inp: Input, line: str) -> None:
        self.lines.append(line)
        self.pending = []  # replies nobody checked are passed over once the user acts again
        self.received(handle(self.conversation_id, inp))

    def received(self, activities: list[dict]) -> None:
        for activity in activities:
            if activity.get("type") not in ("message", "event"):
                continue
            self.pending.append(activity)
            self.lines.append(_line(activity))
            buttons = buttons_of(activity)
            if buttons:
                self.buttons = buttons

    # --- what the bot should have done ----------------------------------------------------------

    def _bot(self, step: Step) -> None:
        activity = self.next_reply(step, "message", _describe_text(step.value))
        text = activity.get("text") or ""
        mode, expected = (next(iter(step.value.items())) if isinstance(step.value, dict) else ("text", step.value))
        expected = str(expected)
        ok = {"text": lambda: text == expected, "contains": lambda: expected in text,
              "regex": lambda: re.fullmatch(expected, text, re.DOTALL) is not None}[mode]()
        if not ok:
            raise _Difference(f"Expected the bot to say {_describe_text(step.value)}; it said {text!r}.", step.line)
        self.said_last = text
        if "buttons" in step.extra:
            offered = [a.get("title") for a in (activity.get("suggestedActions") or {}).get("actions", [])]
            wanted = [str(b) for b in step.extra["buttons"]]
            if offered != wanted:
                raise _Difference(f"Expected the buttons {wanted} with {text!r}; the bot offered {offered}.", step.line)

    def _sent(self, step: Step) -> None:
        activity = self.next_reply(step, "event", f"the event '{step.value}'")
        if activity.get("name") != str(step.value):
            raise _Difference(f"Expected the bot to send the event '{step.value}'; it sent "
                              f"'{activity.get('name')}'.", step.line)
        if "value" in step.extra and activity.get("value") != step.extra["value"]:
            raise _Difference(f"The event '{step.value}' came with {activity.get('value')!r}, expected "
                              f"{step.extra['value']!r}.", step.line)

    def _storage(self, step: Step) -> None:
        data = db.session.scalar(select(BotUser.data).where(BotUser.bot_id == self.bot_id,
                                                            BotUser.user_id == self.user_id)) or {}
        for name, expected in step.value.items():
            if name not in data:
                raise _Difference(f"The storage '{name}' is empty; expected {expected!r}.", step.line)
            if data[name] != expected:
                raise _Difference(f"The storage '{name}' is {data[name]!r}; expected {expected!r}.", step.line)

    def _at(self, step: Step) -> None:
        state = db.session.scalar(select(Conversation.state).where(Conversation.id == self.conversation_id)) or {}
        waiting = (state.get("waiting") or {}).get("step")
        if waiting != str(step.value):
            now = f"waits at '{waiting}'" if waiting else ("has ended" if state.get("ended") else "waits nowhere")
            raise _Difference(f"Expected the bot to wait at the step '{step.value}'; it {now}.", step.line)

    def next_reply(self, step: Step, kind: str, expected: str) -> dict:
        if not self.pending:
            after = f" after {self.said_last!r}" if self.said_last else ""
            raise _Difference(f"Expected the bot to {'say' if kind == 'message' else 'send'} {expected}; it sent "
                              f"nothing more{after}.", step.line)
        activity = self.pending.pop(0)
        if activity.get("type") != kind:
            got = f"said {activity.get('text')!r}" if activity.get("type") == "message" \
                else f"sent the event '{activity.get('name')}'"
            raise _Difference(f"Expected the bot to {'say' if kind == 'message' else 'send'} {expected}; it {got} "
                              "first.", step.line)
        return activity

    def forget(self) -> None:
        """Delete everything the test's user left: conversations (their transcripts go with them), logs."""
        db.session.rollback()
        ids = list(db.session.scalars(select(Conversation.id).where(Conversation.bot_id == self.bot_id,
                                                                    Conversation.user_id == self.user_id)))
        for model in (NlpLogEntry, FuzzyQaLogEntry, StepVisit):
            if ids:
                db.session.execute(delete(model).where(model.conversation_id.in_(ids)))
        db.session.execute(delete(BotUser).where(BotUser.bot_id == self.bot_id, BotUser.user_id == self.user_id))
        db.session.commit()


def buttons_of(activity: dict) -> list[dict]:
    buttons = list((activity.get("suggestedActions") or {}).get("actions", []))
    for attachment in activity.get("attachments", []):
        buttons += (attachment.get("content") or {}).get("buttons", [])
    return buttons


def _describe_text(value: Any) -> str:
    if isinstance(value, dict):
        mode, text = next(iter(value.items()))
        return {"text": f"{text!r}", "contains": f"something containing {text!r}",
                "regex": f"something matching /{text}/"}[mode]
    return repr(str(value))


def _line(activity: dict) -> str:
    if activity.get("type") == "event":
        return f"< (event {activity.get('name')})"
    buttons = " ".join(f"[{b.get('title')}]" for b in buttons_of(activity))
    return f"< {activity.get('text') or ''}{' ' + buttons if buttons else ''}"
