"""A conversation driven through the pure engine: no server, no database."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from runtime import botdoc, engine
from runtime.steps.base import Input

ROOT = Path(__file__).resolve().parents[2]




class Chat:
    """One user talking with one bot; each call returns the activities of that turn."""

    def __init__(self, doc: dict, data: dict | None = None, first: Input | None = None, language: str | None = None):
        self.bot = botdoc.load(botdoc.check(doc))
        self.user = {"id": "u1", "channel": "test"}
        self.logs: list[dict] = []
        self.effects: list[dict] = []
        self.keep(engine.start(self.bot, data or {}, user=self.user, now=datetime.now(UTC), first=first,
                                  language=language))

    def keep(self, result: engine.TurnResult) -> list[dict]:
        self.state, self.data, self.last = result.state, result.data, result.activities
        self.logs += result.logs
        self.effects += result.effects
        return result.activities

    def send(self, inp: Input) -> list[dict]:
        return self.keep(engine.turn(self.bot, self.state, self.data, inp, user=self.user, now=datetime.now(UTC)))

    def say(self, text: str) -> list[str]:
        return texts(self.send(Input.message(text)))

    def event(self, name: str, value=None) -> list[dict]:
        return self.send(Input.event(name, value))

    def edit(self, doc: dict) -> None:
        """The bot is republished while this conversation is in flight."""
        self.bot = botdoc.load(botdoc.check(doc))

    @property
    def buttons(self) -> list[str]:
        for activity in reversed(self.last):
            if activity.get("suggestedActions"):
                return [a["title"] for a in activity["suggestedActions"]["actions"]]
        return []

    @property
    def errors(self) -> list[str]:
        return [log["message"] for log in self.logs if log["kind"] == "error"]


def texts(activities: list[dict]) -> list[str]:
    return [a["text"] for a in activities if a.get("type") == "message" and "text" in a]
