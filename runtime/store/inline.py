"""Effects carried out inside the turn, because the bot needs their result before it can go on.

A step that needs the database or an outside answer (a `dataset-query`) stays pure: it asks for an effect
and waits; the store carries the effect out within the same turn and hands the step its result as an
`Input.result`, and the engine goes on. Effect types register a function here (`register`); the turn
functions of `conversations` call `settle` after the engine.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from runtime import engine
from runtime.botdoc import Bot
from runtime.extensions import db
from runtime.steps.base import Input

MAX_ROUNDS = 50  # a turn runs a bounded number of steps anyway; this bounds the round trips
_HANDLERS: dict[str, Callable[[str, dict], Any]] = {}


def register(effect_type: str, handler: Callable[[str, dict], Any]) -> None:
    """`handler(bot_id, effect)` returns the value given back to the step that asked."""
    _HANDLERS[effect_type] = handler


def settle(bot: Bot, result: engine.TurnResult, *, user: dict, now: datetime) -> engine.TurnResult:
    """Carry out the result's inline effects, one at a time, feeding each answer back to the engine."""
    for _ in range(MAX_ROUNDS):
        effect = next((e for e in result.effects if e.get("type") in _HANDLERS), None)
        if effect is None:
            return result
        with db.session.no_autoflush:  # the turn's own rows are not complete yet
            value = _HANDLERS[effect["type"]](bot.id, effect)
        follow = engine.turn(bot, result.state, result.data, Input.result(effect["step"], value), user=user, now=now)
        result = engine.TurnResult(activities=result.activities + follow.activities,
                                   effects=[e for e in result.effects if e is not effect] + follow.effects,
                                   logs=result.logs + follow.logs, state=follow.state, data=follow.data)
    return result
