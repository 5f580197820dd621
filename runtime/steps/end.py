"""end: the conversation is over; the next message starts the bot afresh."""

from __future__ import annotations

from . import schema
from .base import Context, End, Outcome

TYPE = "end"
TITLE = "End the conversation"
DESCRIPTION = "Stop here. The next message from the user starts the bot from the beginning."
ABBREVIATION = "End"  # the badge on its node in the tree
SCHEMA = schema.step(TYPE, {})


def run(step: dict, ctx: Context) -> Outcome:
    return End()


def summary(step: dict) -> str:
    return "End of the conversation"
