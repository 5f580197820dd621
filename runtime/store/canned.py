"""Canned answers: the short ready-made replies an agent sends with one click, a list per bot.

Kept in the bot's settings (`settings["cannedAnswers"]`), like its other per-bot settings: a few lines
that admins edit, not part of the bot's flow or its versions.
"""

from __future__ import annotations

from runtime.store.bots import change_setting, get_bot
from runtime.store.handovers import MAX_TEXT

SETTING = "cannedAnswers"
MOST = 30


def listed(bot_id: str) -> list[str]:
    return list((get_bot(bot_id).settings or {}).get(SETTING) or [])


def add(bot_id: str, text: str) -> list[str]:
    """Add an answer at the end; ValueError says what to change (empty, too long, a twin, too many)."""
    text = (text or "").strip()
    if not text:
        raise ValueError("Write the answer first.")
    if len(text) > MAX_TEXT:
        raise ValueError(f"An answer has at most {MAX_TEXT} characters; this one has {len(text)}.")

    def added(answers: list[str] | None) -> list[str]:
        answers = answers or []
        if text in answers:
            raise ValueError("That answer is on the list already.")
        if len(answers) >= MOST:
            raise ValueError(f"A bot has at most {MOST} canned answers. Remove one first.")
        return [*answers, text]

    return change_setting(bot_id, SETTING, added)


def remove(bot_id: str, text: str) -> list[str]:
    """Remove the answer with this text (no error if it is gone already)."""
    return change_setting(bot_id, SETTING, lambda answers: [answer for answer in answers or [] if answer != text])
